"""The run screen (step 5): Pilot tests of what a person does during a run, and its snapshots.

Runs are ``RunSession``s of the demo plan on the demo's dry run (``ExecutorFactory`` in demo mode,
speed 0 unless a test needs a run that is still going). What goes wrong is stated in a fault plan,
never read from host names: the demo's ``DEMO_FAULTS`` make ``worker-2`` fail every change it
tries; ``SLOW`` makes ``slow-worker`` take ten times longer.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import threading
import types
from pathlib import Path

import pytest
from textual.widgets import Input, TabbedContent

from k8s_tui.app import make_app
from k8s_tui.engine.events import EventBus, OutputLine, StepStarted, SubscriberFailed
from k8s_tui.engine.executor import ExecError, HostKeyInfo
from k8s_tui.engine.faults import Fault, FaultPlan
from k8s_tui.engine.journal import read_journal
from k8s_tui.model.hosts import Host, Role
from k8s_tui.model.plan import ClusterPlan
from k8s_tui.screens.run import RunScreen
from k8s_tui.screens.run_start import start_run
from k8s_tui.screens.summary import SummaryScreen
from k8s_tui.screens.themes import DEFAULT
from k8s_tui.session.demo import DEMO_FAULTS, DEMO_HOSTS, demo_executor
from k8s_tui.session.executors import ExecutorFactory
from k8s_tui.session.run_session import RunSession
from k8s_tui.widgets.dialogs import Confirm, HelpScreen
from k8s_tui.widgets.host_log import HostLogView
from k8s_tui.widgets.hostkey_dialog import HostKeyDialog, TuiPrompts
from k8s_tui.widgets.run_bridge import RunBridge
from tui_helpers import demo_app, settle

SNAP_BASE = Path("/tmp/k8s-tui-snapshots")  # fixed: the log paths shown are part of the picture
SLOW = FaultPlan({"slow-worker": Fault(slow=10.0)})  # for slow_hosts(): a run that is still going


async def open_run(pilot, base: Path, *, scope: str = "tuning", speed: float = 0.0, hosts=None,
                   faults: FaultPlan = DEMO_FAULTS, run_id: str | None = None) -> RunScreen:
    """Show the run of the app's plan as the wizard does (a RunSession on the demo's dry run,
    prompts in dialogs), its records under ``base``. ``run_id`` fixes the run's id (snapshots:
    the id is in the picture); otherwise the session makes its own (``screen.session.run_id``)."""
    app = pilot.app
    await settle(pilot)
    if hosts is not None:
        app.state.hosts = hosts
    plan = app.state.to_plan()
    factory = ExecutorFactory(mode="demo", speed=speed, faults=faults)
    session = RunSession(plan, factory, scope=scope, prompts=TuiPrompts(app), state_base=base, wait_at_end=True,
                         run_id=run_id)
    if run_id:
        assert session.run_id == run_id
    app.sessions.append(session)
    screen = RunScreen(session, demo=True)
    await app.push_screen(screen)
    await settle(pilot)
    return screen


def record(base: Path, screen: RunScreen) -> Path:
    """The run's record (journal, logs) under the state dir ``base``."""
    return base / "runs" / screen.session.run_id


async def publish(pilot, screen: RunScreen, *events) -> None:
    """Publish events on the run's bus from the engine's own loop, where the engine publishes."""
    session = screen.session

    def pub() -> bool:
        for ev in events:
            session.bus.publish(ev)
        return True

    fut = session.loop.call(pub)
    await wait_for(pilot, fut.done, what="the engine's loop to publish")
    assert fut.result() is True, "the engine's loop had ended"


async def wait_for(pilot, cond, timeout: float = 30.0, what: str = "") -> None:
    waited = 0.0
    while not cond():
        await pilot.pause(0.02)
        waited += 0.02
        if waited > timeout:
            raise AssertionError(f"timed out waiting for {what or cond}")
    await settle(pilot)


