"""Pilot tests: what a person does on each screen, and what they see."""

from __future__ import annotations

import pytest
from textual.widgets import Checkbox, DataTable, Input, Select, Static

from k8s_tui.model.plan import Tool, load_plan
from k8s_tui.screens.tuning import TuningScreen, ValueEditor
from k8s_tui.widgets.dialogs import HelpScreen, PathPrompt
from k8s_tui.widgets.explain_panel import ExplainPanel
from k8s_tui.widgets.host_form import HostForm

from tui_helpers import demo_app, settle


def text_of(widget: Static) -> str:
    return str(widget.render())


def bounded_int_key(state) -> str:
    for e in state.catalogue:
        if e.type.value == "int" and e.max is not None and e.max < 2**31 - 1 and e.key not in state.preset_values():
            return e.key
    pytest.skip("no bounded int key")


async def goto_key(pilot, key: str) -> DataTable:
    table = pilot.app.screen.query_one("#sysctl-table", DataTable)
    table.move_cursor(row=table.get_row_index(key))
    await settle(pilot)
    return table


def panel_text(screen) -> str:
    panel = screen.query_one(ExplainPanel)
    return "\n".join(text_of(s) for s in panel.query(Static))


async def test_bad_value_shows_rule_and_keeps_old_value():
    app = demo_app(start="tuning")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        state = app.state
        key = bounded_int_key(state)
        entry = state.entry(key)
        table = await goto_key(pilot, key)
        before = str(table.get_cell(key, "yours"))
        await pilot.press("enter")
        editor = app.screen.query_one(ValueEditor)
        assert editor.is_open and editor.key == key
        inp = editor.query_one(Input)
        inp.value = str(entry.max + 1)
        await settle(pilot)
        msg = text_of(editor.query_one("#edit-msg", Static))
        assert "rule:" in msg and "outside the allowed range" in msg
        await pilot.press("enter")  # refused: stays open, nothing changes
        await settle(pilot)
        assert editor.is_open
        assert key not in state.overrides
        await pilot.press("escape")
        await settle(pilot)
        assert not editor.is_open
        assert str(table.get_cell(key, "yours")) == before
        assert key not in state.overrides


async def test_good_value_marks_row_changed_and_panel_recomputes():
    app = demo_app(start="tuning")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        key = bounded_int_key(app.state)
        value = app.state.entry(key).min
        table = await goto_key(pilot, key)
        await pilot.press("enter")
        inp = app.screen.query_one("#edit-input", Input)
        inp.value = str(value)
        await settle(pilot)
        assert f"Editing: {value}" in panel_text(app.screen)
        await pilot.press("enter")
        await settle(pilot)
        assert app.state.overrides[key] == value
        assert str(table.get_cell(key, "yours")) == f"* {value}"
        assert str(table.get_cell(key, "key")).startswith("* ")
        # delete resets to the preset
        await pilot.press("delete")
        await settle(pilot)
        assert key not in app.state.overrides
        assert str(table.get_cell(key, "yours")) == ""


async def test_preset_switch_changes_column_and_keeps_overrides():
    app = demo_app(start="tuning")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        state = app.state
        key = bounded_int_key(state)
        assert state.set_value(key, str(state.entry(key).min)).ok
        app.screen.rebuild()
        # a key two presets set differently
        names = list(state.presets)
        target = next(n for n in names if n != state.preset and state.presets[n].resolve(state.proxy_mode.value).values)
        pkey = next(iter(state.presets[target].resolve(state.proxy_mode.value).values))
        app.screen.query_one("#preset-select", Select).value = target
        await settle(pilot)
        assert state.preset == target
        table = app.screen.query_one("#sysctl-table", DataTable)
        expected = state.presets[target].resolve(state.proxy_mode.value).values[pkey]
        from k8s_tui.session.state import show

        assert str(table.get_cell(pkey, "preset")).rstrip("~") in show(expected)
        assert str(table.get_cell(key, "yours")) == f"* {state.entry(key).min}"


async def test_filter_with_slash():
    app = demo_app(start="tuning")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        key = next(iter(app.state.catalogue)).key
        await pilot.press("slash")
        assert app.focused is app.screen.query_one("#filter", Input)
        await pilot.press(*key)
        await settle(pilot)
        table = app.screen.query_one("#sysctl-table", DataTable)
        keys = [rk.value for rk in table.rows]
        assert key in keys
        assert all(k == key or k.startswith("#group:") or key in k for k in keys)
        await pilot.press("enter")
        assert app.focused is table
        app.screen.query_one("#filter", Input).value = "zzz-nothing"
        await settle(pilot)
        assert table.row_count == 0
        assert "No key matches" in panel_text(app.screen)


