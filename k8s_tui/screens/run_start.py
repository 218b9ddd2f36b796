"""Starting a run from the wizard, and quitting while one goes.

``start_run`` makes the ``RunSession`` of the wizard's plan, on the app's one executor factory
(the command line's options; the demo's dry run for the demo), with the dialogs as its prompts,
and shows its run screen. Nothing here runs anything itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from textual.screen import ModalScreen

from ..backends.tool_runs import rest_of_install
from ..engine.planning import plan_steps
from ..session.run_session import RunSession
from ..widgets.dialogs import Confirm
from ..widgets.hostkey_dialog import TuiPrompts
from ..widgets.palette import ListedCommands
from ..yamlio import InputError
from .run import RunScreen


def start_run(app: Any, scope: str = "full") -> RunScreen | None:
    """Make the session of the wizard's plan and show its run (None, with a notice, when the plan
    cannot run yet)."""
    try:
        plan = app.state.to_plan()
        session = RunSession(plan, app.executors(), scope=scope, prompts=TuiPrompts(app),
                             state_base=app.run_state_base(), wait_at_end=True)
    except (InputError, OSError, ValueError) as e:
        app.notify(f"cannot run yet: {e}", severity="error", timeout=8)
        return None
    app.sessions.append(session)
    screen = RunScreen(session, demo=bool(app.state.demo))
    app.push_screen(screen)
    return screen


def confirm_run(app: Any, scope: str = "full") -> None:
    """Ask, then start the run (the review screen's r)."""
    if app.state.run_problems():  # a dialog that stays says what is missing and where to fix it
        app.show_not_ready()
        return
    plan = app.state.to_plan()
    steps = [s.id for s in plan_steps(plan, scope).steps()]
    what = (f"Run {len(steps)} steps ({', '.join(steps)}) on {len(plan.hosts)} hosts at once?")
    rest = rest_of_install(plan, scope)
    if rest:  # kubespray, kubeasz, kops: say that the tool itself is not in this run, and how it runs
        what += f"\n{rest}"
    where = ("Demo: a dry run on made-up hosts; nothing anywhere changes."
             if app.state.demo else "Over SSH, as the plan says. Every host's full log is kept on disk; "
             "Ctrl+C stops the run and `k8s-tui resume` continues it later.")
    app.push_screen(Confirm(f"{what}\n{where}"), lambda yes: start_run(app, scope) if yes else None)


def confirm_quit(app: Any) -> bool:
    """Ctrl+Q while a run goes: ask, cancel the run cleanly, then quit. False when no run goes."""
    screen = next((s for s in reversed(app.screen_stack) if isinstance(s, RunScreen) and s.model.active), None)
    if screen is None:
        return False
    if isinstance(app.screen, ModalScreen):
        return True

    def done(yes: bool | None) -> None:
        if yes:
            screen.cancel_then(app.exit)

    app.push_screen(Confirm("A run is going. Quit? The run is cancelled first: running steps are stopped and "
                            f"`k8s-tui resume {screen.session.run_id}` continues it later."), done)
    return True


class StartRunCommands(ListedCommands):
    """Starting a run, from the command palette of any wizard screen."""

    def commands(self) -> Iterator[tuple[str, Any, str]]:
        if isinstance(self.screen, RunScreen) or not hasattr(self.app, "state"):
            return
        yield ("Run: start the run (step 5)", partial(confirm_run, self.app, "full"),
               "everything the plan's tool does here; asks first")
        yield ("Run: tuning only (facts and sysctl)", partial(confirm_run, self.app, "tuning"),
               "only the kernel settings; asks first")
        tool = self.app.state.tool.value
        if tool != "kubeadm":
            from .tool_run import open_tool_run

            yield (f"Run: {tool} itself (as run-tool)", partial(open_tool_run, self.app),
                   f"{tool}'s own installer on this machine, streamed; after the host preparation")
