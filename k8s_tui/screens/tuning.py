"""Step 3: the sysctl table, grouped, with the explanation of the highlighted key beside it."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.events import Resize
from textual.widgets import DataTable, Input, Label, Select, Static

from ..knowledge.explain import explain
from ..model.plan import ProxyMode
from ..session.state import TableRow, show
from ..widgets.explain_panel import ExplainPanel
from ..widgets.inputs import FilterInput
from ..widgets.lab_view import LabView
from ..widgets.sysctl_table import SysctlTable
from ..widgets.value_editor import ValueEditor
from ..yamlio import InputError
from .base import WizardScreen
from .tuning_columns import COLS, fit, fit_key, fit_widths
from .tuning_try import TryItMixin

# the words state.now() puts beside a host, in the panel's other language
PER_HOST_ZH = {"not read": "未读取", "not probed": "未探测", "absent": "不存在"}

__all__ = ["SysctlTable", "TuningScreen", "ValueEditor", "fit_widths"]

WIDE = 100  # from this many columns the panel goes beside the table
PANEL_WIDTH = 50  # a 46-column diagram, padding, the scrollbar and the border
PANEL_MODES = ["auto", "beside", "below", "hidden"]
class TuningScreen(TryItMixin, WizardScreen):
    STEP = "tuning"
    TITLE = "3 Tuning"
    HELP_TEXT = (
        "The kernel settings the hosts get: the preset's values with yours on top. Now is the value "
        "on the hosts (- when not probed, mixed when they differ: the panel lists each host). The "
        "panel explains the highlighted key; it is the same text `k8s-tui explain` prints. "
        "Your own values are marked with * and kept when you switch presets. t (ctrl+t while editing) "
        "tries the key in the lab, on this machine as root: the value beside the kernel default."
    )
    BINDINGS = [
        Binding("enter,e", "edit", "Edit", tooltip="edit the highlighted value (Enter accepts, Esc cancels)"),
        Binding("slash", "filter", "Filter", tooltip="filter by key or summary"),
        Binding("s", "focus_preset", "Preset", show=False, tooltip="choose the preset"),
        Binding("t,ctrl+t", "try_it", "Try it", tooltip="run the lab here: value vs kernel default"),
        Binding("l", "toggle_lang", "EN/ZH", tooltip="switch the panel between English and Chinese"),
        Binding("p", "panel_mode", "Panel", show=False, tooltip="panel: auto, beside, below, hidden"),
        Binding("right_square_bracket", "panel_scroll(1)", "Panel down", show=False, tooltip="scroll the panel down"),
        Binding("left_square_bracket", "panel_scroll(-1)", "Panel up", show=False, tooltip="scroll the panel up"),
        Binding("escape", "escape", "Cancel", show=False, tooltip="stop a Try it; never a step back"),
    ]
    EXTRA_KEYS = [
        ("delete / backspace", "reset the highlighted value to the preset's"),
        ("up / down / pgup / pgdn", "move in the table"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.panel_mode = "auto"
        self.filter_text = ""
        self._shown_key: object = None
        self._widths: tuple[int, ...] = ()
        self._typed: object = None
        self._try = None
        self._try_timer = None

    # ---- layout -----------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        s = self.state
        with Horizontal(id="tune-top"):
            yield Label("Preset", classes="top-label")
            yield Select(
                [(p.title, name) for name, p in s.presets.items()],
                value=s.preset if s.preset in s.presets else Select.NULL,
                allow_blank=not s.presets,
                compact=True,
                id="preset-select",
            )
            yield Label("proxy", classes="top-label")
            yield Select([(m.value, m.value) for m in ProxyMode], value=s.proxy_mode.value, allow_blank=False, compact=True, id="proxy-select")
            yield FilterInput(placeholder="/ filter: words in key or summary", id="filter", compact=True)
            yield Static("", id="lang-flag")
        with Horizontal(id="tune-body"):
            with Vertical(id="tune-left"):
                yield SysctlTable(id="sysctl-table", cursor_type="row", zebra_stripes=False)
                yield ValueEditor(id="editor")
            yield ExplainPanel(id="explain")

    def on_mount(self) -> None:
        self.query_one(ExplainPanel).mount(LabView(id="lab-view"), before=0)
        self.apply_layout()
        self.rebuild()
        self.query_one(SysctlTable).focus()

    def on_resize(self, event: Resize) -> None:
        self.apply_layout()

    def apply_layout(self) -> None:
        body = self.query_one("#tune-body")
        mode = self.panel_mode
        beside = mode == "beside" or (mode == "auto" and self.size.width >= WIDE)
        body.set_class(beside and mode != "hidden", "-beside")
        body.set_class(not beside and mode != "hidden", "-below")
        panel = self.query_one(ExplainPanel)
        panel.display = mode != "hidden"
        # beside: wide enough for the TCP diagrams (46 columns) once the screen allows it
        panel.styles.width = (PANEL_WIDTH if self.size.width >= 118 else "40%") if beside else "1fr"
        self.call_after_refresh(self._fit_columns)

    def _fit_columns(self) -> None:
        table = self.query_one(SysctlTable)
        avail = table.size.width - 2  # the vertical scrollbar
        if avail <= 10:
            return
        widths = fit_widths(self.state.rows(), avail - 2 * len(COLS))
        if widths != self._widths:
            self._widths = widths
            self.rebuild()

    # ---- table ------------------------------------------------------------------------------

    def _cells(self, r: TableRow) -> list[Text]:
        kw, vw = (self._widths or (36, 10, 10, 10, 10))[:2]
        if r.key is None:
            return [Text(fit(r.group, kw), style="bold underline"), Text(""), Text(""), Text(""), Text("")]
        assert r.now is not None
        now_style = "bold magenta" if r.now.mixed else ("dim" if r.now.text == "-" else "")
        key_text = Text(("* " if r.changed else "  ") + fit_key(r.key, kw - 2), style="bold yellow" if r.changed else "")
        return [
            key_text,
            Text(fit(r.now.text, vw), style=now_style),
            Text(fit(r.default, vw), style="dim"),
            Text(fit(r.preset, vw)),
            Text(fit(("* " + r.yours) if r.changed else "", vw), style="bold yellow"),
        ]

    def rebuild(self, select: str | None = None) -> None:
        table = self.query_one(SysctlTable)
        keep = select or self.current_key(allow_group=True)
        widths = self._widths or (36, 10, 10, 10, 10)
        table.clear(columns=True)
        for (ckey, label), w in zip(COLS, widths):
            table.add_column(label, key=ckey, width=w)
        rows = self.state.rows(self.filter_text)
        index = 0
        for i, r in enumerate(rows):
            rk = r.key if r.key else f"#group:{r.group}"
            table.add_row(*self._cells(r), key=rk)
            if rk == keep:
                index = i
        if rows:
            if keep is None:
                index = 1 if len(rows) > 1 and rows[0].key is None else 0
            table.move_cursor(row=index, animate=False)
        self._shown_key = object()  # force the panel to redraw
        self.update_panel()
        self.query_one("#lang-flag", Static).update(f" {self.state.lang.upper()} (l)")

    def current_key(self, *, allow_group: bool = False) -> str | None:
        table = self.query_one(SysctlTable)
        if table.row_count == 0:
            return None
        try:
            rk = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None
        if rk and rk.startswith("#group:") and not allow_group:
            return None
        return rk

    def refresh_from_state(self) -> None:
        if self.is_mounted:
            self.rebuild()

    # ---- panel ------------------------------------------------------------------------------

    def _kernel(self):
        ks = list(self.state.kernels().values())
        return min(ks) if ks else None

    def update_panel(self, typed=None) -> None:
        panel = self.query_one(ExplainPanel)
        s = self.state
        rk = self.current_key(allow_group=True)
        if rk is None:
            if s.load_error:
                panel.show_text([Content.styled("The knowledge base did not load:", "bold $error"), s.load_error])
            else:
                panel.show_text(["No key matches the filter." if self.filter_text else "The knowledge base is empty."])
            self._shown_key = None
            return
        if rk.startswith("#group:"):
            group = rk.removeprefix("#group:")
            rows = [r for r in s.rows(self.filter_text) if r.group == group and r.key]
            changed = sum(1 for r in rows if r.changed)
            panel.show_text([
                Content.styled(group, "bold $accent"),
                f"{len(rows)} keys in this group, {changed} with your own value.",
                "Move down to a key to see what it does.",
            ])
            self._shown_key = rk
            return
        state_id = (rk, s.lang, s.preset, s.proxy_mode, repr(typed), repr(s.overrides.get(rk)))
        if state_id == self._shown_key:
            return
        same_key = isinstance(self._shown_key, tuple) and self._shown_key[0] == rk
        self._shown_key = state_id
        final = s.final_values()
        value = typed if typed is not None else final.get(rk)
        context = dict(final)
        if value is not None:
            context[rk] = value
        kernel = self._kernel()
        head = self._head(rk, final, typed)
        try:
            try:
                sections = explain(rk, s.lang, value=value, context=context, kernel=kernel)
            except InputError as e:  # a preset file did not load: explain the key without them
                sections = explain(rk, s.lang, value=value, context=context, kernel=kernel, with_presets=False)
                head = head + [Content.styled(f"presets not shown: {e}", "$error"), Content("")]
        except Exception as e:  # never take the screen down over one key
            panel.show_text(head + [Content.styled(f"explain({rk}) failed: {e}", "$error")])
            return
        preset = s.presets.get(s.preset)
        panel.show(head, sections, current_preset=preset.title if preset else None, keep_scroll=same_key)

    def _head(self, key: str, final: dict, typed) -> list[Content]:
        s = self.state
        now = s.now(key)
        zh = s.lang == "zh"
        preset = s.presets.get(s.preset)
        pv = s.preset_values().get(key)
        lines = []
        label = "主机上的当前值" if zh else "Now on the hosts"
        if not now.per_host:
            lines.append(Content.assemble((label + ": ", "bold"), "-" + (" (没有主机)" if zh else " (no hosts)")))
        elif not now.mixed and now.text != "-" and len(set(now.per_host.values())) == 1:
            n = len(now.per_host)
            lines.append(Content.assemble((label + ": ", "bold"), now.text, f" ({'全部' if zh else 'all'} {n})"))
        else:
            tag = ("mixed", "bold magenta") if now.mixed else (now.text, "bold")
            words = PER_HOST_ZH if zh else {}
            per = ", ".join(f"{h} {words.get(v, v)}" for h, v in now.per_host.items())
            lines.append(Content.assemble((label + ": ", "bold"), tag, " (", per, ")"))
        ptitle = preset.title if preset else "-"
        yours = s.overrides.get(key)
        bits: list = [("预设" if zh else "Preset", "bold"), f" {ptitle}: {show(pv)}"]
        if yours is not None:
            bits += ["   ", ("你的值" if zh else "Yours", "bold"), (f": * {show(yours)}", "bold $warning")]
        if typed is not None:
            bits += ["   ", ("正在编辑" if zh else "Editing", "bold"), f": {show(typed)}"]
        lines.append(Content.assemble(*bits))
        kernel = self._kernel()
        if kernel is not None and len(set(s.kernels().values())) > 1:
            note = f"（下面的数字按最旧的内核 {kernel} 计算）" if zh else f"(numbers below: oldest host kernel, {kernel})"
            lines.append(Content.styled(note, "$text-muted"))
        lines.append(Content(""))
        return lines

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        editor = self.query_one(ValueEditor)
        if editor.is_open and editor.key != self.current_key():
            editor.close()
        if self._try is not None and self._try.key != self.current_key():
            self.stop_try()
        self.update_panel()

    # ---- actions ----------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#sysctl-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def action_edit(self) -> None:
        key = self.current_key()
        if key is None:
            return
        s = self.state
        final = s.final_values()
        text = show(final[key]) if key in final else show(s.entry(key).default)
        editor = self.query_one(ValueEditor)
        editor.open(key, text)
        chk = s.check_edit(key, text)
        editor.show_check(chk)
        self.update_panel(typed=chk.value if chk.ok else None)
        self.call_after_refresh(self._place_editor)

    def _place_editor(self) -> None:
        """Put the edit box next to the edited row (the row's place on screen, under the header)."""
        editor, table = self.query_one(ValueEditor), self.query_one(SysctlTable)
        if not editor.is_open or table.row_count == 0:
            return
        row = table.cursor_row
        top = table.region.y - self.query_one("#tune-left").region.y + table.header_height
        y = top + sum(table.rows[rk].height for rk in list(table.rows)[:row]) - round(table.scroll_y)
        editor.place_by_row(y, y + 1, self.query_one("#tune-left").region.height)

    @on(Input.Changed, "#edit-input")
    def _typed(self, event: Input.Changed) -> None:
        editor = self.query_one(ValueEditor)
        if not editor.is_open:
            return
        chk = self.state.check_edit(editor.key, event.value)
        editor.show_check(chk)
        self.call_after_refresh(self._place_editor)  # the message may have grown or shrunk
        self.update_panel(typed=chk.value if chk.ok else None)

    @on(Input.Submitted, "#edit-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        editor = self.query_one(ValueEditor)
        key = editor.key
        if key is None:
            return
        chk = self.state.set_value(key, event.value)
        if not chk.ok:
            editor.show_check(chk)
            self.app.bell()
            return
        editor.close()
        self.rebuild(select=key)
        self.query_one(SysctlTable).focus()
        self.call_after_refresh(self._fit_columns)  # the Yours column may need room now

    def action_escape(self) -> None:
        # the filter and the edit box take their own Esc (FilterInput, ValueEditor); the Select's
        # open list closes itself; here only a running Try it stops, and Esc never steps back
        if self._try is not None:
            self.stop_try()

    @on(ValueEditor.Escape)
    def _edit_escape(self, event: ValueEditor.Escape) -> None:
        event.stop()
        if self._try is not None:
            self.stop_try()
            return
        self.query_one(ValueEditor).close()
        self._shown_key = object()
        self.update_panel()
        self.query_one(SysctlTable).focus()

    @on(FilterInput.Left)
    def _filter_left(self, event: FilterInput.Left) -> None:
        event.stop()
        self.query_one(SysctlTable).focus()

    def action_reset_value(self) -> None:
        key = self.current_key()
        if key is None:
            return
        if self.state.reset_value(key):
            self.rebuild(select=key)
            self.call_after_refresh(self._fit_columns)
            self.notify(f"{key}: back to the preset's value ({show(self.state.preset_values().get(key))})")

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.rebuild()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(SysctlTable).focus()

    def action_focus_preset(self) -> None:
        self.query_one("#preset-select", Select).focus()

    @on(Select.Changed, "#preset-select")
    def _preset_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or event.value == self.state.preset:
            return
        self.state.set_preset(str(event.value))
        self.rebuild()
        kept = len(self.state.overrides)
        title = self.state.presets[self.state.preset].title
        self.notify(f"preset {title}" + (f"; your {kept} value{'s' if kept != 1 else ''} kept (marked *)" if kept else ""))

    @on(Select.Changed, "#proxy-select")
    def _proxy_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or event.value == self.state.proxy_mode.value:
            return
        self.state.set_proxy_mode(ProxyMode(event.value))
        self.rebuild()

    def action_toggle_lang(self) -> None:
        self.state.lang = "zh" if self.state.lang == "en" else "en"
        self.rebuild()

    def action_panel_mode(self) -> None:
        self.panel_mode = PANEL_MODES[(PANEL_MODES.index(self.panel_mode) + 1) % len(PANEL_MODES)]
        self.apply_layout()
        self.notify(f"panel: {self.panel_mode}")

    def action_panel_scroll(self, direction: int) -> None:
        panel = self.query_one(ExplainPanel)
        panel.scroll_relative(y=direction * max(3, panel.size.height - 2), animate=False)

    def before_leave(self, forward: bool) -> bool:
        self.stop_try()  # leaving the step stops the run; F1 help or the palette on top do not
        return True

    def on_unmount(self) -> None:
        if self._try is not None:
            self._try.cancel()
