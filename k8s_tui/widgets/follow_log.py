"""The log widget of the run screen: Textual's ``Log`` that follows new lines until the person
scrolls up, with a highlighter for step markers, commands and errors."""

from __future__ import annotations

from rich.cells import cell_len
from rich.highlighter import Highlighter
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.color import Color
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Log


class LogHighlighter(Highlighter):
    """Styles a line by what it is: a command ($), a step marker (---), k8s-tui's narration (#),
    a mark; colours come from the theme (``set_theme``)."""

    def __init__(self, *, prefixed: bool = False) -> None:
        self.styles: dict[str, Style] = {}
        self.prefixed = prefixed  # lines start with "host | " (the all-hosts view)

    def set_theme(self, variables: dict[str, str]) -> None:
        def color(name: str, fallback: str) -> Style:
            try:
                return Style(color=Color.parse(variables.get(name, fallback)).rich_color)
            except Exception:
                return Style()

        self.styles = {
            "cmd": Style(bold=True),
            "marker": color("text-accent", "yellow"),
            "failed": color("text-error", "red") + Style(bold=True),
            "done": color("text-success", "green"),
            "hint": color("text-warning", "yellow"),
            "info": color("text-primary", "cyan"),
            "mark": color("text-accent", "yellow") + Style(bold=True, reverse=True),
            "prefix": Style(dim=True),
        }

    def highlight(self, text: Text) -> None:
        s = text.plain
        st = self.styles
        if not st:
            return
        start = 0
        # a timestamp "12:34:56 " and a host prefix "name | " come first
        if len(s) > 9 and s[2] == ":" and s[5] == ":" and s[8] == " ":
            text.stylize(st["prefix"], 0, 9)
            start = 9
        if self.prefixed:
            bar = s.find(" | ", start, start + 40)
            if bar != -1:
                text.stylize(st["prefix"], start, bar + 3)
                start = bar + 3
        body = s[start:]
        if body.startswith("$ "):
            text.stylize(st["cmd"], start)
        elif body.startswith("--- hint:"):
            text.stylize(st["hint"], start)
        elif body.startswith("--- "):
            if ": failed" in body[:60] or body.startswith("--- host lost"):
                text.stylize(st["failed"], start)
            elif ": ok" in body[:60] or ": changed" in body[:60] or ": unchanged" in body[:60]:
                text.stylize(st["done"], start)
            else:
                text.stylize(st["marker"], start)
        elif body.startswith("# "):
            text.stylize(st["info"], start)
        elif body.startswith("-------- "):
            text.stylize(st["mark"], start)


class FollowLog(Log):
    """A ``Log`` that says when the user scrolled away from the end, and when back at it."""

    class Scrolled(Message):
        def __init__(self, log: FollowLog, at_end: bool) -> None:
            super().__init__()
            self.log = log
            self.at_end = at_end

    BINDINGS = [Binding("end", "scroll_end", "Follow", show=False, tooltip="jump to the newest line and follow")]

    def __init__(self, *, prefixed: bool = False, **kw) -> None:
        super().__init__(highlight=True, **kw)
        self.highlighter = LogHighlighter(prefixed=prefixed)
        self.quiet = 0  # > 0 while the view moves the log itself

    def on_mount(self) -> None:
        self._apply_theme()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._apply_theme())

    def _apply_theme(self) -> None:
        self.highlighter.set_theme(self.app.get_css_variables())
        self._render_line_cache.clear()
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.quiet:
            return
        at_end = new_value >= self.max_scroll_y
        if new_value < old_value and not at_end:
            self.post_message(self.Scrolled(self, False))
        elif new_value > old_value and at_end:
            self.post_message(self.Scrolled(self, True))

    def action_scroll_end(self) -> None:
        self.post_message(self.Scrolled(self, True))
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    # Rendering, tuned for a log that changes many times a second: the widget's style is worked
    # out once per repaint (not twice per line), the control-character pass is skipped (the view
    # cleaned every line already), and rendered lines are cached while nothing is selected.
    _frame_style: Style | None = None

    @classmethod
    def _process_line(cls, line: str) -> str:
        return line

    def render_lines(self, crop):  # type: ignore[override]
        self._frame_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    def _render_line(self, y: int, scroll_x: int, width: int) -> Strip:
        rich_style = self._frame_style or self.rich_style
        if y >= len(self._lines):
            return Strip.blank(width, rich_style)
        line = self._render_line_strip(y, rich_style)
        return line.crop_extend(scroll_x, scroll_x + width, rich_style).apply_offsets(scroll_x, y)

    def _render_line_strip(self, y: int, rich_style: Style) -> Strip:
        if self.text_selection is not None:
            return super()._render_line_strip(y, rich_style)
        cached = self._render_line_cache.get(y)
        if cached is not None:
            return cached
        text = self._lines[y]
        line_text = Text(text, no_wrap=True)
        line_text.stylize(rich_style)
        self.highlighter.highlight(line_text)
        strip = Strip(line_text.render(self.app.console), len(text) if text.isascii() else cell_len(text))
        self._render_line_cache[y] = strip
        return strip

    # The stock Log measures new lines' widths in a thread worker per write; the lines here are
    # already cleaned and tab-expanded, so one pass in place is cheaper than a thread per batch.
    def _update_size(self, updates: int, lines: list[str]) -> None:  # type: ignore[override]
        if lines:
            self._update_maximum_width(updates, _width(lines))

    def replace_lines(self, lines: list[str], *, refit: bool = False) -> None:
        """Show these lines instead of the ones shown (a filter or a setting changed). Unlike
        clear() and write_lines(), this keeps the virtual size when it does not change, so the
        screen repaints the log only instead of laying out every widget again."""
        cap = self.max_lines
        if cap is not None and len(lines) > cap:
            lines = lines[-cap:]
        self._lines = list(lines)
        self._updates += 1
        self._render_line_cache.clear()
        # the width only grows (as in write_lines): a width that changes with every batch would
        # lay the whole screen out again each time
        self._width = _width(lines) if refit else max(self._width, _width(lines))
        size = Size(self._width, len(self._lines))
        if size != self.virtual_size:
            self.virtual_size = size
        self.refresh()


def _width(lines: list[str]) -> int:
    return max((len(s) if s.isascii() else cell_len(s)) for s in lines) if lines else 0
