"""Two runs never change the same hosts at once (issue 14): the plan's lock on this machine and each
host's lock under /var/lib/k8s-tui/locks on the host, taken before anything changes, released at
the end however the run ends; a stale lock is named as stale and broken only with --break-lock.

Each test runs a real `k8s-tui apply` (a separate process) against SSH test hosts and holds it
at a gate in front of `sysctl -p` on one host (tests/integration/_apply_helpers.py), so the
second attempt comes while the first is surely in the middle of changing hosts.
"""

from __future__ import annotations

import json
import signal

import pytest

from k8s_tui.cli import main
from k8s_tui.engine.locks import this_machine

from tests.integration._apply_helpers import (
    TUNING,
    backups,
    close_gate,
    finished,
    gate_pid_alive,
    host_lock,
    live,
    open_gate,
    reached,
    remove_gate,
    start_apply,
    the_run,
    wait_for,
    write_plan,
)

pytestmark = pytest.mark.testhosts


def cli(monkeypatch, state, *argv):
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(state))
    monkeypatch.setenv("COLUMNS", "200")
    return main(list(argv))


def test_a_second_apply_is_refused_with_the_holder_named_and_hosts_change_once(testhosts3, tmp_path, monkeypatch,
                                                                                   capsys):
    hosts = testhosts3
    plan = write_plan(tmp_path / "plan.yaml", hosts)
    state, other_state = tmp_path / "state", tmp_path / "elsewhere"
    known = hosts[0].known_hosts
    before = {th.name: live(th) for th in hosts}
    close_gate(hosts[0])
    first = start_apply(plan, state, known)
    try:
        wait_for(lambda: reached(hosts[0]) or first.poll() is not None, "the first run to reach the gate")
        assert first.poll() is None, first.communicate()
        run_a = the_run(state)
        # every host carries the first run's lock, naming it, this machine and its process
        for th in hosts:
            lock = host_lock(th)
            assert lock and lock["run_id"] == run_a and lock["machine"] == this_machine() and lock["pid"] == first.pid
        capsys.readouterr()

        # the same plan from this machine: refused by the plan's lock, before any host is touched
        assert cli(monkeypatch, state, "apply", str(plan), "--tuning-only", "--yes", "--known-hosts", known) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert f"locked by run {run_a} on {this_machine()} (pid {first.pid}) since " in err, err
        assert "still running" in err and "nothing was run" in err
        assert sorted(d.name for d in (state / "runs").iterdir()) == [run_a]  # no second record

        # the same hosts from a state dir that knows nothing of the first run (another machine's
        # view): each host's own lock stops it at its first step, the holder named; its record says so
        assert cli(monkeypatch, other_state, "apply", str(plan), "--tuning-only", "--yes", "--known-hosts", known) == 1
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        for th in hosts:
            line = next(ln for ln in out.splitlines() if f"] {th.name} " in ln and " facts " in ln)
            assert " failed " in line and "not run on this host: this host (/var/lib/k8s-tui/locks/run.lock) " \
                f"is locked by run {run_a} on {this_machine()} (pid {first.pid})" in line, line
        (other,) = (other_state / "runs").iterdir()
        summary = json.loads((other / "summary.json").read_text())
        assert {h["failed_step"] for h in summary["hosts"].values()} == {"facts"}
        assert all(h["steps"]["sysctl"] == "skipped" for h in summary["hosts"].values())
        # the refused runs changed nothing: the only backups on the hosts are the first run's
        for th in hosts[1:]:  # not gated: they finish their sysctl step
            wait_for(lambda th=th: finished(state, run_a, th.name, "sysctl"), f"{th.name}'s sysctl step")
        for th in hosts:
            assert backups(th) == [run_a], th.name

        open_gate(hosts[0])
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, (out, err)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        remove_gate(hosts[0])

    for th in hosts:
        assert live(th) == TUNING, th.name
        assert backups(th) == [run_a]
        assert host_lock(th) is None  # released at the end
        manifest = json.loads(th.path(f"/var/lib/k8s-tui/backup/{run_a}/sysctl/90-k8s-tui.conf.json").read_text())
        assert manifest["live"] == {k: before[th.name][k] for k in TUNING}
    assert not list((state / "locks").glob("*.lock"))
    # with the locks gone, the next run goes ahead (and finds nothing to change)
    capsys.readouterr()
    assert cli(monkeypatch, state, "apply", str(plan), "--tuning-only", "--yes", "--known-hosts", known) == 0
    assert capsys.readouterr().out.count("sysctl  unchanged") == 3


