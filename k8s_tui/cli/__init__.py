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
from . import bundle, diagnose, knowledge, lab, network, runs, serve, tools

# modules that add their own subcommands, in the order `k8s-tui --help` lists them
COMMAND_MODULES = (knowledge, runs, tools, diagnose, lab, serve, network, bundle)

err_console = Console(stderr=True, highlight=False)


def _list_saved() -> int:
    from ..session.persistence import saved_sessions, wizard_dir

    sessions = saved_sessions()
    if not sessions:
        err_console.print(f"no saved plans in {wizard_dir()}")
        return 0
    print(f"saved plans (in {wizard_dir()}; the last few replaced ones in its history/):")
    for i, s in enumerate(sessions, 1):
        now = "  (current: `k8s-tui` offers it)" if i == 1 and s.path == wizard_dir() else ""
        print(f"  {i}  {s.describe()}{now}\n     {s.path}/plan.yaml")
    print("`k8s-tui --restore N` opens plan N in the wizard and makes it the current one again.")
    return 0


def cmd_tui(args) -> int:
    from ..app import make_app
    from ..engine.state import state_dir_problem

    if args.restore == "list":
        return _list_saved()
    if not args.demo:
        # the wizard saves the plan there as it goes; say so now rather than lose work later
        problem = state_dir_problem()
        if problem is not None:
            err_console.print(Text(f"error: {problem}; the wizard keeps your plan there as you type (point "
                                   "K8S_TUI_STATE_DIR at a writable folder with room, or use --demo)", style="bold red"),
                              soft_wrap=True)
            return 2
    from ..session.persistence import load_session, restore_session

    plan, resume, replace, start = None, None, None, "tool"
    state = None
    if args.restore is not None:
        try:
            number = int(args.restore)
        except ValueError:
            raise InputError(f"--restore: expected the number `k8s-tui --restore` lists, got {args.restore!r}") from None
        session = restore_session(number)
        state, start = session.to_state(), session.step
    elif args.plan:
        from ..model.plan import load_plan

        plan = load_plan(args.plan)
    elif args.new:
        from ..model.plan import ClusterPlan

        plan = ClusterPlan()
        replace = load_session()  # a saved plan: the app asks before a new one takes its place
    elif not args.demo:
        resume = load_session()  # quit mid-wizard last time: the app offers to pick it up again
    app = make_app(plan, demo=(args.demo or plan is None) and state is None, state=state, start=start, resume=resume,
                   replace=replace, executor_factory=runs.executor_factory(args))
    app.run()
    # a run still going when the UI closed was cancelled by its screen; let it write its journal's
    # end (interrupted) before the process goes, now that no screen waits on this thread
    from ..session.leaving import resume_command

    for session in app.sessions:
        if not session.join(timeout=30):
            err_console.print(f"run {session.run_id} did not stop within 30 s; its journal may end early")
        result = session.result
        if session.journal_dir is not None and (result is None or result.status != "finished"):
            err_console.print(f"run {session.run_id} stopped ({result.status if result else 'cut short'}); "
                              f"its journal is in {session.journal_dir}\ncontinue it with: {resume_command(session)}",
                              soft_wrap=True)
    if app.exit_signal is not None:
        err_console.print(f"terminated by signal {app.exit_signal - 128}" +
                          ("" if app.state.demo else "; your plan is saved (`k8s-tui` offers to resume it)"))
        return app.exit_signal
    return app.return_code or 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="k8s-tui",
        description="A terminal wizard from a few Linux hosts to a running Kubernetes cluster, explaining every kernel knob on the way.",
    )
    p.add_argument("--version", action="version", version=f"k8s-tui {__version__}")
    p.add_argument("--plan", help="open the wizard on this plan.yaml")
    p.add_argument("--demo", action="store_true", help="walk the whole flow on made-up hosts (dry-run, nothing is changed)")
    p.add_argument("--new", action="store_true",
                   help="start a new, empty plan for your own hosts (asks first when a plan is saved; it is kept)")
    p.add_argument("--restore", nargs="?", const="list", metavar="N",
                   help="list the saved plans (the current one and the last few it replaced); with N, open plan N")
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
