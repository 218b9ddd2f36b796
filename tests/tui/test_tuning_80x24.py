"""The tuning step at 80x24 (issue 13, "at home at 80x24"): focus shows on every control, the preset
list is drawn over the table, the edit box sits by its row, the filter takes words, Esc closes the
innermost thing and never steps back, key names get the room, "not read" speaks the panel's
language, a key missing on the oldest kernel has "—" as its default."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Select, Static

from k8s_tui.model.hosts import Host
from k8s_tui.screens.themes import CONTRAST, DEFAULT
from k8s_tui.screens.tuning import TuningScreen, ValueEditor
from k8s_tui.screens.tuning_columns import COLS, fit_widths
from k8s_tui.session.state import HostProbe, NowInfo, TableRow
from k8s_tui.widgets.explain_panel import ExplainPanel

from tui_helpers import demo_app, settle, wait_until

SIZE = (80, 24)


def styles_in(app, widget) -> list[tuple]:
    """What is painted where ``widget`` is on screen: (text, colour, background, bold, reverse) per
    segment, so a test sees what a person sees (not a CSS class). A table: its cursor row."""
    strips = app.screen._compositor.render_strips()
    r = widget.region
    rows = range(r.y, r.bottom)
    if isinstance(widget, DataTable):
        key = str(widget.coordinate_to_cell_key(widget.cursor_coordinate).row_key.value)
        rows = [y for y in rows if key in strips[y].text][:1]
    out = []
    for y in rows:
        for seg in strips[y].crop(r.x, r.right):
            st = seg.style
            out.append((seg.text, st and st.color, st and st.bgcolor, st and st.bold, st and st.reverse))
    return out


def _rgb(c):
    return c.get_truecolor() if c is not None else None


def _cells(segments: list[tuple]) -> list[tuple]:
    return [seg for seg in segments for _ in seg[0]]


def visibly_differs(focused: list[tuple], blurred: list[tuple]) -> bool:
    """Focus a person can see: on most of the control's cells, a style flag (bold, reverse) changes
    or the background moves far (a 5% tint does not count, nor a one-cell text cursor)."""
    a, b = _cells(focused), _cells(blurred)
    assert len(a) == len(b) and a, (len(a), len(b))

    def far(x, y) -> bool:
        if x[3:] != y[3:]:
            return True
        cx, cy = _rgb(x[2]), _rgb(y[2])
        return cx != cy and (cx is None or cy is None or sum((p - q) ** 2 for p, q in zip(cx, cy)) ** 0.5 > 40)

    return sum(far(x, y) for x, y in zip(a, b)) * 2 > len(a)


def strip_text(app, y: int) -> str:
    return app.screen._compositor.render_strips()[y].text


def screen_text(app) -> str:
    return "\n".join(s.text for s in app.screen._compositor.render_strips())


def panel_text(screen) -> str:
    return "\n".join(str(s.render()) for s in screen.query_one(ExplainPanel).query(Static))


async def test_focus_shows_on_every_control_in_both_themes():
    for theme in (DEFAULT, CONTRAST):
        app = demo_app(start="tuning", theme=theme)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = app.screen
            table = screen.query_one("#sysctl-table")
            controls = [screen.query_one("#preset-select"), screen.query_one("#proxy-select"),
                        screen.query_one("#filter"), table]
            blurred = {}
            table.focus()
            await settle(pilot)
            for w in controls[:3]:
                blurred[w.id] = styles_in(app, w)
            screen.query_one("#filter").focus()
            await settle(pilot)
            blurred[table.id] = styles_in(app, table)
            for w in controls:
                w.focus()
                await settle(pilot)
                assert app.focused is w
                assert visibly_differs(styles_in(app, w), blurred[w.id]), f"{theme}: focus on #{w.id} does not show"
            # the buttons at the bottom (compact): focus shows too
            for b in screen.query("Button"):
                if not b.focusable:
                    continue
                table.focus()
                await settle(pilot)
                before = styles_in(app, b)
                b.focus()
                await settle(pilot)
                assert visibly_differs(styles_in(app, b), before), f"{theme}: focus on button {b.label} does not show"


async def test_preset_list_is_drawn_over_the_table_boxed():
    app = demo_app(start="tuning")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        select = screen.query_one("#preset-select", Select)
        select.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: select.expanded, "the preset list to open")
        await settle(pilot)
        titles = [p.title for p in app.state.presets.values()]
        lines = screen_text(app).splitlines()
        # each title on a line of its own inside a box: "│title   │", nothing of a table row mixed in
        boxed = [ln for ln in lines if any(f"│{t}" in ln for t in titles)]
        assert len(boxed) == len(titles), "\n".join(lines)
        for ln in boxed:
            inner = ln.split("│")[1]
            assert inner.strip() in titles, f"a table row shows through the list: {ln!r}"
        await pilot.press("escape")  # Esc closes the list, and only the list
        await wait_until(pilot, lambda: not select.expanded, "Esc to close the list")
        assert isinstance(app.screen, TuningScreen)
        assert app.focused is select


async def test_edit_box_opens_next_to_its_row():
    app = demo_app(start="tuning")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#sysctl-table", DataTable)
        for key in ("net.ipv4.ip_forward", "net.ipv4.conf.default.rp_filter"):
            table.focus()
            table.move_cursor(row=table.get_row_index(key))
            await settle(pilot)
            row_y = next(y for y in range(24) if key in strip_text(app, y) and "=" not in strip_text(app, y))
            await pilot.press("e")
            editor = screen.query_one(ValueEditor)
            await wait_until(pilot, lambda: editor.is_open and editor.region.height > 0, "the edit box")
            await settle(pilot)
            label_y = editor.query_one("#edit-label").region.y
            assert f"{key} = " in strip_text(app, label_y)
            # right under the row (its top border between) or right above it near the bottom
            assert 1 <= label_y - row_y <= 2 or 1 <= row_y - editor.region.bottom + 1 <= 2, (row_y, editor.region)
            assert key in strip_text(app, row_y), "the edited row stays in sight"
            await pilot.press("escape")
            await wait_until(pilot, lambda: not editor.is_open, "Esc to close the edit box")
            assert app.focused is table and isinstance(app.screen, TuningScreen)


async def test_filter_takes_words_and_esc_clears_and_leaves_it():
    app = demo_app(start="tuning")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#sysctl-table", DataTable)
        all_rows = table.row_count
        await pilot.press("slash")
        assert app.focused is screen.query_one("#filter")
        await pilot.press(*"time wait")
        await settle(pilot)
        keys = {str(k.value) for k in table.rows if not str(k.value).startswith("#group:")}
        assert {"net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_tw_reuse"} <= keys, keys
        assert "net.ipv4.ip_forward" not in keys
        await pilot.press("escape")
        await settle(pilot)
        assert screen.query_one("#filter", Input).value == ""
        assert app.focused is table and table.row_count == all_rows
        assert isinstance(app.screen, TuningScreen)
        await pilot.press("escape")  # nothing left to close: Esc still does not step back
        await settle(pilot)
        assert isinstance(app.screen, TuningScreen)


def test_filter_words_ignore_case_and_underscores():
    app = demo_app(start="tuning")
    s = app.state
    for q in ("time wait", "TIME_WAIT", "Time-Wait"):
        keys = [r.key for r in s.rows(q) if r.key]
        assert "net.ipv4.tcp_max_tw_buckets" in keys and "net.ipv4.ip_forward" not in keys, (q, keys)
    assert [r.key for r in s.rows("fin timeout") if r.key] == ["net.ipv4.tcp_fin_timeout"]


def test_key_names_get_the_room_before_values():
    row = TableRow("g", "net.bridge.bridge-nf-call-arptables", NowInfo("mixed", {}), "0", "4096 87380 6291456", "", False)
    widths = fit_widths([row], 80 - 4 - 2 * len(COLS))
    key_w = widths[0]
    assert key_w >= len(row.key) + 2, widths  # whole, with its "* " marker room
    assert widths[1] >= len("mixed") and min(widths[2:4]) >= 7, widths  # "at boot", "Default" whole


async def test_key_names_are_whole_at_80_columns():
    app = demo_app(start="tuning")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "net.bridge.bridge-nf-call-arptables" in text and "net.bridge.~" not in text, text


async def test_not_read_in_the_panel_language_and_one_truth_with_the_probe():
    app = demo_app(start="tuning")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        s = app.state
        s.hosts.append(Host(name="worker-9", address="192.0.2.29"))
        s.probes["worker-9"] = HostProbe(kernel="6.1.0-18-amd64")  # probed ok, no value read
        screen = app.screen
        screen.refresh_from_state()
        s.lang = "zh"
        screen.rebuild(select="net.ipv4.ip_forward")
        await settle(pilot)
        text = panel_text(screen)
        assert "worker-9 未读取" in text and "not read" not in text, text
