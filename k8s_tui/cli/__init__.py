"""Command line: `k8s-tui` starts the wizard; the subcommands work without it.

Each module here adds its own subcommands (``add_commands(subparsers)``) and is the only code
below the UI that prints with Rich. Bad input ends with one clear message on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.text import Text

from .. import __version__
from ..yamlio import InputError
from . import diagnose, knowledge, lab, runs, serve, tools

# modules that add their own subcommands, in the order `k8s-tui --help` lists them
COMMAND_MODULES = (knowledge, runs, tools, diagnose, lab, serve)

err_console = Console(stderr=True, highlight=False)


def cmd_tui(args) -> int:
    from ..app import make_app

    plan, resume = None, None
    if args.plan:
        from ..model.plan import load_plan

        plan = load_plan(args.plan)
    elif args.new:
        from ..model.plan import ClusterPlan

        plan = ClusterPlan()
    elif not args.demo:
        from ..session.persistence import load_session

        resume = load_session()  # quit mid-wizard last time: the app offers to pick it up again
    app = make_app(plan, demo=args.demo or plan is None, resume=resume, executor_factory=runs.executor_factory(args))
    app.run()
    # a run still going when the UI closed was cancelled by its screen; let it write its journal's
    # end (interrupted) before the process goes, now that no screen waits on this thread
    for session in app.sessions:
        if not session.join(timeout=30):
            err_console.print(f"run {session.run_id} did not stop within 30 s; its journal may end early")
    return app.return_code or 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="k8s-tui",
        description="A terminal wizard from a few Linux hosts to a running Kubernetes cluster, explaining every kernel knob on the way.",
    )
    p.add_argument("--version", action="version", version=f"k8s-tui {__version__}")
    p.add_argument("--plan", help="open the wizard on this plan.yaml")
    p.add_argument("--demo", action="store_true", help="walk the whole flow on made-up hosts (dry-run, nothing is changed)")
    p.add_argument("--new", action="store_true", help="start a new, empty plan for your own hosts")
    runs.connection_args(p)  # the wizard's probe and run reach hosts with the same options as apply
    p.set_defaults(func=cmd_tui)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    for mod in COMMAND_MODULES:
        mod.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as e:
        err_console.print(Text(f"error: {e}", style="bold red"), soft_wrap=True)
        return 2
    except ValueError as e:  # value errors from parsing user input (kernel versions, sysctl values)
        err_console.print(Text(f"error: {e}", style="bold red"), soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
