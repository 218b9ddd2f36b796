"""The quit question (q, ctrl+q), and the notice that blocks a run that cannot run yet."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from .dialogs import Confirm


class QuitDialog(Confirm):
    """y quits, n or Esc stays; the focus starts on staying, so Enter stays. While a run goes
    (``harder``) a second ctrl+q does not stop it either: only y or the button does."""

    BINDINGS = [
        Binding("escape,n", "answer(False)", "Stay"),
        Binding("y", "answer(True)", "Quit"),
        Binding("ctrl+q", "again", "Quit", priority=True),
    ]

    DEFAULT_CSS = """
    QuitDialog { align: center middle; }
    QuitDialog > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    QuitDialog.-harder > Vertical { border: heavy $error; }
    QuitDialog Horizontal { height: 1; margin-top: 1; }
    QuitDialog Button { margin-right: 2; }
    """

    def __init__(self, question: str, *, harder: bool = False) -> None:
        super().__init__(question)
        self.harder = harder
        self.set_class(harder, "-harder")

    def compose(self) -> ComposeResult:
        with Vertical():
            title = "Stop the run and quit?" if self.harder else "Quit?"
            yield Static(Content.styled(title, "bold $error" if self.harder else "bold $accent"))
            yield Static(self.question, id="quit-text")
            with Horizontal():
                if self.harder:
                    yield Button("Keep running (n/esc)", id="no", compact=True, variant="primary")
                    yield Button("Stop the run and quit (y)", id="yes", compact=True, variant="error")
                else:
                    yield Button("Quit (y)", id="yes", compact=True, variant="warning")
                    yield Button("Stay (n/esc)", id="no", compact=True)

    # Confirm's handlers answer the buttons and focus "no" (Textual runs a base class's handler
    # too, so defining them again here would answer twice)

    def action_again(self) -> None:
        # ctrl+q twice quits, as in most programs; never while a run goes
        if not self.harder:
            self.dismiss(True)


class NotReady(ModalScreen[bool]):
    """Why the plan cannot run yet; stays until closed. True: go where it can be fixed."""

    BINDINGS = [Binding("escape,n", "answer(False)", "Close"), Binding("g", "answer(True)", "Go there")]

    DEFAULT_CSS = """
    NotReady { align: center middle; }
    NotReady > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: heavy $error; background: $surface; padding: 0 1;
    }
    NotReady Horizontal { height: 1; margin-top: 1; }
    NotReady Button { margin-right: 2; }
    """

    def __init__(self, problems: list[str], *, fix_at: str | None = None) -> None:
        super().__init__()
        self.problems = problems
        self.fix_at = fix_at  # the step's title, when one step fixes it

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.styled("The plan cannot run yet", "bold $error"))
            yield Static("\n".join(f"- {p}" for p in self.problems), id="not-ready-text")
            yield Static("Nothing was run. Your plan is saved as it is (a draft).", classes="muted")
            with Horizontal():
                if self.fix_at:
                    yield Button(f"Go to {self.fix_at} (g)", id="go", compact=True, variant="primary")
                yield Button("Close (esc)", id="close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#go" if self.fix_at else "#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "go")

    def action_answer(self, go: bool) -> None:
        self.dismiss(go and self.fix_at is not None)