async def test_language_switch():
    app = demo_app(start="tuning")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        key = next(iter(app.state.catalogue)).key
        await goto_key(pilot, key)
        en = app.state.entry(key).words("en").summary
        zh = app.state.entry(key).words("zh").summary
        assert en[:20] in panel_text(app.screen).replace("\n", " ")
        await pilot.press("l")
        await settle(pilot)
        assert app.state.lang == "zh"
        assert zh[:6] in panel_text(app.screen).replace("\n", "")
        assert "ZH" in text_of(app.screen.query_one("#lang-flag", Static))
        await pilot.press("l")
        await settle(pilot)
        assert app.state.lang == "en"


async def test_mixed_value_lists_every_host():
    app = demo_app(start="tuning")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        key = next(e.key for e in app.state.catalogue if app.state.now(e.key).mixed)
        table = await goto_key(pilot, key)
        assert str(table.get_cell(key, "now")) == "mixed"
        text = panel_text(app.screen)
        for host in app.state.host_names():
            assert host in text


async def test_back_and_next_keep_state():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.STEP == "tool"
        await pilot.press("3")  # kubeasz
        await pilot.press("a")  # "we use Ansible"
        await settle(pilot)
        assert app.state.tool is Tool.kubeasz
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen.STEP == "hosts"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen.STEP == "tuning"
        key = bounded_int_key(app.state)
        await goto_key(pilot, key)
        await pilot.press("enter")
        app.screen.query_one("#edit-input", Input).value = str(app.state.entry(key).min)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+b", "ctrl+b")
        await settle(pilot)
        assert app.screen.STEP == "tool"
        assert app.screen.query_one("#q-ansible", Checkbox).value is True
        assert app.screen.query_one("#t-kubeasz").value is True
        await pilot.press("ctrl+n", "ctrl+n")
        await settle(pilot)
        table = app.screen.query_one("#sysctl-table", DataTable)
        assert str(table.get_cell(key, "yours")) == f"* {app.state.entry(key).min}"
        await pilot.click("#nav-next")
        await settle(pilot)
        assert app.screen.STEP == "review"


async def test_tool_questions_recommend():
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        rec = text_of(app.screen.query_one("#recommendation", Static))
        assert rec.startswith("Recommended: kops")
        assert app.state.tool is Tool.kops
        await pilot.press("1")
        await settle(pilot)
        assert "You chose kubeadm" in text_of(app.screen.query_one("#recommendation", Static))
        await pilot.press("r")
        assert app.state.tool is Tool.kops


async def test_host_form_validates_as_you_type():
    app = demo_app(start="hosts")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        n = len(app.state.hosts)
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, HostForm)
        await pilot.press(*"Bad_Name")
        await settle(pilot)
        err = text_of(form.query_one("#e-name", Static))
        assert err.startswith("name:") and "RFC 1123" in err
        assert form.query_one("#form-save").disabled
        form.query_one("#f-name", Input).value = "cp-1"
        await settle(pilot)
        assert "already used" in text_of(form.query_one("#e-name", Static))
        form.query_one("#f-name", Input).value = "worker-9"
        form.query_one("#f-address", Input).value = "192.0.2.99"
        form.query_one("#f-port", Input).value = "99999"
        await settle(pilot)
        assert text_of(form.query_one("#e-port", Static)).startswith("port:")
        form.query_one("#f-port", Input).value = "22"
        await settle(pilot)
        assert not form.query_one("#form-save").disabled
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, HostForm)
        assert len(app.state.hosts) == n + 1
        table = app.screen.query_one("#hosts-table", DataTable)
        assert "worker-9" in [rk.value for rk in table.rows]


