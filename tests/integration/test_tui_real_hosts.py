"""The wizard against real SSH test hosts, driven with Pilot as a person would: probe the hosts
(their kernels and live sysctl values fill the tuning table), change a value, run the tuning from
the review, and read the values back inside each host's own network namespace.

The plan's tool is kubespray, whose run in this wizard is the host tuning (kubespray itself runs
through `k8s-tui run-tool`), so nothing here needs the kubeadm stand-ins.
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

from k8s_tui.app import make_app
from k8s_tui.engine.executor import ExecOptions
from k8s_tui.engine.ssh import SshExecutor
from k8s_tui.model.plan import ClusterPlan
from k8s_tui.screens.run import RunScreen
from k8s_tui.screens.summary import SummaryScreen
from k8s_tui.widgets.dialogs import Confirm

pytestmark = pytest.mark.testhosts

KEY = "net.core.somaxconn"


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def wait_for(pilot, cond, what: str, timeout: float = 60.0) -> None:
    waited = 0.0
    while not cond():
        await pilot.pause(0.05)
        waited += 0.05
        if waited > timeout:
            raise AssertionError(f"timed out waiting for {what}")
    await pilot.pause()


async def test_probe_tune_and_prepare_real_hosts(testhosts3, tmp_path, monkeypatch):
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path / "state"))
    hosts = testhosts3
    plan = ClusterPlan(
        name="tui-real",
        tool="kubespray",
        hosts=[{"name": h.name, "address": h.address, "user": "root", "key_file": h.key_file,
                "roles": ["control-plane"] if i == 0 else ["worker"]} for i, h in enumerate(hosts)],
    )

    def factory(plan, host_key_prompt=None, secret_prompt=None):
        return SshExecutor(ExecOptions(known_hosts=hosts[0].known_hosts, connect_timeout=10),
                           host_key_prompt=host_key_prompt, secret_prompt=secret_prompt)

    app = make_app(plan, executor_factory=factory, start="hosts")
    app.cursor_blink = False
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # probe: every host answers over SSH with its facts and live values
        await pilot.press("p")
        await wait_for(pilot, lambda: all(app.state.probes.get(h.name) and app.state.probes[h.name].kernel
                                          for h in hosts), "the probe of every host")
        for h in hosts:
            probe = app.state.probes[h.name]
            assert probe.kernel == h.run(["uname", "-r"]).stdout.strip()
            assert str(probe.sysctls.get(KEY)) == h.sysctl(KEY)

        # tuning: the "now" column shows the hosts' value; set ours in place
        await pilot.press("ctrl+n")
        await settle(pilot)
        table = app.screen.query_one("#sysctl-table", DataTable)
        assert str(table.get_cell(KEY, "now")) == hosts[0].sysctl(KEY)
        table.move_cursor(row=table.get_row_index(KEY))
        await settle(pilot)
        await pilot.press("enter")
        app.screen.query_one("#edit-input", Input).value = "16384"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.state.overrides[KEY] == 16384

        # review, then run: next on the review asks first
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        # a run with no failure goes on to the summary by itself
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), "the summary", timeout=120)
        run = next(s for s in app.screen_stack if isinstance(s, RunScreen))
        for h in hosts:
            assert run.model.cell(h.name, "sysctl").status == "changed", run.model.host_state
            assert run.model.host_state[h.name] != "failed"

    for h in hosts:
        assert h.sysctl(KEY) == "16384"
        assert f"{KEY} = 16384" in h.path("/etc/sysctl.d/90-k8s-tui.conf").read_text()
