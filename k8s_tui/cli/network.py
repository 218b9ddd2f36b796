"""``k8s-tui check-network PLAN [--json]``: can every host reach the package repository, the image
registry and each registry mirror the plan uses (through its proxy)? Changes nothing.

Exit 0 when every host reaches every endpoint, 1 when one does not (or a host was not reached),
2 for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..hostprep.reachability import DEFAULT_TIMEOUT, TOOLS, ReachabilityReport
from ..model.plan import load_plan
from ..yamlio import InputError
from . import runs


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check-network",
        help="check from every host that the package repository, image registry and mirrors answer",
        description="Each host of the plan tries, with a short timeout and through the plan's proxy, the package "
                    "repository (or pkgs.k8s.io), the image registry (or registry.k8s.io: GET /v2/, 200 or 401) and "
                    "every registry mirror, using curl, else wget, else python3. Changes nothing.",
    )
    p.add_argument("plan", metavar="PLAN", help="plan.yaml")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--timeout", metavar="SECONDS", type=float, default=DEFAULT_TIMEOUT,
                   help=f"per endpoint (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--tool", metavar="TOOL", choices=TOOLS, action="append",
                   help="use this client on the hosts (repeat for an order of preference; default curl, wget, python3)")
    p.add_argument("--dry-run", action="store_true", help="send nothing: show what would be tried (the answers are made up)")
    runs.connection_args(p)
    p.set_defaults(func=cmd_check_network)


def cmd_check_network(args: argparse.Namespace) -> int:
    plan = load_plan(args.plan)
    if not plan.hosts:
        raise InputError(f"{args.plan}: hosts: the plan has no hosts to check from")
    if not 0.5 <= args.timeout <= 120:
        raise InputError(f"--timeout: {args.timeout:g} is outside 0.5..120 seconds")
    factory = runs.executor_factory(args)
    from ..session.reachability import run_reachability

    prompts = runs.TerminalPrompts() if runs._isatty() and not args.json else None
    report = asyncio.run(run_reachability(factory, plan, prompts, timeout=args.timeout, tools=tuple(args.tool or TOOLS)))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print_report(report, Console(highlight=False, soft_wrap=True))
    return 0 if report.ok else 1


def report_table(report: ReachabilityReport) -> Table:
    t = Table(show_edge=False, pad_edge=False, header_style="bold")
    t.add_column("endpoint", overflow="fold")
    for h in report.hosts:
        t.add_column(h, overflow="fold")
    for ep in report.endpoints:
        cells = []
        for h in report.hosts:
            r = report.get(h, ep.name)
            cells.append(Text("-") if r is None else Text(r.cell(), style="green" if r.ok else "bold red"))
        t.add_row(ep.name, *cells)
    return t


def print_report(report: ReachabilityReport, out: Console) -> None:
    for n in report.notes:
        out.print(Text(f"note: {n}", style="yellow"))
    out.print(report_table(report))
    out.print()
    for ep in report.endpoints:
        out.print(Text(f"  {ep.name}: {ep.url}", style="dim"))
    failed = report.failed()
    if failed:
        out.print()
        out.print(Text(f"{len(failed)} of {len(report.results)} checks failed", style="bold red"))
        for r in failed:
            out.print(Text(f"  {r.host} -> {r.endpoint}: {r.error_kind}: {r.error}"))
        out.print()
        for h in report.hints():
            out.print(Text(f"hint: {h}", style="bold"))
    else:
        out.print(Text(f"every host reaches every endpoint ({len(report.results)} checks)", style="bold green"))
