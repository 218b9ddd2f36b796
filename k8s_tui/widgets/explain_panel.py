"""The explanation beside the tuning table: renders the Sections ``knowledge.explain`` returns.

The words and facts come from ``knowledge.explain.explain``, the same source ``k8s-tui explain``
prints, so the panel and the CLI never disagree. This widget only lays them out and styles them.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import ScrollableContainer
from textual.content import Content
from textual.widgets import Static

from ..knowledge.explain import Section

TITLE_STYLE = "bold $accent"
MARK_STYLE = "bold reverse"


def hang(line: Content, width: int, first: str = "  ", rest: str = "    ") -> list[Content]:
    """Wrap a list line with a hanging indent, so each fact reads as one item."""
    if width <= len(rest) + 8:
        return [Content(first) + line]
    parts = line.wrap(width - len(rest))
    if not parts:
        return [Content(first)]
    out = [Content(first) + parts[0]]
    if len(parts) > 1:
        rewrapped = Content(" ").join(parts[1:]).wrap(width - len(rest))
        out += [Content(rest) + p for p in rewrapped]
    return out


def render_sections(
    sections: Iterable[Section], *, current_preset: str | None = None, width: int = 0
) -> tuple[list[Content], list[Content], list[Content]]:
    """(text before the diagram, the diagram lines, text after it), as Content lines.

    With a width, list sections (facts, presets, consequences, sources) wrap with a hanging indent.
    """

    def item(line: Content, indent: str = "  ") -> list[Content]:
        if width:
            return hang(line, width, indent, indent + "  ")
        return [Content(indent) + line]

    before: list[Content] = []
    diagram: list[Content] = []
    after: list[Content] = []
    seen_diagram = False
    for s in sections:
        out = after if seen_diagram else before
        if s.kind == "summary":
            out.append(Content.styled(s.title, "bold"))
            out += [Content(line) for line in s.lines]
            out.append(Content(""))
            continue
        if s.kind == "diagram":
            seen_diagram = True
            diagram.append(Content.styled(s.title, TITLE_STYLE))
            marks = list(s.marked) + [False] * (len(s.lines) - len(s.marked))
            for line, marked in zip(s.lines, marks):
                # two columns for the marker in front of every line, as the CLI prints it: a marked
                # line that starts with a word (FIN_WAIT_1) must not get glued to the marker
                if marked:
                    diagram.append(Content.assemble(("> ", "bold $warning"), (line, MARK_STYLE)))
                else:
                    diagram.append(Content("  " + line))
            diagram.append(Content(""))
            continue
        title_style = "bold $warning" if s.kind == "note" else TITLE_STYLE
        out.append(Content.styled(s.title, title_style))
        for line in s.lines:
            if s.kind == "presets" and current_preset and line.startswith(current_preset + ":"):
                out += item(Content.styled(line, "bold"), "> ")
            elif s.kind in ("facts", "presets", "sources", "consequences"):
                stripped = line.lstrip(" ")
                extra = " " * (len(line) - len(stripped))
                out += item(Content(stripped), "  " + extra)
            else:
                out.append(Content(line))
        out.append(Content(""))
    return before, diagram, after


class ExplainPanel(ScrollableContainer, can_focus=True):
    """Follows the highlighted row; scrolls on its own (Tab to it, or [ and ] from the table)."""

    DEFAULT_CSS = """
    ExplainPanel {
        overflow-x: auto;
        overflow-y: auto;
        padding: 0 0 0 1;
        border-left: vkey $border;
    }
    ExplainPanel > .explain-text { width: 1fr; height: auto; }
    ExplainPanel > #explain-diagram { width: auto; height: auto; text-wrap: nowrap; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="explain-head", classes="explain-text")
        yield Static(id="explain-body", classes="explain-text")
        yield Static(id="explain-diagram")
        yield Static(id="explain-tail", classes="explain-text")

    _last: tuple | None = None

    def on_resize(self, event) -> None:
        if self._last is not None:
            self.show(*self._last, keep_scroll=True)

    def show(self, head: list[Content], sections: list[Section], current_preset: str | None = None, *, keep_scroll: bool = False) -> None:
        self._last = (head, sections, current_preset)
        width = max(0, self.scrollable_content_region.width - 1)
        before, diagram, after = render_sections(sections, current_preset=current_preset, width=width)
        self.query_one("#explain-head", Static).update(Content("\n").join(head) if head else "")
        self.query_one("#explain-body", Static).update(Content("\n").join(before))
        d = self.query_one("#explain-diagram", Static)
        d.update(Content("\n").join(diagram))
        d.display = bool(diagram)
        self.query_one("#explain-tail", Static).update(Content("\n").join(after))
        if not keep_scroll:
            self.scroll_home(animate=False)

    def show_text(self, lines: list[Content | str]) -> None:
        self._last = None
        self.query_one("#explain-head", Static).update(Content("\n").join(Content(x) if isinstance(x, str) else x for x in lines))
        for wid in ("#explain-body", "#explain-diagram", "#explain-tail"):
            self.query_one(wid, Static).update("")
        self.query_one("#explain-diagram", Static).display = False
        self.scroll_home(animate=False)
