"""An Input that follows the app's cursor-blink setting (tests turn blinking off for stable snapshots),
and the filter box that owns its Esc."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class WizInput(Input):
    def on_mount(self) -> None:
        if not getattr(self.app, "cursor_blink", True):
            self.cursor_blink = False


class FilterInput(WizInput):
    """Esc clears the filter and leaves it (k9s, lazygit); the Esc stops here, so it never reaches
    a binding that steps the wizard back."""

    BINDINGS = [Binding("escape", "leave", "Clear filter", show=False, tooltip="clear the filter and leave it")]

    class Left(Message):
        """The user left the filter with Esc (the text is already cleared)."""

    def action_leave(self) -> None:
        self.value = ""  # posts Input.Changed: the table shows every key again
        self.post_message(self.Left())
