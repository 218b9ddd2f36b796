"""The engine without the UI: ``apply``, ``runs``, ``resume`` and ``rollback`` subcommands.

Progress is plain text: one line per step per host as it finishes, live output with ``--follow``
(each line prefixed by its host), and a per-host summary table at the end. The exit status is 0
only when every host succeeded, 1 when one did not, 2 for bad input, an unusable state dir or a
refused confirmation, 130 when interrupted and 143 on SIGTERM (the journal then says where
``resume`` picks up).

``--dry-run`` runs the same steps on the dry-run executor: nothing on any host changes, every
command and file write is printed per host, and the run is recorded like any other (marked as a
dry run; what its steps would leave on this machine stays inside that record). ``--faults FILE``
(dry runs only) states hosts that fail, are slow or never answer (engine/faults.py).

A run that changes hosts takes the plan's lock here and each host's lock first (engine/locks.py);
a second one is refused (exit 2) naming the holder; ``--break-lock`` breaks a stale lock (its
process gone) or one held from another machine, never one whose process still runs here.
``rollback`` of a resumed run (or of the run it resumed) rolls back the whole chain, to before its
first run. ``resume`` first prints, host by host, the steps it runs and the steps done before
(with ``--dry-run``, the dry run that follows runs only those).

Every run goes through a ``RunSession`` on the one ``ExecutorFactory`` made from these options.
When a consumer of the events breaks (the journal on a full disk), it is printed at once, the run
stops at the next step boundary, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..engine.dryrun import DryRunExecutor
from ..engine.events import HostLost, HostSkipped, OutputLine, RunFinished, RunStarted, StepFinished, SubscriberFailed
from ..engine.executor import ExecOptions, HostKeyInfo
from ..engine.faults import FaultPlan
from ..engine.journal import done_steps, list_runs, run_chain, run_info
from ..engine.planning import plan_steps
from ..engine.run_state import RunState
from ..engine.runner import RunnerError, RunPlan
from ..engine.state import run_dir, state_dir, state_dir_problem
from ..engine.text import clean_line
from ..session.executors import ExecutorFactory
from ..session.run_session import RunSession
from ..yamlio import InputError

STATUS_STYLE = {
    "ok": "green",
    "changed": "yellow",
    "unchanged": "green",
    "failed": "bold red",
    "skipped": "dim",
    "lost": "bold red",
    "incomplete": "red",
    "interrupted": "bold red",
}


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


# -- the argparse side ---------------------------------------------------------------------------


def connection_args(p: argparse.ArgumentParser) -> None:
    """The SSH options every command that reaches hosts takes (the wizard too)."""
    p.add_argument("--accept-new-host-keys", action="store_true",
                   help="trust host keys not yet in known_hosts (a changed key is still refused)")
    p.add_argument("--known-hosts", metavar="FILE", help="known_hosts file to check host keys against (default ~/.ssh/known_hosts)")
    p.add_argument("--max-hosts", metavar="N", type=_positive_int, help="at most N hosts at once (default 64)")


def executor_factory(args: argparse.Namespace) -> ExecutorFactory:
    """The one executor factory of this invocation, from its options."""
    options = ExecOptions(
        known_hosts=getattr(args, "known_hosts", None),
        accept_new_host_keys=bool(getattr(args, "accept_new_host_keys", False)),
        max_concurrent_hosts=getattr(args, "max_hosts", None) or ExecOptions().max_concurrent_hosts,
    )
    faults = None
    if getattr(args, "faults", None):
        if not getattr(args, "dry_run", False):
            raise InputError("--faults states what goes wrong in a dry run: use it with --dry-run")
        faults = FaultPlan.load(args.faults)
    return ExecutorFactory(options, mode="dry-run" if getattr(args, "dry_run", False) else "ssh", faults=faults)


def _executor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true",
                   help="change nothing: show every command and file per host (no SSH; recorded as a dry run)")
    p.add_argument("--faults", metavar="FILE",
                   help="with --dry-run: a YAML file naming hosts that fail, are slow or never answer")
    p.add_argument("--follow", action="store_true", help="print every output line as it comes, prefixed by its host")
    p.add_argument("--break-lock", action="store_true",
                   help="break a lock left by a run that is no longer going (stale) or held from another machine; "
                        "a run still going on this machine is never broken")
    connection_args(p)


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return n


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "apply",
        help="prepare the plan's hosts over SSH, without the UI",
        description="Run the plan's steps on every host at once. Asks before changing anything unless --yes.",
    )
    p.add_argument("plan", metavar="PLAN", help="plan.yaml saved by the wizard")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--tuning-only", action="store_true",
                   help="only the sysctl tuning (facts, then the sysctl file), not the whole kubeadm path")
    _executor_args(p)
    p.set_defaults(func=cmd_apply)

    p = subparsers.add_parser("runs", help="list past runs and how they ended", description="List the runs in the state directory.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_runs)

    p = subparsers.add_parser(
        "resume",
        help="run an interrupted or failed run's plan again, skipping the steps it finished",
        description="Start a new run of the plan a run applied; steps that run finished (ok, changed, unchanged) are skipped per host.",
    )
    p.add_argument("run", metavar="RUN", help="run id (see `k8s-tui runs`)")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _executor_args(p)
    p.set_defaults(func=cmd_resume)

    p = subparsers.add_parser(
        "rollback",
        help="restore what a run changed (the sysctl file and live values) from its backups on the hosts",
        description="Put back the files and live values a run saved on each host before changing them.",
    )
    p.add_argument("run", metavar="RUN", help="run id (see `k8s-tui runs`)")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _executor_args(p)
    p.set_defaults(func=cmd_rollback)


# -- printing ------------------------------------------------------------------------------------


class Printer:
    """A bus subscriber that prints progress as plain lines."""

    def __init__(self, console: Console, *, follow: bool = False, width: int = 12, errors: Console | None = None):
        self.console = console
        self.errors = errors or console
        self.follow = follow
        self.width = width
        self.step_width = 10
        self.state: RunState | None = None  # the run's reducer: "[done/total]" on every finished step

    def __call__(self, ev: Any) -> None:
        t = type(ev)
        if t is OutputLine:
            if self.follow:
                text = clean_line(ev.text)
                style = {"stderr": "red", "cmd": "bold", "info": "cyan"}.get(ev.stream, "")
                line = Text(f"{ev.host:<{self.width}} | ", style="dim")
                line.append(text, style=style)
                self.console.print(line)
            return
        if self.state is not None:
            self.state.apply(ev)
        if t is RunStarted:
            self.state = RunState(list(ev.hosts))
            self.width = max([4, *(len(h) for h in ev.hosts)])
            self.step_width = max([4, *(len(s) for s in ev.steps)])
            resumed = f", resuming {ev.resumed_from}" if ev.resumed_from else ""
            self.console.print(f"run {ev.run_id}: {len(ev.hosts)} host(s), steps {', '.join(ev.steps)}{resumed}")
        elif t is StepFinished:
            done, total = self.state.progress() if self.state is not None else (0, 0)
            line = Text(f"[{done:>{len(str(total))}}/{total}] " if total else "", style="dim")
            line.append(f"{ev.host:<{self.width}}  {ev.step_id:<{self.step_width}}  ")
            line.append(f"{ev.status:<9}", style=STATUS_STYLE.get(ev.status, ""))
            line.append(f" {ev.duration_s:6.1f}s" if ev.status != "skipped" else " " * 8)
            if ev.message:
                line.append(f"  {ev.message}")
            self.console.print(line)
            if ev.hint and ev.status == "failed":
                self.console.print(Text(f"{'':<{self.width}}  hint: {ev.hint}", style="dim"))
        elif t is HostLost:
            self.console.print(Text(f"{ev.host:<{self.width}}  host lost ({ev.kind}): {ev.reason}", style="bold red"))
        elif t is HostSkipped:
            self.console.print(Text(f"{ev.host:<{self.width}}  host skipped: {ev.reason}", style="dim"))
        elif t is SubscriberFailed:
            stops = "; the run stops once the running steps end" if ev.critical else ""
            self.errors.print(Text(f"error: the {ev.name} stopped working: {ev.error}{stops}", style="bold red"))
            if ev.missing:
                self.errors.print(Text(f"  {ev.missing}", style="red"))


def print_summary(console: Console, result: RunFinished, journal_dir: Path | None) -> None:
    t = Table(title=f"run {result.run_id}: {result.status}", title_justify="left", show_edge=False, pad_edge=False)
    t.add_column("host", no_wrap=True)
    t.add_column("result", no_wrap=True)
    t.add_column("changed", justify="right")
    t.add_column("no change", justify="right")
    t.add_column("failed", justify="right")
    t.add_column("skipped", justify="right")
    t.add_column("time", justify="right")
    t.add_column("detail")
    for host, s in result.summary.items():
        c = s.get("counts", {})
        detail = ""
        if s.get("failed_step"):
            detail = f"{s['failed_step']}: {s.get('message', '')}"
        t.add_row(
            host,
            Text(s["status"], style=STATUS_STYLE.get(s["status"], "")),
            str(c.get("changed", 0)),
            str(c.get("unchanged", 0) + c.get("ok", 0)),
            str(c.get("failed", 0)),
            str(c.get("skipped", 0)),
            f"{s.get('duration_s', 0):.1f}s",
            detail,
        )
    console.print()
    console.print(t)
    if result.reason:
        console.print(Text(f"run stopped: {result.reason}", style="bold red"))
    if journal_dir is not None:
        console.print(f"journal and per-host logs: {journal_dir}")


def print_dry_run(console: Console, ex: DryRunExecutor, hosts: list[str]) -> None:
    console.print()
    console.print(Text("dry run: nothing was changed on any host; this is what would run there", style="bold"))
    for host in hosts:
        calls = [c for c in ex.calls if c.host == host and c.kind in ("run", "write")]
        console.print()
        console.print(Text(f"== {host}: {sum(c.kind == 'run' for c in calls)} command(s), "
                           f"{sum(c.kind == 'write' for c in calls)} file write(s)", style="bold"))
        for c in calls:
            where = f"[{c.step_id or '-'}] "
            if c.kind == "run":
                console.print(Text(f"  {where}$ {c.command}"))
            elif c.source is not None:  # an upload: name and size, never the (binary) content
                console.print(Text(f"  {where}copy {c.source} to {c.path} (mode {c.mode:o}, {c.size} bytes)"))
            else:
                backup = f", old content saved to {c.backup_dir}/" if c.backup_dir else ""
                console.print(Text(f"  {where}write {c.path} (mode {c.mode:o}{backup})"))
                body = (c.content or b"").decode("utf-8", errors="replace")
                for ln in body.splitlines():
                    console.print(Text(f"      | {ln}", style="dim"))


# -- prompts -------------------------------------------------------------------------------------


def _isatty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def confirm(console: Console, question: str) -> bool | None:
    """True/False from the user; None when there is no terminal to ask on."""
    if not _isatty():
        return None
    try:
        print(f"{question} [y/N] ", end="", flush=True)
        _wait_for_input()
        answer = input("")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _wait_for_input(step: float = 0.2) -> None:
    """Return once stdin has something to read. A signal that comes while waiting runs its Python
    handler at once (select wakes up, or its short timeout ends), unlike one that comes just before
    a blocking read of the terminal, which would wait for the next key press."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], step)
        except (OSError, ValueError):
            return
        if ready:
            return


