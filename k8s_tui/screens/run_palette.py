"""The run screen's actions in the command palette (ctrl+p)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from ..widgets.palette import ListedCommands
from .run_logs import LogPanel


class RunCommands(ListedCommands):
    """The run screen's actions in the command palette."""

    def commands(self) -> Iterator[tuple[str, Any, str]]:
        screen = self.screen
        if not isinstance(screen, LogPanel):  # the run screen
            return
        for name, action, help_text in (
            ("Run: retry the failed step", "retry", "r: the selected (or only) failed host"),
            ("Run: skip a host", "skip_host", "s: its remaining steps are skipped, the others go on"),
            ("Run: abort", "abort", "a: start nothing new; running steps finish"),
            ("Run: cancel now (Ctrl+C)", "cancel_run", "stop running steps; resume later"),
            ("Run: finish and show the summary", "finish", "n"),
            ("Log: filter lines", "filter", "/"),
            ("Log: wrap long lines on/off", "toggle_wrap", "w"),
            ("Log: timestamps on/off", "toggle_timestamps", "t"),
            ("Log: follow new lines", "follow", "f or End"),
            ("Log: mark (a separator line)", "mark", "m"),
            ("Log: save the visible log to a file", "save_log", "ctrl+s, mode 0600"),
            ("Log: all hosts", "all_hosts", "0"),
        ):
            yield name, partial(screen.run_action, action), help_text
