"""What the wizard says when someone leaves it: the quit question (plain, or harder while a run
goes) and the resume hint printed after the UI is gone. Words only; no Textual here."""

from __future__ import annotations

from typing import Any

from ..engine.events import StepStatus
from ..engine.state import state_dir


def resume_command(session: Any) -> str:
    """The command that continues ``session``'s run (a run kept outside the state dir, like the
    demo's, names its folder; a dry run is resumed as one)."""
    env = ""
    journal = session.journal_dir
    if journal is not None and journal.parent.parent != state_dir():
        env = f"K8S_TUI_STATE_DIR={journal.parent.parent} "
    return f"{env}k8s-tui resume {session.run_id}{' --dry-run' if session.dry_run else ''}"


def running_steps(model: Any) -> list[str]:
    """ "init on cp-1" for every step running now."""
    return [f"{step} on {host}" for (host, step), cell in model.cells.items() if cell.status is StepStatus.RUNNING]


def quit_question(state: Any, step: str | None, run: Any = None, *, untouched: bool = False) -> tuple[str, bool]:
    """The quit dialog's text, and whether it is the harder one (a run in progress). ``untouched``:
    a new plan nothing was typed into, which is not saved (a plan saved before stays)."""
    if run is not None:
        model = run.model
        busy = running_steps(model)
        done, total = model.progress()
        if busy:
            what = (f"A run is in progress: {done} of {total} host steps done (running now: "
                    f"{', '.join(busy[:4])}{' ...' if len(busy) > 4 else ''}).\n"
                    "Quitting stops it now: running steps are cancelled and their hosts are left mid-step.")
        else:
            failed = model.failed_hosts()
            what = (f"The run is not finished: it waits for you{' (failed: ' + ', '.join(failed) + ')' if failed else ''}.\n"
                    "Nothing runs on the hosts right now; quitting ends the run unfinished.")
        return (f"{what}\nContinue it later with: {resume_command(run)}\n"
                "(it starts from each host's first unfinished step; the journal keeps what happened)", True)
    if state.demo:
        return "This is the demo: nothing is saved.", False
    if untouched:
        return "Nothing was typed into this new plan, so nothing is saved; a plan saved before stays as it was.", False
    if step is None:
        return "Your plan stays saved; the next start offers to resume it.", False
    problem = state.run_problem()
    draft = f", as a draft: {problem}" if problem else ""
    return (f"Plan '{state.base.name}' is saved at step '{step}'{draft}.\n"
            "The next start offers to resume it.", False)
