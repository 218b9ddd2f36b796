"""The Review step's Network tab, driven as a person would: type a bad value (the error names the
field, the plan keeps its value), a good one (plan.yaml shows it), press the China preset (fields
filled, each source shown), and Check reachability (c) in the demo: a host x endpoint table from
the demo's dry run, saying that no request was sent."""

from __future__ import annotations

from textual.widgets import Input, Static

from k8s_tui.widgets.network_form import NetworkForm
from k8s_tui.widgets.reachability_table import ReachabilityTable

from tui_helpers import demo_app, settle, wait_until


def rendered(table: ReachabilityTable) -> str:
    return table.plain_text


async def test_network_tab_fields_preset_and_check():
    app = demo_app(start="review")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        form = app.screen.query_one(NetworkForm)
        repo = form.query_one("#net-image-repository", Input)
        repo.value = "https://registry.example.cn/google_containers"
        await settle(pilot)
        err = form.query_one("#net-image-repository-error", Static)
        assert err.display and "image_repository" in str(err.render()) and "no scheme" in str(err.render())
        assert app.state.base.image_repository is None
        repo.value = "registry.example.cn/google_containers"
        await settle(pilot)
        assert not err.display and app.state.base.image_repository == "registry.example.cn/google_containers"
        assert "image_repository: registry.example.cn/google_containers" in str(app.screen.query_one("#plan-text", Static).render())

        await pilot.click("#net-preset-china-public-mirrors")
        await settle(pilot)
        assert repo.value == "registry.aliyuncs.com/google_containers"
        assert form.query_one("#net-package-repository", Input).value == "https://mirrors.aliyun.com/kubernetes-new/core/stable"
        sources = str(form.query_one("#net-sources", Static).render())
        assert "https://developer.aliyun.com/mirror/kubernetes" in sources and "DaoCloud/public-image-mirror" in sources

        await pilot.press("5")  # the tab's key leaves the focus on the check button
        await pilot.press("c")
        table = form.query_one(ReachabilityTable)
        await wait_until(pilot, lambda: "every host reaches" in rendered(table) or "failed" in rendered(table),
                         "the reachability table", seen=lambda: rendered(table))
        text = rendered(table)
        assert "dry run: no request was sent" in text
        for host in ("cp-1", "worker-1", "worker-2", "worker-3"):
            assert host in text
        assert "registry.aliyuncs.com" in text and "mirror docker.m.daocloud.io (docker.io)" in text


async def test_network_check_mode_is_on_the_tab_and_changes_the_steps():
    """network_check was a plan field the wizard could not set: the tab offers warn / strict / off,
    plan.yaml follows, and the Steps tab gains or loses the reachability stage at once."""
    from textual.widgets import Select

    app = demo_app(start="review")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        steps = app.screen.query_one("#steps-text", Static)
        assert "reachability" in str(steps.render())
        await pilot.press("5")
        await settle(pilot)
        select = app.screen.query_one("#net-network-check", Select)
        assert select.value == "warn"
        select.focus()
        await pilot.press("enter")  # the dropdown opens; down twice reaches "off" (warn, strict, off)
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        await wait_until(pilot, lambda: app.state.base.network_check.value == "off", "network_check off",
                         seen=lambda: app.state.base.network_check.value)
        assert "network_check: off" in str(app.screen.query_one("#plan-text", Static).render())
        assert "reachability" not in str(steps.render())
        select.value = "strict"
        await settle(pilot)
        assert app.state.base.network_check.value == "strict"
        assert "network_check: strict" in str(app.screen.query_one("#plan-text", Static).render())
        assert "reachability" in str(steps.render())
