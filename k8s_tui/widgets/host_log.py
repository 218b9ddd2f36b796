"""The live log of one host (or of all hosts, each line prefixed by its host), with follow mode.

A ``HostLogView`` shows the lines a ``RunBridge`` keeps for its host in a Textual ``Log`` (plain
strings, only visible lines rendered), fed in batches by ``sync()`` from the screen's timer. The
view settings (filter, wrap, timestamps) transform stored lines into shown lines; changing one
rebuilds the log from the store (at most ``max_lines`` lines).

Follow mode is on at first: new lines scroll into view. Scrolling up pauses it, and the status
line counts "+N new lines" until End (or the screen's ``f``) resumes it; scrolling down to the end
resumes it too.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from collections.abc import Callable
from itertools import islice
from pathlib import Path

from rich.cells import chop_cells
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from ..engine.text import clean_line
from .follow_log import FollowLog
from .run_bridge import RAW_KINDS, Line, LineStore, RunBridge


@dataclass
class LogSettings:
    """What every log view of a run shares (the screen's w and t keys change them)."""

    wrap: bool = False
    timestamps: bool = False
    host_width: int = 12  # the all-hosts view pads host names to this


def short_path(path: str | Path | None) -> str:
    """A path with the home directory as ~."""
    if path is None:
        return ""
    p = str(path)
    home = os.path.expanduser("~")
    if home not in ("", "/") and (p == home or p.startswith(home + os.sep)):
        return "~" + p[len(home):]
    return p


class HostLogView(Vertical):
    """One host's log (host=None: all hosts), its status line and its filter box."""

    DEFAULT_CSS = """
    HostLogView { height: 1fr; }
    HostLogView FollowLog { height: 1fr; background: $surface; }
    HostLogView .log-status { height: 1; background: $panel; color: $text; padding: 0 1; }
    HostLogView Input.log-filter { height: 1; border: none; padding: 0 1; display: none; }
    """

    def __init__(self, bridge: RunBridge, host: str | None, settings: LogSettings, *,
                 log_path: Path | Callable[[], Path | None] | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bridge = bridge
        self.host = host
        self.settings = settings
        self._log_path = log_path  # a path, or a function giving it (the journal opens when the run starts)
        self.follow = True
        self.new_lines = 0  # written while follow was paused
        self.filter_text = ""
        self.seen = 0  # store.total at the last sync
        self.shown = 0  # lines in the store that pass the filter (since the last rebuild)
        self._width = 0
        self._last_status: Content | None = None
        self.saved_to: Path | None = None
        self.complete = True  # the log holds every line the store keeps (not only the newest)
        self._stick_pending = False

    @property
    def log_path(self) -> Path | None:
        p = self._log_path
        return p() if callable(p) else p

    @property
    def store(self) -> LineStore:
        return self.bridge.store(self.host)

    def compose(self) -> ComposeResult:
        yield FollowLog(max_lines=self.store.maxlen, prefixed=self.host is None)
        yield Input(placeholder="filter: type to show matching lines; enter keeps it, esc clears it",
                    classes="log-filter", compact=True)
        yield Static(classes="log-status")

    @property
    def log_widget(self) -> FollowLog:
        return self.query_one(FollowLog)

    def on_mount(self) -> None:
        self.rebuild()

    # -- turning stored lines into shown lines ----------------------------------------------

    def _wrap_width(self) -> int:
        w = self.log_widget.scrollable_content_region.width
        return w if w >= 10 else 0

    def format(self, lines: list[Line], first: int) -> list[str]:
        """The shown text of stored lines (``first``: the store index of the first): cleaned, host
        prefix in the all-hosts view, filtered, time stamped, wrapped."""
        s = self.settings
        all_hosts = self.host is None
        hw = s.host_width
        q = self.filter_text.lower()
        raw = RAW_KINDS
        clean = clean_line
        times = self.store.times(first, len(lines)) if s.timestamps else None
        out: list[str] = []
        add = out.append
        last_sec = -1
        stamp = ""
        for i, (kind, host, text) in enumerate(lines):
            if kind in raw:
                text = clean(text)
                if "\t" in text:
                    text = text.expandtabs()
                if kind == "info":
                    text = "# " + text
            if all_hosts and host:
                text = f"{host[:hw]:<{hw}} | {text}"
            if q and q not in text.lower():
                continue
            if times is not None:
                ts = times[i]
                sec = int(ts)
                if sec != last_sec:
                    last_sec = sec
                    stamp = time.strftime("%H:%M:%S ", time.localtime(ts))
                text = stamp + text
            add(text)
        self.shown += len(out)
        if s.wrap:
            w = self._wrap_width()
            if w:
                wrapped: list[str] = []
                for t in out:
                    if len(t) <= w and t.isascii():
                        wrapped.append(t)
                    elif t.isascii():
                        wrapped.extend(t[i:i + w] for i in range(0, len(t), w))
                    else:
                        wrapped.extend(chop_cells(t, w) or [""])
                return wrapped
        return out

    def _tail_size(self) -> int:
        """How many of the newest lines a following view needs: a few screens' worth."""
        return max(200, 4 * (self.log_widget.size.height or 50))

    def rebuild(self, *, full: bool | None = None, refit: bool = False) -> None:
        """Show the store again from scratch (a setting changed, or the view fell behind).

        A following view shows only the newest few screens of lines (``full=False``): that keeps
        the work per flush small however fast lines come. Scrolling up (``pause``) fills it with
        everything the store keeps, the view staying where it is counted from the end."""
        if full is None:
            full = not self.follow or bool(self.filter_text)  # a filter looks through every kept line
        log = self.log_widget
        store = self.store
        self.shown = 0
        if full or len(store.lines) <= self._tail_size():
            items, first = list(store.lines), store.first_index
            self.complete = True
        else:
            k = self._tail_size()
            items, first = list(islice(store.lines, len(store.lines) - k, None)), store.total - k
            self.complete = False
        lines = self.format(items, first)
        self.seen = store.total
        self._width = self._wrap_width()
        log.quiet += 1
        try:
            from_end = log.max_scroll_y - log.scroll_y
            log.replace_lines(lines, refit=refit)
            if self.follow:
                log.scroll_end(animate=False, immediate=True, x_axis=False)
                self._stick_later()
            else:
                log.scroll_to(y=max(0, log.max_scroll_y - from_end), animate=False, immediate=True)
        finally:
            log.quiet -= 1
        self.update_status()

    def sync(self) -> int:
        """Show the lines that arrived since the last sync; returns how many were written.

        While paused the log stays as it is (a snapshot to read) and only the count of new lines
        grows; following again shows them."""
        store = self.store
        if store.total == self.seen:
            return 0
        if not self.follow:
            self.new_lines = store.total - self.seen
            self.update_status()
            return 0
        new = store.since(self.seen)
        if new is None or len(new) > self._tail_size():
            self.rebuild(full=False)  # more came than fits a few screens: show the newest only
            return len(self.store.lines)
        first = self.seen
        self.seen = store.total
        lines = self.format(new, first)
        if lines:
            self._write(lines)
        return len(lines)

    def _write(self, lines: list[str]) -> None:
        log = self.log_widget
        cap = log.max_lines or 0
        if cap and len(lines) > cap:
            lines = lines[-cap:]
        log.quiet += 1
        try:
            log.write_lines(lines, scroll_end=False)
            log.scroll_end(animate=False, immediate=True, x_axis=False)
        finally:
            log.quiet -= 1
        self._stick_later()

    def _stick_later(self) -> None:
        """Scroll to the end again once the screen has settled: a horizontal scroll bar that just
        appeared, or a panel above that grew, makes the log shorter after the write."""
        if not self._stick_pending:
            self._stick_pending = True
            self.call_after_refresh(self._stick)

    def _stick(self) -> None:
        self._stick_pending = False
        log = self.log_widget
        if self.follow and log.scroll_y < log.max_scroll_y:
            log.quiet += 1
            try:
                log.scroll_end(animate=False, immediate=True, x_axis=False)
            finally:
                log.quiet -= 1

    def on_resize(self) -> None:
        self.update_status()
        if self.follow and self.is_mounted:
            self._stick_later()
        if self.settings.wrap and self.is_mounted and self._wrap_width() != self._width:
            self.call_after_refresh(lambda: self.rebuild(refit=True))

    # -- follow mode -----------------------------------------------------------------------

    def on_follow_log_scrolled(self, event: FollowLog.Scrolled) -> None:
        event.stop()
        if event.at_end:
            self.resume()
        else:
            self.pause()

    def resume(self) -> None:
        """Follow again: show what came while paused, and the newest line."""
        was = self.follow
        self.follow = True
        self.new_lines = 0
        if not was and self.store.total != self.seen:
            self.rebuild(full=False)
            return
        log = self.log_widget
        log.quiet += 1
        try:
            log.scroll_end(animate=False, immediate=True, x_axis=False)
        finally:
            log.quiet -= 1
        if not was:
            self.update_status()

    def pause(self) -> None:
        """Stop following (the person scrolled up): the log holds still, with every line kept."""
        if not self.follow:
            return
        self.follow = False
        self.new_lines = 0
        if not self.complete:
            self.rebuild(full=True)
        else:
            self.update_status()

    # -- the other keys ----------------------------------------------------------------------

    def open_filter(self) -> None:
        # shown and focused at once (not on the next refresh), so the keys typed right after the
        # "/" go into the box, not to the screen's keys
        inp = self.query_one(Input)
        inp.display = True
        inp.value = self.filter_text
        self.screen.set_focus(inp)

    def set_filter(self, text: str) -> None:
        if text == self.filter_text:
            return
        self.filter_text = text
        self.rebuild(refit=True)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close_filter(keep=True)

    def close_filter(self, *, keep: bool) -> None:
        inp = self.query_one(Input)
        if not keep:
            self.set_filter("")
        inp.display = False
        self.screen.set_focus(self.log_widget)
        self.update_status()

    @property
    def filter_open(self) -> bool:
        return bool(self.query_one(Input).display)

    def mark(self) -> None:
        """A separator line, then follow again (as k9s does)."""
        stamp = time.strftime("%H:%M:%S")
        self.bridge.add_mark(self.host, f"-------- mark {stamp} --------")
        self.resume()
        self.sync()

    def visible_text(self) -> list[str]:
        """The lines as shown (filter and timestamps applied, not wrapped)."""
        wrap = self.settings.wrap
        self.settings.wrap = False
        try:
            shown = self.shown
            lines = self.format(list(self.store.lines), self.store.first_index)
            self.shown = shown
        finally:
            self.settings.wrap = wrap
        return lines

    def save(self, folder: Path) -> Path:
        """Write the lines shown to a new file in ``folder``, readable by the user only."""
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = self.host or "all-hosts"
        path = folder / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.log"
        n = 1
        while path.exists():
            n += 1
            path = folder / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{n}.log"
        data = "".join(t + "\n" for t in self.visible_text()).encode("utf-8", errors="replace")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        self.saved_to = path
        self.update_status()
        return path

    # -- the status line ---------------------------------------------------------------------

    def status_content(self) -> Content:
        parts: list[Content | str | tuple[str, str]] = []
        if self.follow:
            parts.append(("following", "$success"))
        else:
            more = f" +{self.new_lines} new lines" if self.new_lines else ""
            parts.append((f"PAUSED{more}", "bold $warning"))
            parts.append(" (End or f follows)")
        if self.filter_text:
            parts.append("  filter ")
            parts.append((repr(self.filter_text), "bold $accent"))
        flags = [n for n, on in (("wrap", self.settings.wrap), ("time", self.settings.timestamps)) if on]
        if flags:
            parts.append("  " + " ".join(flags))
        left = Content.assemble(*parts)
        if self.saved_to is not None:
            label, path = "  saved ", short_path(self.saved_to)
        elif self.log_path is not None:
            label, path = ("  full logs " if self.host is None else "  full log "), short_path(self.log_path)
        else:
            return left
        room = (self.size.width - 2 if self.size.width else 120) - left.cell_length - len(label)
        if room < 12:
            return left
        if len(path) > room:
            path = "..." + path[len(path) - room + 3:]
        return Content.assemble(left, (label + path, "$text-muted"))

    def update_status(self) -> None:
        c = self.status_content()
        if c != self._last_status:
            self._last_status = c
            self.query_one(".log-status", Static).update(c, layout=False)