class TerminalPrompts:
    """The session's prompts, asked on this terminal (stdin must be one)."""

    async def host_key(self, info: HostKeyInfo) -> bool:
        con = _err_console()
        con.print(f"{info.host} ({info.address} port {info.port}) presents a {info.key_type} key not in known_hosts:")
        con.print(f"  {info.fingerprint}")
        answer = await asyncio.to_thread(input, "Trust it and add it to known_hosts? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    async def secret(self, prompt: str) -> str | None:
        try:
            return await asyncio.to_thread(getpass.getpass, f"{prompt}: ")
        except EOFError:
            return None


# -- the commands --------------------------------------------------------------------------------


class _Terminated(Exception):
    """SIGTERM arrived while nothing was running yet (at the confirmation prompt)."""


class _sigterm_raises:
    """While inside: SIGTERM raises _Terminated (in the main thread; elsewhere nothing changes)."""

    def __enter__(self) -> None:
        def raise_it(signum: int, frame: Any) -> None:
            raise _Terminated()

        self.set = False
        try:
            self.old = signal.signal(signal.SIGTERM, raise_it)
            self.set = True
        except ValueError:  # not the main thread
            pass

    def __exit__(self, *exc: Any) -> None:
        if self.set:
            signal.signal(signal.SIGTERM, self.old if self.old is not None else signal.SIG_DFL)


def _interrupted(err: Console, session: RunSession, what: str = "interrupted") -> None:
    err.print()
    if session.journal_dir is not None:
        err.print(f"{what}: the journal of run {session.run_id} is in {session.journal_dir}; "
                  f"`k8s-tui resume {session.run_id}` continues from the first unfinished step")
    else:
        err.print(what)


def _run(args: argparse.Namespace, plan: Any, *, action: str, scope: str = "full", run_plan: RunPlan | None = None,
         resume_from: str | None = None, plan_text: str | None = None, of_run: str | None = None) -> int:
    """Run ``plan`` (its steps for ``scope``, or ``run_plan``) through a RunSession; the exit status.
    ``of_run``: the recorded run a resume or rollback acts on."""
    out, err = _console(), _err_console()
    try:
        factory = _demo_factory(args, of_run) or executor_factory(args)
    except InputError as e:
        err.print(Text(f"error: {e}", style="bold red"))
        return 2
    hosts = [h.name for h in plan.hosts]
    if not hosts:
        err.print("error: the plan has no hosts")
        return 2
    problem = state_dir_problem()
    if problem is not None:  # before asking, and before any host is touched
        err.print(Text(f"error: {problem}; nothing was run (point K8S_TUI_STATE_DIR at a writable folder with room)",
                       style="bold red"))
        return 2
    if not factory.dry_run and not args.yes:
        steps = ", ".join(s.id for s in (run_plan or plan_steps(plan, scope)).steps())
        out.print(f"{action}: {len(hosts)} host(s) ({', '.join(hosts)}); steps: {steps}")
        try:
            with _sigterm_raises():
                ok = confirm(out, f"{action} on {len(hosts)} host(s)?")
        except _Terminated:
            err.print()
            err.print("terminated (SIGTERM) at the confirmation: nothing was run, no host was touched")
            return 128 + signal.SIGTERM
        if ok is None:
            err.print(f"refusing to {action} without confirmation: stdin is not a terminal; pass --yes to go ahead "
                      "(or --dry-run to see what would happen)")
            return 2
        if not ok:
            err.print("nothing done")
            return 2
    session = RunSession(plan, factory, scope=scope, run_plan=run_plan, prompts=TerminalPrompts() if _isatty() else None,
                         resume_from=resume_from, plan_text=plan_text, break_lock=bool(getattr(args, "break_lock", False)))
    session.bus.subscribe(Printer(out, follow=bool(args.follow), errors=err), name="printer")
    terminated: list[int] = []

    async def main() -> Any:
        # SIGTERM is an interrupt like ^C: the engine's task is cancelled (the runner cancels the
        # running steps, which stops their remote commands, and closes the journal), then the hint
        loop = asyncio.get_running_loop()

        def on_sigterm() -> None:
            if not terminated:  # once: a second cancel would cut the runner's own ending short
                session.stop()
            terminated.append(signal.SIGTERM)

        try:
            loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        except (NotImplementedError, RuntimeError, ValueError):  # no signals here (not the main thread)
            pass
        try:
            return await session.run()
        except asyncio.CancelledError:
            if terminated:
                return None
            raise
        finally:
            try:
                loop.remove_signal_handler(signal.SIGTERM)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    try:
        result = asyncio.run(main())
    except RunnerError as e:
        err.print(Text(f"error: {e}", style="bold red"))
        return 2
    except KeyboardInterrupt:
        _interrupted(err, session)
        return 130
    if terminated and result is None:  # cancelled by it (a run that had just ended gets its summary)
        _interrupted(err, session, "terminated (SIGTERM)")
        return 128 + signal.SIGTERM
    if session.dry_run and isinstance(session.executor, DryRunExecutor):
        print_dry_run(out, session.executor, hosts)
    print_summary(out, result, session.journal_dir)
    from ..session.summary import cluster_info, cluster_lines  # the summary screen's facts, as lines

    for line in cluster_lines(cluster_info(session)):
        out.print(Text(line))
    if result.status == "interrupted":
        return 130
    if any(f.critical for f in session.failures):
        return 1  # the run's record is not whole: never a success, whatever the hosts did
    return 0 if result.status == "finished" and all(s.get("ok") for s in result.summary.values()) else 1


def cmd_apply(args: argparse.Namespace) -> int:
    from ..model.plan import load_plan

    try:
        plan = load_plan(args.plan)
        text = Path(args.plan).read_text(encoding="utf-8")
    except InputError as e:
        _err_console().print(Text(f"error: {e}", style="bold red"))
        return 2
    scope = "tuning" if getattr(args, "tuning_only", False) else "full"
    return _run(args, plan, scope=scope, action="apply", plan_text=text)


def _run_plan(run_id: str) -> tuple[Any, str]:
    from ..model.plan import load_plan

    try:
        d = run_dir(run_id)
    except ValueError as e:
        raise InputError(str(e)) from None
    p = d / "plan.yaml"
    if not p.exists():
        known = ", ".join(r.run_id for r in list_runs()[-5:]) or "none"
        raise InputError(f"no run {run_id} in {d.parent} (recent runs: {known})")
    return load_plan(p), p.read_text(encoding="utf-8")


def _run_scope(run_id: str) -> str:
    """The scope the run was started with (meta.json), so a resume rebuilds the same steps."""
    import json

    try:
        return json.loads((run_dir(run_id) / "meta.json").read_text()).get("scope") or "full"
    except (OSError, ValueError):
        return "full"


def _record(run_id: str) -> Any:
    """The run's RunInfo, or None when its record cannot be read (the caller's next step says why)."""
    try:
        return run_info(run_id)
    except (FileNotFoundError, ValueError):
        return None


def _demo_factory(args: argparse.Namespace, of_run: str | None) -> ExecutorFactory | None:
    """A dry resume or rollback of a run the demo made runs on the demo's own made-up hosts (their
    stated faults too, no pauses), not on generic ones that would contradict what the demo showed."""
    info = _record(of_run) if of_run is not None and args.dry_run and not getattr(args, "faults", None) else None
    if info is None or not info.demo:
        return None
    _console().print(Text("a run of the demo: this dry run uses the demo's made-up hosts again", style="dim"))
    return dataclasses.replace(ExecutorFactory.demo(executor_factory(args).options), speed=0.0)


def _refuse_dry_record(run_id: str, args: argparse.Namespace, what: str) -> None:
    """A dry run changed nothing, so only another dry run can pick it up."""
    info = None if args.dry_run else _record(run_id)
    if info is not None and info.dry_run:
        raise InputError(f"run {run_id} was a dry run: nothing was changed on any host, so there is nothing to {what}; "
                         f"apply its plan ({run_dir(run_id) / 'plan.yaml'}) for a real run, or add --dry-run")


def cmd_resume(args: argparse.Namespace) -> int:

    try:
        plan, text = _run_plan(args.run)
        _refuse_dry_record(args.run, args, "resume")
        scope = _run_scope(args.run)
        done = done_steps(args.run)
    except InputError as e:
        _err_console().print(Text(f"error: {e}", style="bold red"))
        return 2
    except FileNotFoundError as e:
        _err_console().print(Text(f"error: {e}", style="bold red"))
        return 2
    # what the resume will do, host by host, before it asks or runs (with --dry-run: instead of
    # running it; the dry run that follows runs only the steps listed as to run)
    print_resume_preview(_console(), plan, plan_steps(plan, scope), args.run, done)
    return _run(args, plan, scope=scope, action="resume", resume_from=args.run, plan_text=text, of_run=args.run)


def print_resume_preview(console: Console, plan: Any, run_plan: RunPlan, run_id: str,
                         done: dict[str, dict[str, Any]]) -> None:
    """Per host: the steps a resume of ``run_id`` runs, and those it skips as done (and where)."""
    console.print(f"resume of run {run_id}: per host, the steps to run, and the steps done before (skipped)")
    width = max([4, *(len(h.name) for h in plan.hosts)])
    for h in plan.hosts:
        run, skip = [], []
        for s in run_plan.steps():
            if not s.wants(h, plan.hosts, plan):
                continue
            d = done.get(h.name, {}).get(s.id)
            if d is not None and not s.always_run:
                skip.append(f"{s.id} ({d.status} in {d.run_id})")
            else:
                run.append(s.id + (" (reads again)" if d is not None else ""))
        line = Text(f"  {h.name:<{width}}  ")
        line.append("to run: ", style="bold")
        line.append(", ".join(run) or "nothing")
        if skip:
            line.append("; done, skipped: ", style="dim")
            line.append(", ".join(skip), style="dim")
        console.print(line)


def cmd_rollback(args: argparse.Namespace) -> int:
    from ..engine.planning import rollback_steps

    try:
        plan, text = _run_plan(args.run)
        _refuse_dry_record(args.run, args, "roll back")
    except InputError as e:
        _err_console().print(Text(f"error: {e}", style="bold red"))
        return 2
    # a run and the runs that resumed it (or that it resumed) are one change: restored to before the first
    chain = run_chain(args.run)
    what = f"roll back run {args.run}" if chain == [args.run] else f"roll back runs {', '.join(chain)} (one change)"
    if chain != [args.run]:
        _console().print(f"runs {', '.join(chain)} are one change (a run and the runs that resumed it): each host goes "
                         f"back to how it was before run {chain[0]}")
    info = _record(args.run)
    if info is not None and info.dry_run:
        _console().print(Text(f"run {args.run} was a dry run: the backups it made exist only in its own simulation, so "
                              "this dry rollback finds nothing to restore; it shows what a rollback reads and runs",
                              style="dim"))
    return _run(args, plan, run_plan=rollback_steps(plan, chain), action=what, plan_text=text, of_run=args.run)


def cmd_runs(args: argparse.Namespace) -> int:
    out = _console()
    runs = list_runs()
    if args.json:
        print(json.dumps([
            {"run_id": r.run_id, "started": r.started, "finished": r.finished, "status": r.status, "plan": r.plan_name,
             "hosts": r.hosts, "ok": r.ok, "resumed_from": r.resumed_from, "path": str(r.path), "dry_run": r.dry_run,
             "summary": {h: {"status": s.get("status"), "failed_step": s.get("failed_step")} for h, s in r.summary.items()}}
            for r in runs
        ], indent=1))
        return 0
    if not runs:
        out.print(f"no runs yet in {state_dir() / 'runs'}")
        return 0
    # the run id is what resume and rollback take: never cut. Narrow terminals (under 100 columns)
    # get a short start time and the run it resumed under its id instead of in a column of its own
    narrow = out.width < 100
    id_width = max(len(r.run_id) for r in runs)
    t = Table(show_edge=False, pad_edge=False)
    t.add_column("run", no_wrap=True, min_width=id_width)
    t.add_column("started", no_wrap=not narrow, overflow="fold")
    t.add_column("plan", overflow="fold")
    t.add_column("status", overflow="fold")
    t.add_column("hosts ok", no_wrap=True)
    if not narrow:
        t.add_column("resumed from", no_wrap=True, min_width=id_width)
    for r in runs:
        fmt = "%m-%d %H:%M" if narrow else "%Y-%m-%d %H:%M"
        started = time.strftime(fmt, time.localtime(r.started)) if r.started else "?"
        n_ok = sum(1 for s in r.summary.values() if s.get("ok"))
        status = r.status if r.status != "finished" else ("ok" if r.ok else "failed")
        style = STATUS_STYLE.get(status, "green" if status == "ok" else "")
        if r.dry_run:
            status += " (dry run)"
        run_cell = Text(r.run_id)
        if narrow and r.resumed_from:
            run_cell.append(f"\n<- {r.resumed_from}", style="dim")
        row = [run_cell, started, r.plan_name, Text(status, style=style),
               f"{n_ok}/{len(r.hosts)}" if r.summary else f"?/{len(r.hosts)}"]
        if not narrow:
            row.append(r.resumed_from or "")
        t.add_row(*row)
    out.print(t)
    if narrow and any(r.resumed_from for r in runs):
        out.print(Text("<- RUN: the run it resumed", style="dim"))
    out.print(f"in {state_dir() / 'runs'}")
    return 0


__all__ = ["Printer", "add_commands", "cmd_apply", "cmd_resume", "cmd_rollback", "cmd_runs", "executor_factory", "connection_args", "print_summary"]