def slow_hosts() -> list[Host]:
    """Two hosts, run with ``faults=SLOW``: slow-worker's steps take ten times longer."""
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
        assert [str(grid.get_cell(h, "host")) for h in m.hosts] == ["cp-1", "worker-1", "worker-2", "worker-3"]
        assert [s.id for s in m.steps] == ["facts", "sysctl"]
        assert str(grid.get_cell("worker-2", "state")) == "FAIL"
        assert str(grid.get_cell("worker-2", "sysctl")).startswith("FAIL ")
        assert str(grid.get_cell("cp-1", "sysctl")).startswith("chg ")
        assert str(grid.get_cell("cp-1", "facts")).startswith("ok ")
        done, total = m.progress()
        assert (done, total) == (8, 8)
        failure = str(screen.query_one("#failure").render())
        assert "FAILED worker-2 at sysctl" in failure and "Read-only file system" in failure
        tab = screen.tabs.get_tab(screen.pane_ids["worker-2"])
        assert "FAIL" in tab.label.plain
        status = str(screen.query_one("#run-status").render())
        assert "8/8 steps" in status and "1 failed" in status and "waiting" in status
        # the full log is on disk, and the status line says where
        view = screen.active_view()
        assert view.host is None and "full logs" in view.status_content().plain
        assert (record(tmp_path, screen) / "hosts" / "worker-2.log").exists()


async def test_retry_calls_the_runner_and_the_grid_shows_the_new_attempt(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path)
        await wait_for(pilot, screen.waiting)
        calls = recorder(screen.session.runner, "retry")
        rows = []
        real_action = screen.action_retry
        screen.action_retry = lambda: (rows.append(screen.grid.cursor_row), real_action())
        # keys act in the order typed: the cursor is on worker-2's row when r is handled
        await pilot.press("down", "down", "r")
        await wait_for(pilot, lambda: calls)  # the runner runs on its own thread: the call lands there
        assert rows == [2]
        assert calls == [("worker-2", "sysctl")]
        await wait_for(pilot, lambda: screen.model.cell("worker-2", "sysctl").attempt == 2 and screen.waiting(),
                       what="the second attempt to fail again")
        assert str(screen.grid.get_cell("worker-2", "sysctl")).startswith("FAIL ")
        assert "(attempt 2)" in str(screen.query_one("#failure").render())


async def test_skip_host_calls_the_runner_and_the_run_ends_in_the_summary(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path)
        await wait_for(pilot, screen.waiting)
        calls = recorder(screen.session.runner, "skip_host")
        await pilot.press("s")
        await wait_for(pilot, lambda: calls)
        assert calls == [("worker-2",)]
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), what="the summary")
        assert screen.model.status == "finished"
        assert str(screen.grid.get_cell("worker-2", "state")) == "skip"
        assert "skip" in screen.tabs.get_tab(screen.pane_ids["worker-2"]).label.plain


async def test_abort_asks_first_then_aborts(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path, scope="full", speed=1.0, hosts=slow_hosts(), faults=SLOW)
        await wait_for(pilot, lambda: screen.model.status == "running")
        calls = recorder(screen.session.runner, "abort")
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
        screen = await open_run(pilot, tmp_path, scope="full", speed=1.0, hosts=slow_hosts(), faults=SLOW)
        await wait_for(pilot, lambda: any(c.status == "running" for c in screen.model.cells.values()))
        calls = recorder(screen.session.runner, "cancel")
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
        assert f"k8s-tui resume {screen.session.run_id}" in str(summary.query_one("#sum-body").render())
        # the journal says so too: the run is over, nothing left running
        assert (record(tmp_path, screen) / "summary.json").exists()


async def test_quit_during_a_run_asks_first(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path, scope="full", speed=1.0, hosts=slow_hosts(), faults=SLOW)
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
    summary = json.loads((record(tmp_path, screen) / "summary.json").read_text())
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
        assert run.model.host_state["worker-2"] == "failed"
        # DEMO_FAULTS: worker-2 fails its first change, turning off the swap its facts report
        assert run.model.failed_step("worker-2") == "swap"
        # worker-3's made-up Debian 10 and kernel 4.19: preflight refuses it
        assert run.model.failed_step("worker-3") == "preflight"
        assert run.model.cell("worker-1", "kubeadm-join-workers").status == "changed"
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), what="the summary")
        table = app.screen.query_one("#sum-table")
        assert table.row_count == 4


