"""``k8s-tui lab KEY=VALUE [KEY=VALUE ...] [--json] [--quick]``: run the experiment for the key in
throwaway network namespaces, print its timeline as it happens, then measured beside predicted.

Exit 0 when they agree, 1 when they do not (or the lab failed mid-run), 2 for bad input or when
the lab cannot run here. ``--json`` prints one JSON object as the last line, also when the run
failed: then ``agrees`` is null, ``error`` says why and ``timeline`` holds what happened so far.
On a terminal a progress bar (elapsed, and the estimate the experiment's prediction gives)
replaces the experiment's "waiting" lines; elsewhere those lines are printed as they come.
"""

from __future__ import annotations

import json
import platform
import signal
import sys

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
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
from ..lab.runner import failed_outcome, plan_time
from ..lab.timeline import Recorder, show_value

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


def _print_event(e: Event, out: Console = console) -> None:
    when = "   setup  " if e.before_start else f"{e.t:8.3f} s  "
    out.print(Text.assemble((when, "dim"), (e.text, KIND_STYLE.get(e.kind, ""))), soft_wrap=True)
    sys.stdout.flush()


class ProgressBar:
    """The experiment's "progress" events as a Rich bar: elapsed of the estimated total. Only on a
    terminal; elsewhere the events print as lines like any other."""

    def __init__(self, out: Console, quick: bool = False):
        self.out = out
        self.quick = quick
        self.progress: Progress | None = None
        self.task = None

    def emit(self, e: Event) -> None:
        if e.kind != "progress" or not self.out.is_terminal or "total" not in e.data:
            _print_event(e, self.out)
            return
        total, elapsed = float(e.data["total"]), float(e.data["elapsed"])
        if self.progress is None:
            self.progress = Progress(
                TextColumn("[dim]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[shown]}"),
                console=self.out,
                transient=False,
            )
            self.task = self.progress.add_task(e.text.partition(":")[0], total=total, shown="")
            self.progress.start()
        left = max(0.0, total - elapsed)
        shown = f"{elapsed:.0f} s of about {total:g} s" + (f", about {left:.0f} s left" if left >= 1 else "") + (" (--quick)" if self.quick else "")
        self.progress.update(self.task, completed=min(elapsed, total), total=max(total, elapsed), shown=shown)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _print_json(d: dict) -> None:
    sys.stdout.flush()
    print(json.dumps(d, separators=(",", ":")), flush=True)


def _input_error_json(pairs: list[str], error: str) -> dict:
    return {"experiment": None, "settings": dict(p.partition("=")[::2] for p in pairs), "kernel": platform.release(), "measured": {},
            "predicted": {}, "agrees": None, "timeline": [], "error": error}


def _terminate(signum, frame):
    raise KeyboardInterrupt


def cmd_lab(args) -> int:
    kernel = KernelVersion.parse(platform.release())
    try:
        request = parse_request(args.pairs, load_catalogue(), kernel)
        plan_time(request, kernel, args.quick)  # too long for --quick or for the lab: say so before anything
    except LabInputError as e:
        err_console.print(Text(f"error: {e}", style="bold red"), soft_wrap=True)
        if args.json:
            _print_json(_input_error_json(args.pairs, str(e)))
        return 2
    console.print(Text(f"lab {request.experiment} on linux {kernel}: " + ", ".join(f"{k}={v}" for k, v in request.text_settings().items()), style="bold"))
    previous = signal.signal(signal.SIGTERM, _terminate)  # a plain kill cleans up like Ctrl+C
    bar = ProgressBar(console, quick=args.quick)
    rec = Recorder(bar.emit)

    def failed(message: str, code: int) -> int:
        bar.stop()
        err_console.print(Text(message, style="bold red"), soft_wrap=True)
        if args.json:
            _print_json(failed_outcome(request, kernel, rec, message, args.quick).to_json())
        return code

    try:
        outcome = run_request(request, kernel, quick=args.quick, rec=rec)
    except (LabUnavailable, LabInputError) as e:
        return failed(f"error: {e}", 2)
    except LabError as e:
        return failed(f"lab failed: {e} (its namespaces were removed)", 1)
    except KeyboardInterrupt:
        return failed("interrupted; the lab's namespaces were removed", 130)
    except Exception as e:  # a bug: still one JSON object, and the traceback for the report
        failed(f"lab failed: {type(e).__name__}: {e} (its namespaces were removed)", 1)
        raise
    finally:
        bar.stop()
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
        _print_json(outcome.to_json())
    return 0 if outcome.agrees else 1
