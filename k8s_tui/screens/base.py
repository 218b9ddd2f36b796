"""What every wizard screen shares: the breadcrumb, the back/next line, the footer, F1 help."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from ..widgets.breadcrumb import Breadcrumb
from ..widgets.nav import NavBar

if TYPE_CHECKING:
    from .state import WizardState


class WizardScreen(Screen):
    STEP = ""
    TITLE = ""
    HELP_TEXT = ""
    EXTRA_KEYS: list[tuple[str, str]] = []  # widget keys shown in F1 help

    @property
    def state(self) -> WizardState:
        return self.app.state  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield Breadcrumb(self.STEP, demo=self.state.demo)
        yield from self.compose_body()
        yield NavBar(self.STEP)
        # no "^p palette" here: at 80 columns it pushed "? Help" out; help (?) lists ctrl+p
        yield Footer(compact=True, show_command_palette=False)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self.refresh_from_state()

    def refresh_from_state(self) -> None:
        """Show what the state holds now (another screen may have changed it)."""

    def before_leave(self, forward: bool) -> bool:
        """Called before next/back; return False to stay."""
        return True
