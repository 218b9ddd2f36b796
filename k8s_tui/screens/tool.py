"""Step 1: pick the deployment tool. Three questions recommend one; the four are compared side by side."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Checkbox, Label, RadioButton, RadioSet, Static

from ..widgets.explain_panel import wrap_content
from ..widgets.toggles import AsciiCheckbox, AsciiRadio

from ..backends.catalog import SCREEN_LABELS, TOOLS, Answers, aspects, recommend, tool_text
from ..knowledge.wrap import wrap
from ..model.plan import Tool
from .base import WizardScreen

TOOL_ORDER = [Tool.kubeadm, Tool.kubespray, Tool.kubeasz, Tool.kops]


def _table(chosen: Tool, recommended: Tool, narrow: bool, lang: str, *, header: bool) -> Table:
    t = Table(box=box.SIMPLE_HEAD, expand=True, show_lines=False, pad_edge=False, padding=(0, 1), show_header=header, show_edge=False)
    if not narrow:
        t.add_column("", style="bold", no_wrap=True, width=14)
    for tool in TOOL_ORDER:
        label = TOOLS[tool].title
        if tool is recommended:
            label += SCREEN_LABELS[lang]["rec"]
        style = "bold reverse" if tool is chosen else "bold"
        t.add_column(Text(label, style=style), ratio=1, overflow="fold")
    return t


def comparison_header(chosen: Tool, recommended: Tool, *, narrow: bool = False, lang: str = "en") -> Table:
    """The tool names alone, drawn with the body's columns: it stays above the scrolling body."""
    return _table(chosen, recommended, narrow, lang, header=True)


def comparison_table(
    chosen: Tool, recommended: Tool, *, narrow: bool = False, lang: str = "en", header: bool = True, width: int = 0
) -> Table:
    """The four tools side by side. Narrow: each aspect's title on a line of its own above the
    row, so the four columns get the whole width. ``header=False``: the body only (the screen
    shows ``comparison_header`` above it, outside the scrolling part). Texts are Text, never markup.
    With the table's ``width``, Chinese cells are wrapped here (knowledge.wrap breaks between CJK
    characters; Rich breaks only at spaces and would end a line early before a run of Chinese)."""
    t = _table(chosen, recommended, narrow, lang, header=header)
    # each data column's width, a little under what Rich gives it so Rich never wraps again
    col = (width - (0 if narrow else 14 + 2) - 2 * 3) // 4 - 1 if width else 0

    def cell(text: str) -> Text:
        return Text("\n".join(wrap(text, col)) if lang == "zh" and col > 8 else text)

    for attr, title in aspects(lang):
        cells = [cell(tool_text(tool, attr, lang)) for tool in TOOL_ORDER]
        if narrow:
            t.add_row(Text(title, style="bold underline"), "", "", "")
            t.add_row(*cells, end_section=True)
        else:
            t.add_row(Text(title), *cells, end_section=True)
    return t


