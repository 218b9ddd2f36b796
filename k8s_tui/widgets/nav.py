"""The back / next line at the bottom of every wizard screen (mouse users click, keys work too)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from ..session.state import STEPS


class NavBar(Horizontal):
    DEFAULT_CSS = """
    NavBar {
        height: 1;
        width: 1fr;
        background: $panel;
    }
    NavBar Button { margin: 0 1; }
    NavBar #nav-where { width: 1fr; content-align: center middle; color: $text-muted; }
    NavBar #nav-end { width: 20; }
    """

    def __init__(self, step: str) -> None:
        super().__init__(id="nav")
        self.step = step

    def compose(self) -> ComposeResult:
        names = [s for s, _ in STEPS]
        titles = dict(STEPS)
        i = names.index(self.step)
        back = Button("< Back (ctrl+b)", id="nav-back", compact=True)
        back.disabled = i == 0
        yield back
        yield Static(f"step {i + 1} of {len(STEPS)}", id="nav-where")
        if i + 1 < len(names):
            yield Button(f"Next: {titles[names[i + 1]]} > (ctrl+n)", id="nav-next", compact=True, variant="primary")
        else:
            yield Static("", id="nav-end")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "nav-back":
            event.stop()
            self.app.action_prev_step()  # type: ignore[attr-defined]
        elif event.button.id == "nav-next":
            event.stop()
            self.app.action_next_step()  # type: ignore[attr-defined]
