"""The tuning step's table of sysctl keys (the screen fills it; this widget only adds its keys)."""

from __future__ import annotations

from textual.binding import Binding
from textual.events import Resize
from textual.widgets import DataTable


class SysctlTable(DataTable):
    BINDINGS = [
        Binding("delete,backspace", "screen.reset_value", "Reset", tooltip="reset the value to the preset's"),
    ]

    def on_resize(self, event: Resize) -> None:
        fit = getattr(self.screen, "_fit_columns", None)
        if fit is not None:
            self.call_after_refresh(fit)
        self.call_after_refresh(self._scroll_cursor_into_view)
