"""The plan's own installer (kubespray, kubeasz, kops), run from the wizard after host
preparation: the same files and commands `k8s-tui run-tool` writes and runs
(``session/tool_session.py``), streamed into a log. The checkout is asked for (kubespray,
kubeasz); what is missing (the checkout, ansible-playbook, kops) is said before anything runs.

In the demo the app's executor factory is the dry run: the files and commands are shown, nothing
is written or run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Button, Footer, Input, Label, Log, Static

from ..backends.tool_runs import TOOL_WHAT
from ..session.tool_session import DEFAULT_CHECKOUT, ToolSession, default_out_dir, needs_checkout
from ..widgets.crumbs import CrumbLine
from ..widgets.dialogs import Confirm
from ..yamlio import InputError
from .base import WizardScreen


class ToolRunScreen(WizardScreen):
    STEP = ""
    TITLE = "Run the tool"
    HELP_TEXT = (
        "Runs the plan's own installer (kubespray's cluster.yml, kubeasz's setup steps, or kops) on this "
        "machine, exactly as `k8s-tui run-tool` does: the rendered inventory and settings are written to "
        "the output folder, then the commands run one at a time, their output shown here. The first "
        "failing command stops it."
    )
    BINDINGS = [
        Binding("ctrl+r", "start", "Run", tooltip="write the files and run the tool's commands (asks first)"),
        Binding("escape", "back", "Back", tooltip="back to where you came from (a running tool is stopped first)"),
    ]
    DEFAULT_CSS = """
    ToolRunScreen #tool-what { height: auto; padding: 0 1; }
    ToolRunScreen .row { height: 1; margin: 0 1; }
    ToolRunScreen .row Label { width: 11; }
    ToolRunScreen .row Input { width: 1fr; }
    ToolRunScreen #tool-status { height: auto; padding: 0 1; }
    ToolRunScreen #tool-log { height: 1fr; border-top: solid $primary; }
    ToolRunScreen #tool-buttons { height: 1; margin: 0 1; }
    ToolRunScreen #tool-buttons Button { margin-right: 2; }
    """

    def __init__(self, *, demo: bool = False) -> None:
        super().__init__()
        self.demo = demo
        self.session: ToolSession | None = None
        self._worker: Any = None

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.is_finished

    def compose(self) -> ComposeResult:
        plan = self.state.to_plan()
        yield CrumbLine("run", demo=self.demo, extra=f"{plan.tool.value} itself", id="tool-crumbs")
        yield Static(self.what_text(plan), id="tool-what")
        if needs_checkout(plan.tool):
            with Horizontal(classes="row"):
                yield Label("Checkout")
                yield Input(DEFAULT_CHECKOUT[plan.tool], placeholder=f"the {plan.tool.value} directory", id="tool-checkout", compact=True)
        with Horizontal(classes="row"):
            yield Label("Output")
            yield Input(str(default_out_dir(plan)), id="tool-out", compact=True)
        yield Static("", id="tool-status")
        with Horizontal(id="tool-buttons"):
            yield Button("Run (ctrl+r)", id="tool-start", compact=True, variant="warning")
            yield Button("Back (esc)", id="tool-back", compact=True)
        yield Log(id="tool-log", max_lines=20000)
        yield Footer(compact=True, show_command_palette=False)  # ? help lists ctrl+p; 80 columns need the room

    def what_text(self, plan: Any) -> Content:
        where = ("Demo: the app's dry run shows the files and commands; nothing is written or run."
                 if self.demo else "On this machine, as `k8s-tui run-tool` runs it.")
        return Content.assemble((f"{plan.tool.value}", "bold"), f" installs Kubernetes on the plan's hosts with {TOOL_WHAT[plan.tool]}; "
                                "run it after the host preparation (the wizard's run).", "\n", (where, "$text-muted"))

    def on_mount(self) -> None:
        first = self.query("#tool-checkout")
        (first.first() if first else self.query_one("#tool-out")).focus()

    def _value(self, wid: str) -> str:
        found = self.query(f"#{wid}")
        return found.first(Input).value.strip() if found else ""

    def _set_status(self, text: str, style: str = "") -> None:
        self.query_one("#tool-status", Static).update(Content.styled(text, style) if style else Content(text))

    def make_session(self) -> ToolSession | None:
        """The session for what is typed; None (and the reason shown) when something is missing."""
        try:
            plan = self.state.to_plan()
            session = ToolSession(plan, self.app.executors(), checkout=self._value("tool-checkout") or None,
                                  out_dir=Path(self._value("tool-out") or str(default_out_dir(plan))).expanduser())
            session.prepare()
        except InputError as e:  # ToolMissing names what to install or where to point
            self._set_status(f"cannot run {self.state.tool.value} yet: {e}", "$error")
            return None
        return session

    def action_start(self) -> None:
        if self.running:
            self.notify("the tool is running; its output is below")
            return
        session = self.make_session()
        if session is None:
            return
        if self.demo:
            self._go(session)
            return
        steps = len(session.prepare().steps)
        self.app.push_screen(
            Confirm(f"Write the rendered files to {session.out_dir} and run {self.state.tool.value}'s "
                    f"{steps} command(s) on this machine now? It changes the hosts in the plan."),
            lambda yes: self._go(session) if yes else None,
        )

    def _go(self, session: ToolSession) -> None:
        self.session = session
        log = self.query_one("#tool-log", Log)
        log.clear()
        self._set_status(f"running {self.state.tool.value} ...", "$warning")

        def line(stream: str, text: str) -> None:
            log.write_line(text if stream in ("stdout", "stderr") else f"# {text}" if stream == "info" else text)

        async def work() -> None:
            try:
                await session.run(line)
            except InputError as e:
                self._set_status(f"cannot run {self.state.tool.value}: {e}", "$error")
                return
            ok = session.result is not None and session.result.ok
            self._set_status(session.verdict(), "$success" if ok else "bold $error")

        self._worker = self.run_worker(work(), group="tool-run", exclusive=True, exit_on_error=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        {"tool-start": self.action_start, "tool-back": self.action_back}[event.button.id or ""]()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    def action_back(self) -> None:
        if self._worker is not None and not self._worker.is_finished:
            self._worker.cancel()  # the executor kills the command it runs
        self.app.pop_screen()


def open_tool_run(app: Any) -> None:
    """Show the tool-run screen for the plan's tool (kubespray, kubeasz, kops)."""
    if app.state.tool.value == "kubeadm":
        app.notify("kubeadm runs as the wizard's own run (Run: start the run)")
        return
    app.push_screen(ToolRunScreen(demo=bool(app.state.demo)))