async def test_edit_and_remove_host():
    app = demo_app(start="hosts")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, HostForm)
        assert form.query_one("#f-name", Input).value == "cp-1"
        form.query_one("#f-user", Input).value = "ops"
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.state.hosts[0].user == "ops"
        await pilot.press("down", "d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "worker-1" not in app.state.host_names()


async def test_review_shows_diff_and_saves_plan(tmp_path):
    app = demo_app(start="review")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # worker-2 has ip_forward 0 in the demo; every preset but kernel defaults sets it to 1
        app.screen.query_one("#host-select", Select).value = "worker-2"
        await settle(pilot)
        table = app.screen.query_one("#diff-table", DataTable)
        rows = {rk.value for rk in table.rows}
        assert rows == set(app.state.final_values())
        diff = {r.key: r for r in app.state.host_diff("worker-2")}
        changed = [k for k, r in diff.items() if r.status == "change"]
        assert changed
        k = changed[0]
        assert str(table.get_cell(k, "st")) == "~"
        assert str(table.get_cell(k, "change")) == f"{diff[k].now} -> {diff[k].new}"
        assert "to change" in text_of(app.screen.query_one("#review-summary", Static))
        await pilot.press("2")
        assert "/etc/sysctl.d/" in text_of(app.screen.query_one("#file-text", Static))
        await pilot.press("s")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, PathPrompt)
        target = tmp_path / "my-plan.yaml"
        prompt.query_one(Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        plan = load_plan(target)
        assert [h.name for h in plan.hosts] == app.state.host_names()
        assert dict(plan.tuning.values) == app.state.final_values()


async def test_export_writes_plan_and_files(tmp_path):
    app = demo_app(start="review")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        app.screen.query_one(Input).value = str(tmp_path / "export")
        await pilot.press("enter")
        await settle(pilot)
        assert (tmp_path / "export" / "plan.yaml").is_file()
        for name in app.state.host_names():
            assert (tmp_path / "export" / "hosts" / name / app.state.base.sysctl_file).is_file()


async def test_f1_help_lists_screen_keys():
    app = demo_app(start="tuning")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        body = text_of(app.screen.query_one("#help-body", Static))
        for needle in ("enter / e", "/  ", "ctrl+n", "delete / backspace", "switch the panel between English and Chinese"):
            assert needle in body
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TuningScreen)


async def test_command_palette_reaches_actions():
    from k8s_tui.screens.commands import WizardCommands

    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        provider = WizardCommands(app.screen)
        names = [name for name, _, _ in provider.commands()]
        for needle in ("Go to 3 Tuning", "Review: save plan.yaml", "Hosts: add a host", "Tuning: switch language English / Chinese"):
            assert needle in names
        cmd = dict((n, c) for n, c, _ in provider.commands())
        cmd["Tuning: switch language English / Chinese"]()
        await settle(pilot, 5)
        assert app.screen.STEP == "tuning"
        assert app.state.lang == "zh"
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"go to 2")
        await settle(pilot, 6)
        await pilot.press("enter")
        await settle(pilot, 5)
        assert app.screen.STEP == "hosts"


async def test_panel_follows_layout():
    app = demo_app(start="tuning")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        body = app.screen.query_one("#tune-body")
        assert body.has_class("-below")
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert body.has_class("-beside")
        await pilot.press("p", "p", "p")  # beside, below, hidden
        await settle(pilot)
        assert not app.screen.query_one(ExplainPanel).display


async def test_no_emoji_anywhere():
    """Every screen's text stays in ASCII plus box drawing (and Chinese in the zh panel)."""
    import unicodedata

    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for step in ("tool", "hosts", "tuning", "review"):
            app.action_goto(step)
            await settle(pilot)
            for ch in set(app.export_screenshot()):
                cat = unicodedata.category(ch)
                assert not (cat == "So" and ord(ch) > 0x2BFF), f"{step}: symbol {ch!r} U+{ord(ch):04X}"


async def test_empty_plan_walks_every_screen():
    """A plan with no hosts (not the demo): nothing probed, "-" everywhere."""
    from k8s_tui.app import make_app
    from k8s_tui.model.plan import ClusterPlan

    app = make_app(ClusterPlan(), theme="textual-dark")
    app.cursor_blink = False
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.state.demo
        for step in ("hosts", "tuning", "review"):
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert app.screen.STEP == step
        assert "no hosts" in text_of(app.screen.query_one("#review-summary", Static))
        problem = app.screen.query_one("#review-problem", Static)
        assert problem.display is False or "not valid" in text_of(problem)
        await pilot.press("s")  # a plan without hosts is still a valid plan (kops makes its own machines)
        await settle(pilot)
        assert isinstance(app.screen, PathPrompt)
        await pilot.press("escape")
        await settle(pilot)
        app.action_goto("tuning")
        await settle(pilot)
        table = app.screen.query_one("#sysctl-table", DataTable)
        key = next(iter(app.state.catalogue)).key
        assert str(table.get_cell(key, "now")) == "-"


def test_make_app_without_plan_is_the_demo():
    from k8s_tui.app import make_app

    app = make_app()
    assert app.state.demo and "worker-2" in app.state.host_names()


async def test_command_palette_has_no_emoji():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot, 5)
        shot = app.export_screenshot()
        assert "\U0001f50e" not in shot
