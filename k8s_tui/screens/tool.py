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

from ..widgets.toggles import AsciiCheckbox, AsciiRadio

from ..backends.catalog import ASPECTS, TOOLS, Answers, recommend
from ..model.plan import Tool
from .base import WizardScreen

TOOL_ORDER = [Tool.kubeadm, Tool.kubespray, Tool.kubeasz, Tool.kops]


def comparison_table(chosen: Tool, recommended: Tool, *, narrow: bool = False) -> Table:
    """The four tools side by side. Narrow: each aspect's title on a line of its own above the
    row, so the four columns get the whole width."""
    t = Table(box=box.SIMPLE_HEAD, expand=True, show_lines=False, pad_edge=False, padding=(0, 1))
    if not narrow:
        t.add_column("", style="bold", no_wrap=True, width=12)
    for tool in TOOL_ORDER:
        label = TOOLS[tool].title
        if tool is recommended:
            label += " (rec.)"
        style = "bold reverse" if tool is chosen else "bold"
        t.add_column(Text(label, style=style), ratio=1, overflow="fold")
    for attr, title in ASPECTS:
        cells = [getattr(TOOLS[tool], attr) for tool in TOOL_ORDER]
        if narrow:
            t.add_row(Text(title, style="bold underline"), "", "", "")
            t.add_row(*cells, end_section=True)
        else:
            t.add_row(title, *cells, end_section=True)
    return t


class ToolScreen(WizardScreen):
    STEP = "tool"
    TITLE = "1 Tool"
    HELP_TEXT = (
        "Pick how the cluster gets built. Answer the three questions for a recommendation with "
        "its reason, or pick any tool yourself; the table compares all four. Your choice is kept "
        "when you go on and come back."
    )
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
    ]
    EXTRA_KEYS = [("left / right", "move between the tools when the tool row has focus")]

    def compose_body(self) -> ComposeResult:
        a = self.state.answers
        with Horizontal(id="questions"):
            yield Label("Setup:", id="q-label")
            yield AsciiCheckbox("cloud VMs (c)", a.platform == "cloud", id="q-cloud", compact=True)
            yield AsciiCheckbox("use Ansible (a)", a.ansible, id="q-ansible", compact=True)
            yield AsciiCheckbox("HA (h)", a.ha, id="q-ha", compact=True)
        yield Static(id="recommendation")
        with Horizontal(id="tool-row"):
            yield Label("Use:", id="tool-label")
            rs = RadioSet(id="tool-choice")
            rs.compact = True
            with rs:
                for i, tool in enumerate(TOOL_ORDER, 1):
                    yield AsciiRadio(f"{i} {TOOLS[tool].title}", tool is self.state.tool, id=f"t-{tool.value}")
        with VerticalScroll(id="compare-scroll"):
            yield Static(id="compare")

    def on_mount(self) -> None:
        self.refresh_from_state()
        self.query_one("#tool-choice", RadioSet).focus()

    def refresh_from_state(self) -> None:
        s = self.state
        rec = recommend(s.answers)
        also = "; ".join(f"{TOOLS[t].title}: {why}" for t, why in rec.also)
        parts = [
            ("Recommended: ", "bold"),
            (TOOLS[rec.tool].title, "bold $success"),
            ". " + rec.reason,
        ]
        if also:
            parts.append(("  Also fits: " + also + ".", "$text-muted"))
        if s.tool is not rec.tool:
            parts.append((f"  You chose {TOOLS[s.tool].title} (press r for the recommendation).", "bold $warning"))
        self.query_one("#recommendation", Static).update(Content.assemble(*parts))
        self.query_one("#compare", Static).update(comparison_table(s.tool, rec.tool, narrow=self.size.width < 100))
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

    def action_toggle(self, wid: str) -> None:
        self.query_one(f"#{wid}", Checkbox).toggle()

    def action_pick(self, index: int) -> None:
        self.state.set_tool(TOOL_ORDER[index])
        self.refresh_from_state()

    def action_use_recommended(self) -> None:
        self.state.set_tool(recommend(self.state.answers).tool)
        self.refresh_from_state()