class ToolScreen(WizardScreen):
    STEP = "tool"
    TITLE = "1 Tool"
    HELP_TEXT = (
        "Pick how the cluster gets built. Answer the three questions for a recommendation with "
        "its reason, or pick any tool yourself; the table compares all four. Your choice is kept "
        "when you go on and come back."
    )
    DEFAULT_CSS = """
    ToolScreen #compare-head { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        Binding("c", "toggle('q-cloud')", "Cloud?", tooltip="toggle: the machines are cloud VMs"),
        Binding("a", "toggle('q-ansible')", "Ansible?", tooltip="toggle: you use Ansible"),
        Binding("h", "toggle('q-ha')", "HA?", tooltip="toggle: several control planes (HA)"),
        Binding("1", "pick(0)", "kubeadm", show=False, tooltip="use kubeadm"),
        Binding("2", "pick(1)", "kubespray", show=False, tooltip="use kubespray"),
        Binding("3", "pick(2)", "kubeasz", show=False, tooltip="use kubeasz"),
        Binding("4", "pick(3)", "kops", show=False, tooltip="use kops"),
        Binding("r", "use_recommended", "Use rec.", tooltip="use the recommended tool"),
        Binding("pagedown", "scroll_compare(1)", "Scroll down", show=False, tooltip="scroll the comparison down"),
        Binding("pageup", "scroll_compare(-1)", "Scroll up", show=False, tooltip="scroll the comparison up"),
        # priority: the radio set would take down/up to move between tools (left/right still do)
        Binding("down", "scroll_lines(1)", "Line down", show=False, priority=True, tooltip="scroll the comparison one line down"),
        Binding("up", "scroll_lines(-1)", "Line up", show=False, priority=True, tooltip="scroll the comparison one line up"),
        Binding("l", "toggle_lang", "中文/EN", tooltip="switch the comparison between English and Chinese"),
    ]
    EXTRA_KEYS = [("left / right", "move between the tools when the tool row has focus"),
                  ("down / up", "scroll the comparison; the tool names stay on top")]

    def compose_body(self) -> ComposeResult:
        a = self.state.answers
        L = SCREEN_LABELS[self.state.lang]
        with Horizontal(id="questions"):
            yield Label(L["setup"], id="q-label")
            yield AsciiCheckbox(L["cloud"], a.platform == "cloud", id="q-cloud", compact=True)
            yield AsciiCheckbox(L["ansible"], a.ansible, id="q-ansible", compact=True)
            yield AsciiCheckbox(L["ha"], a.ha, id="q-ha", compact=True)
        yield Static(id="recommendation")
        with Horizontal(id="tool-row"):
            yield Label(L["use"], id="tool-label")
            rs = RadioSet(id="tool-choice")
            rs.compact = True
            with rs:
                for i, tool in enumerate(TOOL_ORDER, 1):
                    yield AsciiRadio(f"{i} {TOOLS[tool].title}", tool is self.state.tool, id=f"t-{tool.value}")
        yield Static(id="compare-head")
        with VerticalScroll(id="compare-scroll"):
            yield Static(id="compare")

    def on_mount(self) -> None:
        self.refresh_from_state()
        self.query_one("#tool-choice", RadioSet).focus()

    def refresh_from_state(self) -> None:
        s = self.state
        rec = recommend(s.answers)
        L = SCREEN_LABELS[s.lang]
        colon = "：" if s.lang == "zh" else ": "
        also = L["sep"].join(f"{TOOLS[t].title}{colon}{why}" for t, why in rec.also_in(s.lang))
        parts = [
            (L["recommended"], "bold"),
            (TOOLS[rec.tool].title, "bold $success"),
            ("。" if s.lang == "zh" else ". ") + rec.reason_in(s.lang),
        ]
        if also:
            parts.append(("  " + L["also"] + also + L["end"], "$text-muted"))
        if s.tool is not rec.tool:
            parts.append(("  " + L["chose"].format(tool=TOOLS[s.tool].title), "bold $warning"))
        box = self.query_one("#recommendation", Static)
        # wrap to the cells the text really gets (the screen's and the box's padding taken off), or
        # Textual wraps our lines once more and a lone word hangs on a line of its own
        width = box.content_region.width or self.size.width - 4
        box.update(wrap_content(Content.assemble(*parts), width))
        narrow = self.size.width < 100
        box = self.query_one("#compare-scroll", VerticalScroll)
        gutter = box.styles.scrollbar_size_vertical if box.show_vertical_scrollbar else 0
        self.query_one("#compare-head", Static).styles.padding = (0, 1 + gutter, 0, 1)  # columns over the body's
        self.query_one("#compare-head", Static).update(comparison_header(s.tool, rec.tool, narrow=narrow, lang=s.lang))
        table_width = max(0, box.size.width - 2 - gutter)  # the scroll's padding and scrollbar
        self.query_one("#compare", Static).update(
            comparison_table(s.tool, rec.tool, narrow=narrow, lang=s.lang, header=False, width=table_width)
        )
        button = self.query_one(f"#t-{s.tool.value}", RadioButton)
        if not button.value:
            with self.prevent(RadioSet.Changed):
                button.value = True

    def on_resize(self, event) -> None:
        self.refresh_from_state()

    def _answers(self) -> Answers:
        return Answers(
            platform="cloud" if self.query_one("#q-cloud", Checkbox).value else "bare-metal",
            ansible=self.query_one("#q-ansible", Checkbox).value,
            ha=self.query_one("#q-ha", Checkbox).value,
        )

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.state.set_answers(self._answers())
        self.refresh_from_state()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        tool = TOOL_ORDER[event.index]
        if tool is not self.state.tool:
            self.state.set_tool(tool)
        self.refresh_from_state()

    def action_scroll_compare(self, direction: int) -> None:
        box = self.query_one("#compare-scroll", VerticalScroll)
        box.scroll_relative(y=direction * max(3, box.size.height - 2), animate=False)

    def action_scroll_lines(self, lines: int) -> None:
        self.query_one("#compare-scroll", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_toggle_lang(self) -> None:
        self.state.lang = "zh" if self.state.lang == "en" else "en"
        L = SCREEN_LABELS[self.state.lang]
        self.query_one("#q-label", Label).update(L["setup"])
        self.query_one("#tool-label", Label).update(L["use"])
        for wid, label in (("q-cloud", L["cloud"]), ("q-ansible", L["ansible"]), ("q-ha", L["ha"])):
            self.query_one(f"#{wid}", Checkbox).label = label
        self.refresh_from_state()

    def action_toggle(self, wid: str) -> None:
        self.query_one(f"#{wid}", Checkbox).toggle()

    def action_pick(self, index: int) -> None:
        self.state.set_tool(TOOL_ORDER[index])
        self.refresh_from_state()

    def action_use_recommended(self) -> None:
        self.state.set_tool(recommend(self.state.answers).tool)
        self.refresh_from_state()
