"""The Textual app: the wizard's screens around one WizardState.

``make_app`` is the one factory the CLI and the tests share.
"""

from __future__ import annotations

import asyncio
import json
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.actions import SkipAction
from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette, SearchIcon
from textual.screen import ModalScreen
from textual.widgets import DataTable, ListView, OptionList

from .model.plan import ClusterPlan
from .session.executors import ExecutorFactory
from .screens.base import WizardScreen
from .screens.commands import WizardCommands
from .screens.hosts import HostsScreen
from .screens.review import ReviewScreen
from .screens.run import RunScreen
from .screens.run_start import StartRunCommands
from .session.state import STEPS, WizardState
from .screens.themes import CONTRAST, DEFAULT, HIGH_CONTRAST, auto_theme
from .screens.tool import ToolScreen
from .screens.tuning import TuningScreen
from .widgets.dialogs import HelpScreen
from .widgets.quit_dialog import QuitDialog

# signals that end the wizard cleanly (plan saved, a run stopped and journaled), with their exit code
EXIT_SIGNALS = {signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGHUP: 128 + signal.SIGHUP}

STEP_NAMES = [s for s, _ in STEPS]


def running_screen(app: App) -> RunScreen | None:
    """The run screen whose run is still going, if any (under dialogs or the summary too)."""
    return next((s for s in reversed(app.screen_stack) if isinstance(s, RunScreen) and s.model.active), None)


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
        # the back/next line above the footer shows ctrl+n; the footer keeps its room for the rest
        Binding("ctrl+n", "next_step", "Next", priority=True, show=False, tooltip="next step (state is kept)"),
        Binding("ctrl+b", "prev_step", "Back", priority=True, tooltip="previous step (state is kept)"),
        # the footer shows "? Help" (the shorter of the two: 80 columns are tight); F1 does the same
        Binding("f1", "help", "Help", priority=True, show=False, tooltip="the keys of this screen"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="the keys of this screen"),
        Binding("ctrl+q", "ask_quit", "Quit", priority=True, key_display="q/^q",
                tooltip="quit (asks first; your plan stays saved)"),
        Binding("q", "ask_quit", "Quit", show=False, tooltip="quit (asks first; your plan stays saved)"),
        # lists and tables move with j/k too; an Input or TextArea keeps the letters (Textual drops
        # a binding whose key the focused widget consumes), and elsewhere the key falls through
        Binding("j", "list_move('down')", "Down", show=False, priority=True, tooltip="move in a list or table (down / up)"),
        Binding("k", "list_move('up')", "Up", show=False, priority=True, tooltip="move in a list or table (down / up)"),
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
        replace: Any = None,
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
        self.replace_offer = replace  # the saved Session a new plan (--new) would move to the history
        # saving: what is on disk for this session (None: nothing yet); the step last shown; and,
        # for a new plan that would move a saved one to the history, what it started as: nothing is
        # saved until it differs, so --new and quitting at once leaves the saved plan in place
        self._saved_key: tuple | None = None
        self._last_step = self.start_step
        self._untouched: tuple | None = None
        self._save_ready = False  # no saving while the resume / replace question is open
        self._save_error: str | None = None
        self.exit_signal: int | None = None
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
        self._watch_signals(True)
        self.set_interval(0.5, self._save_session)  # every change is on disk within half a second
        if self.replace_offer is not None:
            self._offer_replace(self.replace_offer)
        elif self.resume_offer is not None:
            self._offer_resume(self.resume_offer)
        else:
            self._open_first_screen()

    def on_unmount(self) -> None:
        self._watch_signals(False)

    def _watch_signals(self, on: bool) -> None:
        try:
            loop = asyncio.get_running_loop()
            for sig, code in EXIT_SIGNALS.items():
                if on:
                    loop.add_signal_handler(sig, self._exit_on_signal, code)
                else:
                    loop.remove_signal_handler(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread: no signals
            pass

    def _exit_on_signal(self, code: int) -> None:
        """SIGTERM (or a closed terminal): save, leave the screens (a run's screen stops the run and
        the command line waits for its journal's end and prints how to resume), exit 128+n."""
        if self.exit_signal is not None:
            return
        self.exit_signal = code
        self._save_session()
        self.exit(return_code=code)

    def _use_session(self, session: Any) -> None:
        self.state = session.to_state()
        self.start_step = self._last_step = session.step if session.step in STEP_NAMES else "tool"
        self._saved_key = self._session_key(self.start_step)  # on disk already

    def _offer_resume(self, session: Any) -> None:
        from .widgets.dialogs import Confirm

        question = (f"You quit while editing plan {session.describe()}. Resume it? "
                    "No opens the demo; the saved plan stays.")
        if problem := session.to_state().run_problem():
            question += f"\nIt is a draft: {problem}."

        def answered(yes: bool | None) -> None:
            if yes:
                self._use_session(session)
            self._open_first_screen()

        self.push_screen(Confirm(question), answered)

    def _offer_replace(self, session: Any) -> None:
        """--new while a plan is saved: ask, and say where the saved one goes."""
        from .session.persistence import history_dir
        from .widgets.dialogs import Confirm

        question = (f"A saved plan is waiting: {session.describe()}.\n"
                    f"Start a new, empty plan? The saved one is kept: when the new plan is first saved it "
                    f"moves to {history_dir()} (the last 5 are kept), and `k8s-tui --restore` lists them "
                    f"and brings one back.\nNo resumes {session.plan.name!r} instead.")

        def answered(yes: bool | None) -> None:
            if not yes:
                self._use_session(session)
            self._open_first_screen()

        self.push_screen(Confirm(question), answered)

    def _session_key(self, step: str | None) -> tuple:
        from .model.plan import plan_to_doc

        s = self.state
        doc = json.dumps(plan_to_doc(s.draft_plan()), sort_keys=True, default=str)
        return (doc, step, (s.answers, s.tool_chosen))

    def _save_session(self) -> None:
        """Save the plan as it stands, valid or not, when it or its step changed."""
        from .session.persistence import save_session

        if self.state.demo or not self._save_ready:
            return
        self._last_step = self.current_step() or self._last_step  # the run and summary keep the last step
        key = self._session_key(self._last_step)
        if key == self._saved_key:
            return
        if self._untouched is not None:
            if key[::2] == self._untouched:
                return
            self._untouched = None
        try:
            moved = save_session(self.state, self._last_step)
        except OSError as e:  # a full disk or a read-only state dir must not break the wizard
            if str(e) != self._save_error:
                self._save_error = str(e)
                self.notify(f"could not save the plan: {e}", severity="error", timeout=10)
            return
        self._save_error = None
        self._saved_key = key
        if moved is not None:
            self.notify(f"the plan saved before is kept in {moved} (k8s-tui --restore)", timeout=8)

    def _open_first_screen(self) -> None:
        self._save_ready = True
        if not self.state.hosts and not self.state.overrides:
            # an empty plan is not worth a save (nor moving a saved one aside) until something is typed
            self._untouched = self._session_key(None)[::2]
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
        if action == "ask_quit" and isinstance(self.screen, QuitDialog):
            return False  # the dialog's own keys answer it
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
            self.notify(f"hosts: {problem}. Your draft is saved as it is; a run needs this fixed.",
                        severity="warning", timeout=8)
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

    def show_not_ready(self) -> None:
        """Why the plan cannot run, in a dialog that stays until closed (g goes to the step)."""
        problems = self.state.run_problems()
        fix_at = "step 2 Hosts" if any("step 2 Hosts" in p for p in problems) else None
        from .widgets.quit_dialog import NotReady

        def answered(go: bool | None) -> None:
            if go:
                self.action_goto("hosts")

        self.push_screen(NotReady(problems, fix_at=fix_at), answered)

    def action_list_move(self, direction: str) -> None:
        """j/k: the cursor key itself, for the list or table in focus; anywhere else the letter
        goes on to the screen's own keys."""
        if not isinstance(self.focused, (DataTable, ListView, OptionList)):
            raise SkipAction()
        self.simulate_key(direction)

    def action_ask_quit(self) -> None:
        """q / ctrl+q: ask first; while a run goes, ask harder (it is stopped, hosts left mid-step)."""
        from .session.leaving import quit_question

        run = running_screen(self)
        step = self.current_step() or self._last_step
        untouched = self._untouched is not None and self._session_key(None)[::2] == self._untouched
        question, harder = quit_question(self.state, step, run.session if run else None, untouched=untouched)

        def answered(yes: bool | None) -> None:
            if yes:
                self._leave(run)

        self.push_screen(QuitDialog(question, harder=harder), answered)

    def _leave(self, run: Any = None) -> None:
        self._save_session()
        if run is not None and run.model.active:
            run.cancel_then(self.exit)  # the run ends as interrupted, its journal closed, then we go
        else:
            self.exit()

    async def action_quit(self) -> None:
        """Quit now (the command palette, tests); a run going still asks."""
        if running_screen(self) is not None:
            self.action_ask_quit()
            return
        self._leave()

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
    replace: Any = None,
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
    return K8sTuiApp(state, executor_factory=executor_factory, theme=theme, start=start, resume=resume,
                      replace=replace)
