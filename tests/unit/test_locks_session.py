"""The locks through a RunSession (the wizard's run and `apply` alike): a second session of the same
plan is refused with the holder named; a host another run holds runs nothing and its first step
says who holds it; a stale lock is broken only with break_lock, a live holder's never; a dry run
takes none; a run releases its locks at its end. The hosts' locks go through the executor: here the
dry-run executor's simulated hosts (the SSH tests, tests/integration/test_locks.py, use real ones)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from k8s_tui.engine.dryrun import DryRunExecutor
from k8s_tui.engine.locks import HOST_LOCK, Holder, LocalLock, LockHeld, this_machine
from k8s_tui.model.plan import load_plan_text
from k8s_tui.session.executors import ExecutorFactory
from k8s_tui.session.run_session import RunSession

PLAN = """\
name: lock-me
hosts:
  - {name: cp1, address: 192.0.2.10, user: root, roles: [control-plane]}
  - {name: w1, address: 192.0.2.11, user: root, roles: [worker]}
tuning:
  net.core.somaxconn: 8192
"""


async def _noop():
    return None


@pytest.fixture
def ex():
    e = DryRunExecutor(speed=0)
    e.close = _noop  # one simulated set of hosts across sessions
    return e


def session(ex, tmp_path, **kw):
    factory = ExecutorFactory(custom=lambda plan, **_: ex)  # the "ssh" mode: locks are taken
    return RunSession(load_plan_text(PLAN), factory, scope="tuning", state_base=tmp_path, **kw)


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_second_session_is_refused_while_the_first_holds_the_lock(ex, tmp_path):
    first = session(ex, tmp_path)
    holder = Holder.me(first.run_id, "lock-me")
    local = LocalLock("lock-me", holder, tmp_path)
    local.acquire()  # as the first session does when it starts (this process is alive)
    try:
        second = session(ex, tmp_path)
        with pytest.raises(LockHeld) as e:
            asyncio.run(second.run())
        assert f"locked by run {first.run_id} on {this_machine()}" in str(e.value)
        assert "still running" in str(e.value)
        assert not (tmp_path / "runs" / second.run_id / "journal.jsonl").exists()
        assert all(HOST_LOCK not in ex.sim(h).files for h in ("cp1", "w1"))  # took nothing on the hosts
    finally:
        local.release()
    res = asyncio.run(session(ex, tmp_path).run())
    assert res.status == "finished"
    assert not list((tmp_path / "locks").glob("*.lock"))
    assert all(HOST_LOCK not in ex.sim(h).files for h in ("cp1", "w1"))  # released at the end


def refused(result, host: str) -> str:
    """The message of ``host``'s first step when its lock was refused (the host ran nothing)."""
    h = result.summary[host]
    assert h["status"] == "failed" and h["failed_step"] == "facts", h
    assert all(v in ("failed", "skipped") for v in h["steps"].values()), h
    return h["message"]


def test_a_stale_host_lock_needs_break_lock(ex, tmp_path):
    stale = Holder(run_id="20250101-000000-dead", machine=this_machine(), pid=dead_pid(), pid_start="1", since=1.0,
                   plan="lock-me")
    ex.sim("w1").files[HOST_LOCK] = (stale.to_line() + "\n").encode()
    res = asyncio.run(session(ex, tmp_path).run())
    why = refused(res, "w1")
    assert "stale lock" in why and "run 20250101-000000-dead" in why and "--break-lock" in why
    assert res.summary["cp1"]["ok"]  # the other host was free
    assert HOST_LOCK not in ex.sim("cp1").files  # released at the end
    assert json.loads(ex.sim("w1").files[HOST_LOCK])["run_id"] == "20250101-000000-dead"  # not broken
    res = asyncio.run(session(ex, tmp_path, break_lock=True).run())
    assert res.summary["w1"]["ok"]
    assert HOST_LOCK not in ex.sim("w1").files


def test_a_live_holder_is_never_broken(ex, tmp_path):
    live = Holder.me("20250101-000000-live", "lock-me")  # this very process
    ex.sim("cp1").files[HOST_LOCK] = (live.to_line() + "\n").encode()
    res = asyncio.run(session(ex, tmp_path, break_lock=True).run())
    assert "still running" in refused(res, "cp1")
    assert json.loads(ex.sim("cp1").files[HOST_LOCK])["run_id"] == "20250101-000000-live"


def test_a_lock_from_another_machine_is_named_and_broken_on_request(ex, tmp_path):
    other = Holder(run_id="20250101-000000-away", machine="elsewhere.example", pid=1, pid_start="1", since=1.0)
    ex.sim("cp1").files[HOST_LOCK] = (other.to_line() + "\n").encode()
    why = refused(asyncio.run(session(ex, tmp_path).run()), "cp1")
    assert "on elsewhere.example" in why and "cannot tell from here" in why
    res = asyncio.run(session(ex, tmp_path, break_lock=True).run())
    assert res.summary["cp1"]["ok"] and HOST_LOCK not in ex.sim("cp1").files


def test_a_dry_run_takes_no_lock(tmp_path):
    holder = Holder.me("20250101-000000-real", "lock-me")
    local = LocalLock("lock-me", holder, tmp_path)
    local.acquire()
    try:
        s = RunSession(load_plan_text(PLAN), ExecutorFactory(mode="dry-run"), scope="tuning", state_base=tmp_path)
        assert asyncio.run(s.run()).status == "finished"  # changes nothing anywhere: not refused
    finally:
        local.release()
