"""``k8s-tui diagnose FILE [--json]``: read a saved kubeadm init/join run and say what happened.

FILE is a log from our runs or output pasted from anywhere; ``-`` reads standard input.
Exit 0 when the output shows success, 1 when it shows a failure (or stops before either),
2 when the input cannot be read or is not kubeadm output at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ..backends.kubeadm.output import INIT_PHASES, JOIN_PHASES, PHASE_TITLES, KubeadmReport, parse_kubeadm_output
from ..yamlio import InputError

console = Console(highlight=False)

MAX_BYTES = 50 * 1024 * 1024


def read_input(name: str) -> str:
    if name == "-":
        try:
            data = sys.stdin.buffer.read(MAX_BYTES + 1) if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        except OSError as e:
            raise InputError(f"standard input: cannot read: {e}") from None
        source = "standard input"
    else:
        p = Path(name)
        try:
            with p.open("rb") as f:
                data = f.read(MAX_BYTES + 1)
        except FileNotFoundError:
            raise InputError(f"{p}: no such file") from None
        except (IsADirectoryError, PermissionError, OSError) as e:
            raise InputError(f"{p}: cannot read: {e.strerror or e}") from None
        source = str(p)
    if len(data) > MAX_BYTES:
        raise InputError(f"{source}: larger than {MAX_BYTES // (1024 * 1024)} MB; that is not one kubeadm run")
    if b"\x00" in data:
        raise InputError(f"{source}: binary data, not kubeadm output")
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise InputError(f"{source}: empty")
    return text


def diagnose_text(text: str, source: str = "<input>") -> KubeadmReport:
    report = parse_kubeadm_output(text)
    if not report.looks_like_kubeadm:
        raise InputError(f"{source}: no kubeadm init or join output found (no [phase] lines, errors or join commands)")
    return report


def print_report(report: KubeadmReport, out: Console = console) -> None:
    style = {"succeeded": "bold green", "failed": "bold red"}.get(report.status, "bold yellow")
    head = report.summary()
    if report.kubernetes_version:
        head += f" (Kubernetes {report.kubernetes_version})"
    out.print(Text(head, style=style))

    order = JOIN_PHASES if report.kind == "join" else INIT_PHASES
    if report.phases_reached:
        out.print()
        out.print(Text("Phases reached", style="bold underline"))
        for phase in report.phases_reached:
            mark = "x" if report.status == "failed" and phase == report.failed_phase else "+"
            out.print(Text(f"  {mark} {phase:<20} {PHASE_TITLES.get(phase, '')}".rstrip()))
        if report.status == "failed" and report.failed_phase and report.failed_phase not in report.phases_reached:
            out.print(Text(f"  x {report.failed_phase}"))
        # phases after the furthest one seen (a pasted tail may start in the middle of a run)
        seen = [order.index(p) for p in report.phases_reached if p in order]
        if report.failed_phase in order:
            seen.append(order.index(report.failed_phase))
        missing = list(order[max(seen) + 1 :]) if seen else []
        if report.status != "succeeded" and missing:
            out.print(Text("  not reached: " + ", ".join(missing), style="dim"), soft_wrap=True)

    if report.preflight_errors:
        out.print()
        out.print(Text("Preflight errors", style="bold underline"))
        for e in report.preflight_errors:
            out.print(Text(f"  [ERROR {e['check']}] {e['message']}"), soft_wrap=True)
    if report.preflight_warnings:
        out.print()
        out.print(Text("Preflight warnings", style="bold underline"))
        for w in report.preflight_warnings:
            out.print(Text(f"  [WARNING {w['check']}] {w['message']}"), soft_wrap=True)
    other = [line for line in report.error_lines if not line.startswith("[ERROR ")]
    if other:
        out.print()
        out.print(Text("Errors", style="bold underline"))
        for line in other:
            out.print(Text(f"  {line}"), soft_wrap=True)

    if report.join_control_plane or report.join_worker:
        out.print()
        out.print(Text("Join commands (one line each)", style="bold underline"))
        if report.join_control_plane:
            out.print(Text("  control plane:", style="bold"))
            out.print(Text(report.join_control_plane), soft_wrap=True)
        if report.join_worker:
            out.print(Text("  worker:", style="bold"))
            out.print(Text(report.join_worker), soft_wrap=True)
    if report.token_ttl_hours is not None:
        out.print(Text(f"The token expires {report.token_ttl_hours:g} hours after init (kubeadm token create --print-join-command makes a new one)."))
    elif report.token and report.kind == "init":
        out.print(Text("The token never expires (--token-ttl 0)."))
    if report.phase_command == "upload-certs" and report.certificate_key:
        out.print(Text(f"Certificate key: {report.certificate_key}"), soft_wrap=True)
        out.print(Text("Give it to kubeadm join --control-plane --certificate-key on each new control-plane node."))
    if report.certificate_key_ttl_hours is not None:
        after = "this upload" if report.phase_command else "init"
        out.print(
            Text(
                f"The uploaded control-plane certificates and their key are deleted {report.certificate_key_ttl_hours:g} hours "
                f"after {after} (kubeadm init phase upload-certs --upload-certs uploads them again with a new key)."
            )
        )

    if report.hints:
        out.print()
        out.print(Text("What to look at next", style="bold underline"))
        for h in report.hints:
            out.print(Text(f"  {h['error']}", style="bold"), soft_wrap=True)
            width = max(40, out.width - 1)
            out.print(Text(textwrap.fill(h["hint"], width=width, initial_indent="    ", subsequent_indent="    ")), soft_wrap=True)
    if report.needs_kubelet_journal:
        out.print()
        out.print(Text("The kubelet's journal on that host usually names the cause: journalctl -xeu kubelet"))


def cmd_diagnose(args: argparse.Namespace) -> int:
    text = read_input(args.file)
    report = diagnose_text(text, "standard input" if args.file == "-" else args.file)
    if args.json:
        print(json.dumps(report.to_json(), indent=1, ensure_ascii=False))
    else:
        print_report(report)
    return 0 if report.status == "succeeded" else 1


def add_commands(subparsers) -> None:
    s = subparsers.add_parser(
        "diagnose",
        help="read a saved kubeadm init/join output: phases, failed phase, errors, join commands, hints",
        description=(
            "Read the output of one kubeadm init or kubeadm join run (a k8s-tui log, or text pasted from "
            "anywhere; '-' reads standard input) and report whether it succeeded, the phases it reached, "
            "the phase that failed, preflight errors and warnings, the join commands as single lines, and "
            "a hint for each known error. Exit status: 0 succeeded, 1 failed or unfinished, 2 unreadable input."
        ),
    )
    s.add_argument("file", metavar="FILE", help="saved kubeadm output, or - for standard input")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(func=cmd_diagnose)