def test_the_palette_reaches_the_run_actions():
    from types import SimpleNamespace

    from k8s_tui.screens.run_palette import RunCommands
    from k8s_tui.screens.run_start import StartRunCommands

    screen = RunScreen.__new__(RunScreen)
    names = [n for n, _, _ in RunCommands(screen).commands()]
    for needle in ("retry", "skip", "abort", "cancel", "filter", "wrap", "timestamps", "follow", "mark", "save"):
        assert any(needle in n for n in names), needle
    wizard_screen = SimpleNamespace(app=SimpleNamespace(state=object()))
    assert any("start the run" in n for n, _, _ in StartRunCommands(wizard_screen).commands())
    assert list(StartRunCommands(screen).commands()) == []


# ------------------------------------------------------------------------------ the engine's thread

FINGERPRINT = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"


def lab_app(executor_factory, names=("cp-1", "worker-1")):
    """The wizard on a plan of demo hosts that is not the demo: its runs use ``executor_factory``
    (a plain callable, as the tests hand it to make_app) and the prompts of the dialogs."""
    plan = ClusterPlan(name="lab", hosts=[h for h in DEMO_HOSTS if h.name in names])
    app = make_app(plan, executor_factory=executor_factory, theme=DEFAULT)
    app.cursor_blink = False
    return app


class StuckExecutor:
    """Every call hangs (a host that never answers). Told to stop, it holds on until the test
    releases it, so the engine provably outlives the app."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.cancelled = threading.Event()
        self.release = threading.Event()
        self.closed = threading.Event()

    async def _hang(self):
        self.entered.set()
        try:
            await asyncio.Event().wait()  # nothing ever sets it
        except asyncio.CancelledError:
            self.cancelled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            raise

    async def run(self, host, argv, **kw):
        return await self._hang()

    async def read_file(self, host, path, **kw):
        return await self._hang()

    async def write_file(self, host, path, content, **kw):
        return await self._hang()

    async def close(self):
        self.closed.set()


async def test_leaving_the_app_mid_run_does_not_wait_for_the_engine():
    made: list[StuckExecutor] = []

    def factory(plan):
        made.append(StuckExecutor())
        return made[-1]

    app = lab_app(factory)
    watchdog = None
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = start_run(app, "tuning")
        assert screen is not None
        session = screen.session
        await wait_for(pilot, lambda: made and made[0].entered.is_set(), what="a host's command to hang")
        assert session.active and app.sessions == [session]
        # if leaving waited for the engine, the app would never return: free it at last, so the
        # test fails (below) instead of hanging
        watchdog = threading.Timer(300, made[0].release.set)
        watchdog.start()
        app.exit()  # leaving the app (as closing the terminal does): no question, nothing waits
    # the app has returned while the engine still runs, held by its executor
    released_by_watchdog = made[0].release.is_set()
    engine_alive = session.active
    made[0].release.set()
    watchdog.cancel()
    assert not released_by_watchdog, "leaving the app waited for the engine"
    assert engine_alive
    # leaving stopped the run: its running step was cancelled, then it ends as interrupted
    assert made[0].cancelled.wait(60)
    assert session.join(60)
    assert made[0].closed.is_set()
    finished = [r for r in read_journal(session.run_id, session.state_base) if r["type"] == "run_finished"]
    assert [r["status"] for r in finished] == ["interrupted"]
    assert session.result is not None and session.result.status == "interrupted"


class AskingExecutor:
    """Asks ``host_key_prompt`` the first time it meets each host (one question at a time), from
    wherever it runs, then answers as the demo's dry run (no faults); a refused key fails the host."""

    def __init__(self, host_key_prompt=None):
        self.host_key_prompt = host_key_prompt
        self.inner = demo_executor(0, faults=FaultPlan())
        self.answers: dict[str, bool] = {}
        self.asked_from: set[str] = set()  # names of the threads the questions came from
        self._lock: asyncio.Lock | None = None

    async def _connect(self, host):
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if host.name not in self.answers:
                self.asked_from.add(threading.current_thread().name)
                info = HostKeyInfo(host.name, host.address, host.port, "ssh-ed25519", FINGERPRINT)
                self.answers[host.name] = await self.host_key_prompt(info)
        if not self.answers[host.name]:
            raise ExecError(host.name, f"host key ssh-ed25519 {FINGERPRINT} was not accepted", kind="hostkey-unknown")

    async def run(self, host, argv, **kw):
        await self._connect(host)
        return await self.inner.run(host, argv, **kw)

    async def read_file(self, host, path, **kw):
        await self._connect(host)
        return await self.inner.read_file(host, path, **kw)

    async def write_file(self, host, path, content, **kw):
        await self._connect(host)
        return await self.inner.write_file(host, path, content, **kw)

    async def close(self):
        await self.inner.close()


