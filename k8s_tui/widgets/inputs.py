"""An Input that follows the app's cursor-blink setting (tests turn blinking off for stable snapshots)."""

from __future__ import annotations

from textual.widgets import Input


class WizInput(Input):
    def on_mount(self) -> None:
        if not getattr(self.app, "cursor_blink", True):
            self.cursor_blink = False
