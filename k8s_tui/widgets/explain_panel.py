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
from ..knowledge.wrap import wrap

TITLE_STYLE = "bold $accent"
MARK_STYLE = "bold reverse"


def hang(line: Content, width: int, first: str = "  ", rest: str = "    ") -> list[Content]:
    """Wrap a styled list line (Content) with a hanging indent, so each item reads as one."""
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


def hang_text(line: str, width: int, first: str = "  ", rest: str = "    ", style: str = "") -> list[Content]:
    """Wrap a list line of knowledge text with a hanging indent. Wrapped by knowledge.wrap
    (breaks between CJK characters too, widths in cells); plain text, so "[since 4.18]" is shown
    as written, never read as markup."""
    if width <= len(rest) + 8:
        parts = [first + line]
    else:
        parts = wrap(first + line, width, hang=len(rest) - len(first))
    return [Content.styled(p, style) if style else Content(p) for p in parts]


def wrap_content(content: Content, width: int) -> Content:
    """Styled text wrapped to ``width`` cells the way knowledge.wrap breaks lines (between CJK
    characters too), keeping its styles: for a mixed Chinese sentence that Textual would break only
    at spaces."""
    if width <= 8:
        return content
    plain = content.plain
    # where each wrapped line starts in the text: counted in non-space characters, because the
    # wrapper folds runs of spaces at a line break
    solid = [i for i, ch in enumerate(plain) if ch != " "]
    starts, seen = [], 0
    for line in wrap(plain, width):
        if seen >= len(solid):
            break
        starts.append(solid[seen])
        seen += sum(1 for ch in line if ch != " ")
    pieces = content.divide(starts[1:]) if len(starts) > 1 else [content]
    return Content("\n").join(p.rstrip() for p in pieces)


def text_lines(line: str, width: int, style: str = "") -> list[Content]:
    """A paragraph, wrapped to ``width`` cells at spaces and between CJK characters (Textual,
    like Rich, breaks only at spaces and would end a line early before a run of Chinese)."""
    parts = wrap(line, width) if width else [line]
    return [Content.styled(p, style) if style else Content(p) for p in parts]


def render_sections(
    sections: Iterable[Section], *, current_preset: str | None = None, width: int = 0
) -> tuple[list[Content], list[Content], list[Content]]:
    """(text before the diagram, the diagram lines, text after it), as Content lines.

    With a width, list sections (facts, presets, consequences, sources) wrap with a hanging indent.
    """

    def item(line: str, indent: str = "  ", style: str = "") -> list[Content]:
        if width:
            return hang_text(line, width, indent, indent + "  ", style)
        return [Content.styled(indent + line, style) if style else Content(indent + line)]

    before: list[Content] = []
    diagram: list[Content] = []
    after: list[Content] = []
    seen_diagram = False
    for s in sections:
        out = after if seen_diagram else before
        if s.kind == "summary":
            out += text_lines(s.title, width, "bold")
            for line in s.lines:
                out += text_lines(line, width)
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
        out += text_lines(s.title, width, title_style)
        for line in s.lines:
            if s.kind == "presets" and current_preset and line.startswith((current_preset + ":", current_preset + "：")):
                out += item(line, "> ", "bold")
            elif s.kind in ("facts", "presets", "sources", "consequences"):
                stripped = line.lstrip(" ")
                extra = " " * (len(line) - len(stripped))
                out += item(stripped, "  " + extra)
            else:
                out += text_lines(line, width)
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
