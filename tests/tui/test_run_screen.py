"""The run screen (step 5): Pilot tests of what a person does during a run, and its snapshots.

Runs are dry runs of the demo plan (the kubeadm dry-run executor, speed 0 unless a test needs a
run that is still going); ``fail-worker-2`` fails every change it tries, ``slow-*`` hosts take ten
times longer.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import types
from pathlib import Path

import pytest
from textual.widgets import Input, TabbedContent

from k8s_tui.engine.events import EventBus, OutputLine, StepStarted
from k8s_tui.model.hosts import Host, Role
from k8s_tui.screens.run import RunScreen, build_runner, demo_executor
from k8s_tui.screens.summary import SummaryScreen
from k8s_tui.widgets.dialogs import Confirm, HelpScreen
from k8s_tui.widgets.host_log import HostLogView
from k8s_tui.widgets.run_bridge import RunBridge
from tui_helpers import demo_app, settle

SNAP_BASE = Path("/tmp/k8s-tui-snapshots")  # fixed: the log paths shown are part of the picture


async def open_run(pilot, base: Path, *, scope: str = "tuning", speed: float = 0.0, hosts=None,
                   run_id: str = "test-run") -> RunScreen:
    app = pilot.app
    await settle(pilot)
    if hosts is not None:
        app.state.hosts = hosts
    plan = app.state.to_plan()
    runner = build_runner(plan, demo_executor(speed), scope=scope, run_id=run_id, state_base=base)
    screen = RunScreen(runner, demo=True)
    await app.push_screen(screen)
    await settle(pilot)
    return screen


async def wait_for(pilot, cond, timeout: float = 30.0, what: str = "") -> None:
    waited = 0.0
    while not cond():
        await pilot.pause(0.02)
        waited += 0.02
        if waited > timeout:
            raise AssertionError(f"timed out waiting for {what or cond}")
    await settle(pilot)


def slow_hosts() -> list[Host]:
    return [
        Host(name="cp-1", address="192.0.2.10", roles=[Role.control_plane, Role.etcd]),
        Host(name="slow-worker", address="192.0.2.30", roles=[Role.worker]),
    ]


def recorder(runner, name: str):
    """Wrap a runner control so the test sees it called (and it still runs)."""
    calls = []
    real = getattr(runner, name)

    def wrapped(*args):
        calls.append(args)
        return real(*args)

    setattr(runner, name, wrapped)
    return calls


def log_lines(view: HostLogView) -> list[str]:
    return list(view.log_widget.lines)


# ------------------------------------------------------------------------------ the run


async def test_grid_progress_and_failure_panel(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path)
        await wait_for(pilot, screen.waiting, what="the run to wait on the failed host")
        grid = screen.grid
        m = screen.model
        assert [str(grid.get_cell(h, "host")) for h in m.hosts] == ["cp-1", "worker-1", "fail-worker-2", "worker-3"]
        assert [s.id for s in m.steps] == ["facts", "sysctl"]
        assert str(grid.get_cell("fail-worker-2", "state")) == "FAIL"
        assert str(grid.get_cell("fail-worker-2", "sysctl")).startswith("FAIL ")
        assert str(grid.get_cell("cp-1", "sysctl")).startswith("chg ")
        assert str(grid.get_cell("cp-1", "facts")).startswith("ok ")
        done, total = m.progress()
        assert (done, total) == (8, 8)
        failure = str(screen.query_one("#failure").render())
        assert "FAILED fail-worker-2 at sysctl" in failure and "Read-only file system" in failure
        tab = screen.tabs.get_tab(screen.pane_ids["fail-worker-2"])
        assert "FAIL" in tab.label.plain
        status = str(screen.query_one("#run-status").render())
        assert "8/8 steps" in status and "1 failed" in status and "waiting" in status
        # the full log is on disk, and the status line says where
        view = screen.active_view()
        assert view.host is None and "full logs" in view.status_content().plain
        assert (tmp_path / "runs" / "test-run" / "hosts" / "fail-worker-2.log").exists()


async def test_retry_calls_the_runner_and_the_grid_shows_the_new_attempt(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path)
        await wait_for(pilot, screen.waiting)
        calls = recorder(screen.runner, "retry")
        rows = []
        real_action = screen.action_retry
        screen.action_retry = lambda: (rows.append(screen.grid.cursor_row), real_action())
        # keys act in the order typed: the cursor is on fail-worker-2's row when r is handled
        await pilot.press("down", "down", "r")
        await wait_for(pilot, lambda: calls)  # the runner runs on its own thread: the call lands there
        assert rows == [2]
        assert calls == [("fail-worker-2", "sysctl")]
        await wait_for(pilot, lambda: screen.model.cell("fail-worker-2", "sysctl").attempt == 2 and screen.waiting(),
                       what="the second attempt to fail again")
        assert str(screen.grid.get_cell("fail-worker-2", "sysctl")).startswith("FAIL ")
        assert "(attempt 2)" in str(screen.query_one("#failure").render())


async def test_skip_host_calls_the_runner_and_the_run_ends_in_the_summary(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path)
        await wait_for(pilot, screen.waiting)
        calls = recorder(screen.runner, "skip_host")
        await pilot.press("s")
        await wait_for(pilot, lambda: calls)
        assert calls == [("fail-worker-2",)]
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), what="the summary")
        assert screen.model.status == "finished"
        assert str(screen.grid.get_cell("fail-worker-2", "state")) == "skip"
        assert "skip" in screen.tabs.get_tab(screen.pane_ids["fail-worker-2"]).label.plain


async def test_abort_asks_first_then_aborts(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path, scope="full", speed=1.0, hosts=slow_hosts())
        await wait_for(pilot, lambda: screen.model.status == "running")
        calls = recorder(screen.runner, "abort")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        await settle(pilot)
        assert calls == [] and screen.model.active
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("y")
        await wait_for(pilot, lambda: calls)
        assert calls == [()]
        await wait_for(pilot, lambda: not screen.model.active, what="the aborted run to end")
        assert screen.model.status == "aborted"
        assert any(c.status == "skipped" for c in screen.model.cells.values())


async def test_ctrl_c_asks_then_cancels_cleanly(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path, scope="full", speed=1.0, hosts=slow_hosts())
        await wait_for(pilot, lambda: any(c.status == "running" for c in screen.model.cells.values()))
        calls = recorder(screen.runner, "cancel")
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        await settle(pilot)
        assert calls == [] and screen.model.active
        await pilot.press("ctrl+c")
        await settle(pilot)
        await pilot.press("y")
        await wait_for(pilot, lambda: calls)
        assert calls == [()]
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), what="the summary")
        assert screen.model.status == "interrupted"
        assert any(c.interrupted for c in screen.model.cells.values())
        assert "STOP" in {str(screen.grid.get_cell(h, "state")) for h in screen.model.hosts}
        summary = app.screen
        assert "interrupted" in str(summary.query_one("#sum-title").render())
        assert "k8s-tui resume test-run" in str(summary.query_one("#sum-body").render())
        # the journal says so too: the run is over, nothing left running
        assert (tmp_path / "runs" / "test-run" / "summary.json").exists()


async def test_quit_during_a_run_asks_first(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path, scope="full", speed=1.0, hosts=slow_hosts())
        await wait_for(pilot, lambda: screen.model.status == "running")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        await settle(pilot)
        assert screen.model.active and app.is_running
        await pilot.press("ctrl+q")
        await settle(pilot)
        await pilot.press("y")  # cancel the run cleanly, then quit
        await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
    summary = json.loads((tmp_path / "runs" / "test-run" / "summary.json").read_text())
    assert summary["status"] == "interrupted"


async def test_the_whole_wizard_to_the_summary_on_the_dry_run(monkeypatch):
    """tool -> hosts -> tuning -> review -> (next asks) run -> summary, with the keyboard only."""
    monkeypatch.setenv("K8S_TUI_DEMO_SPEED", "0")
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for step in ("hosts", "tuning", "review"):
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert app.screen.STEP == step
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, Confirm)
        assert "kubeadm-init" in str(app.screen.query_one("Static").render())
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        run = app.screen
        await wait_for(pilot, run.waiting, timeout=60, what="the demo run to stop at its failures")
        assert run.model.host_state["fail-worker-2"] == "failed"
        assert run.model.failed_step("fail-worker-2") == "modules"
        assert run.model.cell("worker-1", "kubeadm-join-workers").status == "changed"
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), what="the summary")
        table = app.screen.query_one("#sum-table")
        assert table.row_count == 4


def test_the_palette_reaches_the_run_actions():
    from types import SimpleNamespace

    from k8s_tui.screens.run import RunCommands, StartRunCommands

    screen = RunScreen.__new__(RunScreen)
    names = [n for n, _, _ in RunCommands(screen).commands()]
    for needle in ("retry", "skip", "abort", "cancel", "filter", "wrap", "timestamps", "follow", "mark", "save"):
        assert any(needle in n for n in names), needle
    wizard_screen = SimpleNamespace(app=SimpleNamespace(state=object()))
    assert any("start the run" in n for n, _, _ in StartRunCommands(wizard_screen).commands())
    assert list(StartRunCommands(screen).commands()) == []


# ------------------------------------------------------------------------------ the logs


async def test_follow_mode_pauses_on_scroll_up_counts_new_lines_and_resumes_on_end(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path)
        await wait_for(pilot, screen.waiting)
        bus = screen.runner.bus
        for i in range(3000):
            bus.publish(OutputLine("worker-1", "sysctl", "stdout", f"line {i}"))
        await pilot.press("down")  # the grid: worker-1's row, so its log
        await wait_for(pilot, lambda: screen.visible_host() == "worker-1" and screen.active_view() is not None)
        view = screen.active_view()
        await wait_for(pilot, lambda: view.is_mounted and log_lines(view)[-1:] == ["line 2999"])
        log = view.log_widget
        assert view.follow and log.scroll_y == log.max_scroll_y
        await pilot.press("pageup")
        await settle(pilot)
        assert not view.follow
        # every kept line is there to read while paused, not only the newest screens
        assert len(log_lines(view)) == len(view.store.lines)
        y = log.scroll_y
        for i in range(50):
            bus.publish(OutputLine("worker-1", "sysctl", "stdout", f"more {i}"))
        await wait_for(pilot, lambda: view.new_lines == 50)
        status = view.status_content().plain
        assert "PAUSED +50 new lines" in status
        assert log.scroll_y == y  # the paused log holds still
        await pilot.press("end")
        await settle(pilot)
        assert view.follow and log_lines(view)[-1] == "more 49"
        assert log.scroll_y == log.max_scroll_y
        assert "following" in view.status_content().plain
        # scrolling up with the keys of the log itself pauses too; f follows again
        log.focus()
        await pilot.press("up")
        await settle(pilot)
        assert not view.follow
        await pilot.press("f")
        await settle(pilot)
        assert view.follow


async def test_filter_wrap_timestamps_mark_and_save(tmp_path):
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot, tmp_path)
        await wait_for(pilot, screen.waiting)
        view = screen.active_view()
        retries = recorder(screen.runner, "retry")
        # typed straight after the "/": every letter goes into the box (r is not retry, w not wrap)
        await pilot.press("slash", *"hostname")
        await settle(pilot)
        assert isinstance(app.focused, Input)
        assert view.filter_text == "hostname" and retries == [] and not screen.settings.timestamps
        lines = log_lines(view)
        assert lines and all("hostname" in ln.lower() for ln in lines)
        await pilot.press("enter")
        await settle(pilot)
        assert view.filter_text == "hostname" and not view.filter_open
        assert "filter 'hostname'" in view.status_content().plain
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press("escape")  # esc clears the filter
        await settle(pilot)
        assert view.filter_text == "" and len(log_lines(view)) > len(lines)

        await pilot.press("w")
        await settle(pilot)
        width = view.log_widget.scrollable_content_region.width
        assert screen.settings.wrap and all(len(ln) <= width for ln in log_lines(view))
        await pilot.press("w")
        await pilot.press("t")
        await settle(pilot)
        assert all(ln[2] == ":" and ln[5] == ":" for ln in log_lines(view))
        assert "time" in view.status_content().plain
        await pilot.press("t")

        await pilot.press("m")
        await settle(pilot)
        assert log_lines(view)[-1].startswith("-------- mark ")

        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = list((tmp_path / "runs" / "test-run" / "saved").glob("all-hosts-*.log"))
        assert len(saved) == 1
        assert stat.S_IMODE(os.stat(saved[0]).st_mode) == 0o600
        text = saved[0].read_text()
        assert "fail-worker-2 | --- sysctl: failed" in text and "-------- mark " in text
        assert "saved" in view.status_content().plain


async def test_host_tabs_are_built_when_first_shown(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path)
        await wait_for(pilot, screen.waiting)
        tabs = screen.query_one(TabbedContent)
        assert len(screen.query(HostLogView)) == 1  # all hosts only
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert tabs.active == screen.pane_ids["cp-1"]
        assert len(screen.query(HostLogView)) == 2
        view = screen.active_view()
        assert view.host == "cp-1" and any(ln.startswith("$ uname -r") for ln in log_lines(view))
        assert screen.grid.selected_host == "cp-1"
        await pilot.press("0")
        await settle(pilot)
        assert tabs.active == "log-all"


async def test_help_lists_the_run_keys(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path)
        await wait_for(pilot, screen.waiting)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-body").render())
        for key, what in [("r", "failed step"), ("s", "skipped"), ("a", "nothing new"), ("ctrl+c", "stop the run"),
                          ("/", "only the log lines"), ("w", "wrap"), ("t", "arrived"), ("f", "follow"),
                          ("m", "separator"), ("ctrl+s", "save"), ("end", "follow")]:
            assert any(line.startswith(key) and what in line for line in text.splitlines()), key


# ------------------------------------------------------------------------------ the bridge


def test_bridge_posts_no_message_per_line():
    class Target:
        def __init__(self):
            self.posted = []

        def post_message(self, m):
            self.posted.append(m)
            return True

    bus, target = EventBus(), Target()
    bridge = RunBridge(bus, target, ["a", "b"], max_lines=100)
    for i in range(10_000):
        bus.publish(OutputLine("a" if i % 2 else "b", "s", "stdout", f"\x1b[1mline {i}\x1b[0m\r"))
    assert target.posted == []
    for h in ("a", "b", "a"):
        bus.publish(StepStarted(host=h, step_id="s"))
    assert len(target.posted) == 1  # coalesced until the UI has looked
    bridge.status_seen()
    bus.publish(StepStarted(host="b", step_id="s"))
    assert len(target.posted) == 2
    bridge.drain()
    assert bridge.lines_in == 10_000
    assert len(bridge.store("a").lines) == 100 and bridge.store("a").total == 5_000 + 2
    assert len(bridge.all.lines) == 100


# ------------------------------------------------------------------------------ snapshots


def frozen_clocks(monkeypatch):
    """Durations and the elapsed time read 0.0 s, so the pictures do not depend on the machine."""
    import k8s_tui.engine.runner as runner_mod
    import k8s_tui.screens.run as run_mod

    monkeypatch.setattr(runner_mod, "time", types.SimpleNamespace(monotonic=lambda: 0.0, time=runner_mod.time.time))
    monkeypatch.setattr(run_mod, "monotonic", lambda: 0.0)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_screen_snapshot(snap_compare, monkeypatch, size):
    """The demo's tuning run waiting on its failed host: grid, progress, failure panel, all-hosts log."""
    frozen_clocks(monkeypatch)
    shutil.rmtree(SNAP_BASE, ignore_errors=True)

    async def run_before(pilot):
        screen = await open_run(pilot, SNAP_BASE, run_id="snapshot-run")
        await wait_for(pilot, screen.waiting)
        # how many lines a following log holds depends on how the flushes fell: show them all
        screen.active_view().rebuild(full=True)
        pilot.app.clear_notifications()
        await settle(pilot)

    assert snap_compare(demo_app(), terminal_size=size, run_before=run_before)


def test_run_screen_paused_host_log_snapshot(snap_compare, monkeypatch):
    """One host's log, paused by a scroll up, with the count of lines that came since."""
    frozen_clocks(monkeypatch)
    shutil.rmtree(SNAP_BASE, ignore_errors=True)

    async def run_before(pilot):
        screen = await open_run(pilot, SNAP_BASE, run_id="snapshot-run")
        await wait_for(pilot, screen.waiting)
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: screen.active_view() is not None and screen.active_view().host == "fail-worker-2")
        await pilot.press("pageup")
        for i in range(12):
            screen.runner.bus.publish(OutputLine("fail-worker-2", "sysctl", "stdout", f"late line {i}"))
        view = screen.active_view()
        await wait_for(pilot, lambda: view.new_lines == 12)
        pilot.app.clear_notifications()
        await settle(pilot)

    assert snap_compare(demo_app(), terminal_size=(80, 24), run_before=run_before)