def test_a_stale_lock_is_reported_and_broken_only_with_break_lock(testhosts3, tmp_path, monkeypatch, capsys):
    hosts = testhosts3
    plan = write_plan(tmp_path / "plan.yaml", hosts, name="stale")
    state = tmp_path / "state"
    known = hosts[0].known_hosts
    close_gate(hosts[0])
    first = start_apply(plan, state, known)
    try:
        wait_for(lambda: reached(hosts[0]) or first.poll() is not None, "the first run to reach the gate")
        assert first.poll() is None, first.communicate()
        run_a = the_run(state)
        first.kill()  # kill -9: nothing of k8s-tui gets to release anything
        first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        remove_gate(hosts[0])  # the orphaned `sysctl -p` on the host may finish now
    wait_for(lambda: not gate_pid_alive(hosts[0]), "the orphaned command on the host to end")
    assert [json.loads(p.read_text())["run_id"] for p in (state / "locks").glob("*.lock")] == [run_a]
    assert all(host_lock(th)["run_id"] == run_a for th in hosts)
    capsys.readouterr()

    assert cli(monkeypatch, state, "apply", str(plan), "--tuning-only", "--yes", "--known-hosts", known) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "has a stale lock" in err and f"run {run_a} on {this_machine()} (pid {first.pid})" in err, err
    assert "is no longer running on this machine" in err and "pass --break-lock to break it" in err
    assert sorted(d.name for d in (state / "runs").iterdir()) == [run_a]
    for th in hosts:
        assert backups(th) == [run_a]

    assert cli(monkeypatch, state, "apply", str(plan), "--tuning-only", "--yes", "--known-hosts", known,
               "--break-lock") == 0
    capsys.readouterr()
    for th in hosts:
        assert live(th) == TUNING
        assert host_lock(th) is None
    assert not list((state / "locks").glob("*.lock"))


def test_sigterm_mid_step_stops_the_remote_command_releases_the_locks_and_exits_143(testhosts3, tmp_path):
    hosts = testhosts3
    plan = write_plan(tmp_path / "plan.yaml", hosts, name="sigterm")
    state = tmp_path / "state"
    close_gate(hosts[0])
    proc = start_apply(plan, state, hosts[0].known_hosts)
    try:
        wait_for(lambda: reached(hosts[0]) or proc.poll() is not None, "the run to reach the gate")
        assert proc.poll() is None, proc.communicate()
        run_a = the_run(state)
        assert gate_pid_alive(hosts[0])
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=90)
        # the remote command was stopped, not left waiting at the gate (still closed)
        wait_for(lambda: not gate_pid_alive(hosts[0]), "the remote command to be gone")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        remove_gate(hosts[0])
    assert proc.returncode == 143, (out, err)
    assert "Traceback" not in err
    assert f"terminated (SIGTERM): the journal of run {run_a} is in" in err
    assert f"`k8s-tui resume {run_a}` continues from the first unfinished step" in err
    step = finished(state, run_a, hosts[0].name, "sysctl")
    assert step and step["status"] == "failed" and step.get("interrupted"), step
    summary = json.loads((state / "runs" / run_a / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    for th in hosts:
        assert host_lock(th) is None
    assert not list((state / "locks").glob("*.lock"))
