"""The Textual app: the wizard's screens around one WizardState.

``make_app`` is the one factory the CLI and the tests share.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette, SearchIcon
from textual.screen import ModalScreen

from .model.plan import ClusterPlan
from .session.executors import ExecutorFactory
from .screens.base import WizardScreen
from .screens.commands import WizardCommands
from .screens.hosts import HostsScreen
from .screens.review import ReviewScreen
from .screens.run_start import StartRunCommands, confirm_quit
from .session.state import STEPS, WizardState
from .screens.themes import CONTRAST, DEFAULT, HIGH_CONTRAST, auto_theme
from .screens.tool import ToolScreen
from .screens.tuning import TuningScreen
from .widgets.dialogs import HelpScreen

STEP_NAMES = [s for s, _ in STEPS]


class AsciiCommandPalette(CommandPalette):
    """Textual's palette with an ASCII prompt instead of its magnifier emoji."""

    def on_mount(self) -> None:
        self.query_one(SearchIcon).icon = ">"


class K8sTuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "k8s-tui"
    COMMANDS = App.COMMANDS | {WizardCommands, StartRunCommands}
    SCREENS = {
        "tool": ToolScreen,
        "hosts": HostsScreen,
        "tuning": TuningScreen,
        "review": ReviewScreen,
    }
    BINDINGS = [
        Binding("ctrl+n", "next_step", "Next", priority=True, tooltip="next step (state is kept)"),
        Binding("ctrl+b", "prev_step", "Back", priority=True, tooltip="previous step (state is kept)"),
        Binding("f1", "help", "Help", priority=True, tooltip="the keys of this screen"),
    ]

    cursor_blink = True  # tests switch it off so snapshots do not depend on timing

    def __init__(
        self,
        state: WizardState,
        *,
        executor_factory: ExecutorFactory | Callable[..., Any] | None = None,
        theme: str | None = None,
        start: str = "tool",
        resume: Any = None,
    ) -> None:
        super().__init__()
        self.state = state
        # the one factory every probe and run of this app uses, from the command line's options; a
        # plain callable (tests) makes the SSH executors
        if executor_factory is None or isinstance(executor_factory, ExecutorFactory):
            self.executor_factory = executor_factory or ExecutorFactory()
        else:
            self.executor_factory = ExecutorFactory(custom=executor_factory)
        self.sessions: list[Any] = []  # every RunSession started here (cmd_tui waits for them at exit)
        self._demo_dir: Path | None = None
        self.start_step = start if start in STEP_NAMES else "tool"
        self.resume_offer = resume  # a session.persistence.Session to offer before the first screen
        self.register_theme(HIGH_CONTRAST)
        self.theme = theme or auto_theme()

    def executors(self) -> ExecutorFactory:
        """The factory for the plan on screen: the demo's own dry run while the demo is shown
        (its probe and its run see the same made-up hosts), else the command line's."""
        if self.state.demo:
            return ExecutorFactory.demo(self.executor_factory.options)
        return self.executor_factory

    def run_state_base(self) -> Path | None:
        """Where runs keep their records: the user's state dir, or for the demo a temporary one
        (the demo never adds to the user's list of runs)."""
        if not self.state.demo:
            return None
        if self._demo_dir is None:
            self._demo_dir = Path(tempfile.mkdtemp(prefix="k8s-tui-demo-"))
        return self._demo_dir

    def on_mount(self) -> None:
        if self.resume_offer is not None:
            self._offer_resume(self.resume_offer)
            return
        self._open_first_screen()

    def _offer_resume(self, session: Any) -> None:
        from .widgets.dialogs import Confirm

        plan = session.plan
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(session.saved))
        question = (f"You quit while editing plan '{plan.name}' ({len(plan.hosts)} hosts, at step "
                    f"'{session.step}', saved {when}). Resume it? No opens the demo; the saved plan stays.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.state = WizardState(plan)
                self.start_step = session.step if session.step in STEP_NAMES else "tool"
            self._open_first_screen()

        self.push_screen(Confirm(question), answered)

    def _save_session(self) -> None:
        from .session.persistence import save_session

        try:
            save_session(self.state, self.current_step())
        except OSError as e:  # a full disk or a read-only state dir must not break the wizard
            self.notify(f"could not save the session: {e}", severity="warning")

    def _open_first_screen(self) -> None:
        self.push_screen(self.start_step)
        if self.state.load_error:
            errors = self.state.load_error.splitlines()
            more = f" (and {len(errors) - 1} more; see the tuning panel)" if len(errors) > 1 else ""
            self.notify(errors[0] + more, title="Not loaded", severity="error", timeout=10)

    # ---- navigation -------------------------------------------------------------------------

    def current_step(self) -> str | None:
        return getattr(self.screen, "STEP", None) or None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_step", "prev_step", "goto", "help") and isinstance(self.screen, ModalScreen):
            return False
        if action in ("next_step", "prev_step") and self.current_step() is None:
            return False  # the run and the summary are not back/next steps
        if action == "next_step" and self.current_step() == STEP_NAMES[-1]:
            return True  # from the review, next is the run (it asks first)
        if action == "prev_step" and self.current_step() == STEP_NAMES[0]:
            return None
        return True

    def action_goto(self, step: str) -> None:
        if step not in STEP_NAMES or isinstance(self.screen, ModalScreen):
            return
        current = self.current_step()
        if current == step:
            return
        if isinstance(self.screen, WizardScreen) and current is not None:
            forward = STEP_NAMES.index(step) > STEP_NAMES.index(current)
            if not self.screen.before_leave(forward):
                return
        if current is None:
            self.push_screen(step)
        else:
            self.switch_screen(step)
        self.refresh_bindings()
        self._save_session()

    def action_next_step(self) -> None:
        cur = self.current_step()
        if cur is None:
            return
        i = STEP_NAMES.index(cur)
        if cur == "hosts" and (problem := self.state.hosts_problem()):
            self.notify(f"hosts: {problem}; the plan cannot be saved until then", severity="warning")
        if i + 1 < len(STEP_NAMES):
            self.action_goto(STEP_NAMES[i + 1])
        else:
            from .screens.run_start import confirm_run

            confirm_run(self)

    def action_prev_step(self) -> None:
        cur = self.current_step()
        if cur is None:
            return
        i = STEP_NAMES.index(cur)
        if i > 0:
            self.action_goto(STEP_NAMES[i - 1])

    def action_help(self) -> None:
        if not isinstance(self.screen, ModalScreen):
            self.push_screen(HelpScreen(self.screen))

    def run_on(self, step: str, action: str) -> None:
        """Go to a step and run one of its actions (the command palette uses this)."""
        self.action_goto(step)
        screen = self.get_screen(step)

        async def run() -> None:
            await screen.run_action(action)

        self.call_after_refresh(run)

    def use_preset(self, name: str) -> None:
        self.action_goto("tuning")
        screen = self.get_screen("tuning")
        from textual.widgets import Select

        def apply() -> None:
            screen.query_one("#preset-select", Select).value = name

        self.call_after_refresh(apply)

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(AsciiCommandPalette(id="--command-palette"))

    async def action_quit(self) -> None:
        if confirm_quit(self):  # a run is going: ask, cancel it cleanly, then quit
            return
        self._save_session()
        self.exit()

    def action_toggle_contrast(self) -> None:
        self.theme = DEFAULT if self.theme == CONTRAST else CONTRAST
        self.notify(f"theme: {self.theme}")


def make_app(
    plan: ClusterPlan | None = None,
    *,
    demo: bool = False,
    executor_factory: ExecutorFactory | Callable[..., Any] | None = None,
    state: WizardState | None = None,
    theme: str | None = None,
    start: str = "tool",
    resume: Any = None,
) -> K8sTuiApp:
    """The wizard. No plan and no state: the built-in demo (made-up hosts and probe results)."""
    if state is None:
        if plan is None:
            from .session.demo import demo_state

            state = demo_state()
        else:
            state = WizardState(plan, demo=demo)
            if demo:
                from .session.demo import demo_probes

                state.probes = demo_probes()
    return K8sTuiApp(state, executor_factory=executor_factory, theme=theme, start=start, resume=resume)
