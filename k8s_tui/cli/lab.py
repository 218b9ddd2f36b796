"""``k8s-tui lab KEY=VALUE [KEY=VALUE ...] [--json] [--quick]``: run the experiment for the key in
throwaway network namespaces, print its timeline as it happens, then measured beside predicted.

Exit 0 when they agree, 1 when they do not (or the lab failed mid-run), 2 for bad input or when
the lab cannot run here. ``--json`` prints one JSON object as the last line.
"""

from __future__ import annotations

import json
import platform
import signal
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..knowledge import KernelVersion, load_catalogue
from ..lab import (
    EXPERIMENTS,
    Event,
    LabError,
    LabInputError,
    LabUnavailable,
    parse_request,
    run_request,
)
from ..lab.runner import plan_time
from ..lab.timeline import show_value

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

KIND_STYLE = {"syn": "bold cyan", "state": "bold", "counter": "magenta", "probe": "cyan", "progress": "dim", "note": "yellow", "setup": "dim"}


def add_commands(sub) -> None:
    p = sub.add_parser(
        "lab",
        help="watch a sysctl act: run it for real in throwaway network namespaces (root)",
        description="Run the experiment for the key in private network namespaces (198.18.0.0/15 only), "
        "stream what happens, and compare it with what the knowledge base predicts. Experiments: "
        + "; ".join(f"{name} ({', '.join(keys)})" for name, keys in EXPERIMENTS.items()),
    )
    p.add_argument("pairs", nargs="+", metavar="KEY=VALUE", help="e.g. net.ipv4.tcp_syn_retries=2")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--quick", action="store_true", help="shorten what can be shortened; refuse runs the kernel would take over 60 s for")
    p.set_defaults(func=cmd_lab)


def _print_event(e: Event) -> None:
    when = "   setup  " if e.before_start else f"{e.t:8.3f} s  "
    console.print(Text.assemble((when, "dim"), (e.text, KIND_STYLE.get(e.kind, ""))), soft_wrap=True)
    sys.stdout.flush()


def _terminate(signum, frame):
    raise KeyboardInterrupt


def cmd_lab(args) -> int:
    kernel = KernelVersion.parse(platform.release())
    try:
        request = parse_request(args.pairs, load_catalogue(), kernel)
        plan_time(request, kernel, args.quick)  # too long for --quick or for the lab: say so before anything
    except LabInputError as e:
        err_console.print(Text(f"error: {e}", style="bold red"), soft_wrap=True)
        return 2
    console.print(Text(f"lab {request.experiment} on linux {kernel}: " + ", ".join(f"{k}={v}" for k, v in request.text_settings().items()), style="bold"))
    previous = signal.signal(signal.SIGTERM, _terminate)  # a plain kill cleans up like Ctrl+C
    try:
        outcome = run_request(request, kernel, emit=_print_event, quick=args.quick)
    except (LabUnavailable, LabInputError) as e:
        err_console.print(Text(f"error: {e}", style="bold red"), soft_wrap=True)
        return 2
    except LabError as e:
        err_console.print(Text(f"lab failed: {e} (its namespaces were removed)", style="bold red"), soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted; the lab's namespaces were removed")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    t = Table(title=f"{outcome.experiment}: measured vs predicted", title_justify="left")
    t.add_column("")
    t.add_column("measured")
    t.add_column("predicted")
    for key in dict.fromkeys([*outcome.predicted, *outcome.measured]):
        t.add_row(key, show_value(outcome.measured.get(key)), show_value(outcome.predicted.get(key)))
    console.print(t)
    for note in outcome.notes:
        console.print(Text(note, style="yellow"), soft_wrap=True)
    verdict = "agree" if outcome.agrees else "DO NOT agree"
    console.print(Text(f"measured and predicted {verdict} (tolerance: {outcome.tolerance})", style="bold green" if outcome.agrees else "bold red"), soft_wrap=True)
    if args.json:
        sys.stdout.flush()
        print(json.dumps(outcome.to_json(), separators=(",", ":")), flush=True)
    return 0 if outcome.agrees else 1
