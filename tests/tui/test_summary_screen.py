"""The summary (step 6): every host's result and time, join commands and their expiry, the
kubeconfig, where the logs are, what to do next; and its snapshots."""

from __future__ import annotations

import shutil

import pytest
from textual.widgets import DataTable

from k8s_tui.screens.run import RunScreen
from k8s_tui.screens.summary import SummaryScreen
from k8s_tui.session.demo import DEMO_FAULTS
from test_run_screen import SNAP_BASE, frozen_clocks, open_run, record, wait_for
from tui_helpers import demo_app, settle


def body(screen: SummaryScreen) -> str:
    return str(screen.query_one("#sum-body").render())


async def finish_with_failure(pilot, base, **kw) -> tuple[RunScreen, SummaryScreen]:
    """The demo's tuning run, ended with n while worker-2 has failed."""
    run = await open_run(pilot, base, **kw)
    await wait_for(pilot, run.waiting)
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SummaryScreen), what="the summary")
    return run, pilot.app.screen


async def test_summary_shows_every_host_with_result_and_time(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        run, summary = await finish_with_failure(pilot, tmp_path)
        table = summary.query_one("#sum-table", DataTable)
        hosts = [str(table.get_cell(h, "host")) for h in run.model.hosts]
        assert hosts == ["cp-1", "worker-1", "worker-2", "worker-3"]
        results = {h: str(table.get_cell(h, "result")) for h in hosts}
        assert results == {"cp-1": "changed", "worker-1": "changed", "worker-2": "failed", "worker-3": "changed"}
        assert all(str(table.get_cell(h, "time")).endswith("s") for h in hosts)
        rid = run.session.run_id
        title = str(summary.query_one("#sum-title").render())
        assert f"Run {rid} finished" in title and "3 of 4 hosts done" in title
        text = body(summary)
        assert "worker-2 failed at sysctl" in text and "Read-only file system" in text
        assert "no cluster steps in this run" in text
        assert str(record(tmp_path, run)) in text
        assert f"K8S_TUI_STATE_DIR={tmp_path} k8s-tui resume {rid} --dry-run" in text
        assert f"k8s-tui rollback {rid}" in text and "k8s-tui runs" in text


async def test_summary_back_to_the_logs_and_to_a_host(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        run, summary = await finish_with_failure(pilot, tmp_path)
        await pilot.press("l")  # the run's log (Esc never steps back)
        await settle(pilot)
        assert app.screen is run
        await pilot.press("n")  # the run is over: n shows the summary again
        await settle(pilot)
        summary = app.screen
        assert isinstance(summary, SummaryScreen)
        table = summary.query_one("#sum-table", DataTable)
        table.move_cursor(row=2)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is run and run.visible_host() == "worker-2"
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("b")  # back to the wizard: the run and its summary go
        await settle(pilot)
        assert not isinstance(app.screen, (RunScreen, SummaryScreen))


async def test_summary_of_a_cluster_run_has_masked_join_commands_and_the_kubeconfig(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # the hosts the demo lets finish: worker-2 fails by DEMO_FAULTS, and worker-3's made-up
        # facts (Debian 10, kernel 4.19) fail kubeadm's preflight since the demo's run and probe
        # share one executor
        hosts = [h for h in app.state.hosts if DEMO_FAULTS.get(h.name) is None and h.name != "worker-3"]
        assert [h.name for h in hosts] == ["cp-1", "worker-1"]
        run = await open_run(pilot, tmp_path, scope="full", hosts=hosts)
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), timeout=60, what="the cluster run to end")
        summary = app.screen
        assert run.model.status == "finished"
        text = body(summary)
        assert "join workers: expires" in text and "(in 24 h)" in text
        assert "--token " in text and ".****************" in text
        # a dry run's local leftovers (the kubeconfig) stay inside its own run record
        kubeconfig = record(tmp_path, run) / "clusters" / "demo" / "admin.conf"
        assert not (tmp_path / "clusters").exists()
        assert kubeconfig.exists() and f"kubeconfig: {kubeconfig}" in text
        assert f"KUBECONFIG={kubeconfig} kubectl get nodes" in text
        assert "k8s-tui resume" not in text  # every host is done
        await pilot.press("v")
        await settle(pilot)
        shown = body(summary)
        assert ".****************" not in shown
        token = next(w for w in shown.split() if w.count(".") == 1 and len(w) == 23 and w[6] == ".")
        assert len(token.split(".")[1]) == 16


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_summary_snapshot(snap_compare, monkeypatch, size):
    frozen_clocks(monkeypatch)
    shutil.rmtree(SNAP_BASE, ignore_errors=True)

    async def run_before(pilot):
        await finish_with_failure(pilot, SNAP_BASE, run_id="snapshot-run")
        pilot.app.clear_notifications()
        await settle(pilot)

    assert snap_compare(demo_app(), terminal_size=size, run_before=run_before)