async def test_a_host_key_question_from_the_engines_thread_shows_the_dialog_and_the_answer_reaches_the_executor():
    made: list[AskingExecutor] = []

    def factory(plan, host_key_prompt=None):
        made.append(AskingExecutor(host_key_prompt))
        return made[-1]

    app = lab_app(factory)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = start_run(app, "tuning")
        assert screen is not None and screen.engine_thread
        assert isinstance(made[0].host_key_prompt.__self__, TuiPrompts)  # the run screen's prompts
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyDialog), what="the host key dialog")
        dialog = app.screen
        first = dialog.info.host
        shown = {w.id: str(w.render()) for w in dialog.query("Static") if w.id}
        assert shown["hk-host"] == first and shown["hk-fingerprint"] == FINGERPRINT
        assert shown["hk-key-type"] == "ssh-ed25519"
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyDialog) and app.screen.info.host != first,
                       what="the second host's question")
        second = app.screen.info.host
        await pilot.press("r")
        await wait_for(pilot, screen.waiting, what="the run to wait on the refused host")
        ex = made[0]
        assert ex.answers == {first: True, second: False}
        # asked from the engine's own thread, answered in the UI's dialog
        assert ex.asked_from == {"k8s-tui-engine"}
        m = screen.model
        assert m.cell(first, "sysctl").status in ("changed", "unchanged")
        assert m.host_state[second] in ("failed", "lost")
        assert app.screen is screen


async def test_a_broken_journal_shows_in_the_status_line_and_as_an_error(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path)
        await wait_for(pilot, screen.waiting)
        notes: list[tuple[str, str]] = []
        real_notify = app.notify

        def notify(message, *a, **kw):
            notes.append((str(message), kw.get("severity", "information")))
            return real_notify(message, *a, **kw)

        app.notify = notify
        status = screen.query_one("#run-status")
        assert "broke" not in str(status.render())
        await publish(pilot, screen, SubscriberFailed(
            name="journal", error="[Errno 28] No space left on device", critical=True,
            missing="events and output after 12:00:00 are not on disk"))
        await wait_for(pilot, lambda: "journal broke: not all on disk" in str(status.render()),
                       what="the status line to say the journal broke")
        errors = [m for m, sev in notes if sev == "error"]
        assert any("the journal stopped working: [Errno 28] No space left on device" in m
                   and "events and output after 12:00:00 are not on disk" in m for m in errors), notes
        assert [f.name for f in screen.session.failures] == ["journal"]


# ------------------------------------------------------------------------------ the logs


async def test_follow_mode_pauses_on_scroll_up_counts_new_lines_and_resumes_on_end(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, tmp_path)
        await wait_for(pilot, screen.waiting)
        await publish(pilot, screen, *(OutputLine("worker-1", "sysctl", "stdout", f"line {i}") for i in range(3000)))
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
        await publish(pilot, screen, *(OutputLine("worker-1", "sysctl", "stdout", f"more {i}") for i in range(50)))
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
        retries = recorder(screen.session.runner, "retry")
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
        saved = list((record(tmp_path, screen) / "saved").glob("all-hosts-*.log"))
        assert len(saved) == 1
        assert stat.S_IMODE(os.stat(saved[0]).st_mode) == 0o600
        text = saved[0].read_text()
        assert "worker-2 | --- sysctl: failed" in text and "-------- mark " in text
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
        await wait_for(pilot, lambda: screen.active_view() is not None and screen.active_view().host == "worker-2")
        await pilot.press("pageup")
        await publish(pilot, screen, *(OutputLine("worker-2", "sysctl", "stdout", f"late line {i}") for i in range(12)))
        view = screen.active_view()
        await wait_for(pilot, lambda: view.new_lines == 12)
        pilot.app.clear_notifications()
        await settle(pilot)

    assert snap_compare(demo_app(), terminal_size=(80, 24), run_before=run_before)
