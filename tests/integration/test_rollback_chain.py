"""Rollback of an interrupted-and-resumed run (issue 14): the resumed run and its original are one
change, restored to the state before the first of them, on the hosts the resume skipped and on
the host whose file the interrupted run had already written; a file that was there comes back
with its content, mode, owner and group, and the report says so. `resume RUN --dry-run` shows,
host by host, what a resume would run and what it skips, and changes nothing.

Real `k8s-tui` processes against SSH test hosts; the first run is held at a gate in front of
`sysctl -p` on one host (tests/integration/_apply_helpers.py) and interrupted there with SIGINT.
"""

from __future__ import annotations

import signal

import pytest

from k8s_tui.cli import main

from tests.integration._apply_helpers import (
    SYSCTL_FILE,
    TUNING,
    backups,
    close_gate,
    finished,
    host_lock,
    live,
    reached,
    remove_gate,
    start_apply,
    the_run,
    wait_for,
    write_plan,
)

pytestmark = pytest.mark.testhosts

OLD_FILE = "# the admin's own file\nnet.core.somaxconn = 1024\n"


def stat(th, path: str) -> str:
    return th.run(["stat", "-c", "%a %U %G", "--", path], check=True).stdout.strip()


def test_rollback_of_a_resumed_run_restores_the_state_before_the_first_run(testhosts3, tmp_path, monkeypatch, capsys):
    hosts = testhosts3
    gated, plain, owned = hosts  # owned: had a 0640 root:adm file of its own before
    owned.run(["sh", "-c", 'mkdir -p /etc/sysctl.d && printf "%s" "$1" > "$2" && chown root:adm "$2" && chmod 0640 "$2" '
                           '&& sysctl -q -p "$2"', "sh", OLD_FILE, SYSCTL_FILE], check=True)
    assert stat(owned, SYSCTL_FILE) == "640 root adm"
    plan = write_plan(tmp_path / "plan.yaml", hosts, name="chain")
    state = tmp_path / "state"
    known = hosts[0].known_hosts
    before = {th.name: live(th) for th in hosts}
    assert before[owned.name]["net.core.somaxconn"] == "1024"

    # 1. the first run: done on two hosts, interrupted (^C) on the third after it wrote the file
    close_gate(gated)
    first = start_apply(plan, state, known)
    try:
        wait_for(lambda: reached(gated) or first.poll() is not None, "the first run to reach the gate")
        assert first.poll() is None, first.communicate()
        run_a = the_run(state)
        for th in (plain, owned):
            wait_for(lambda th=th: finished(state, run_a, th.name, "sysctl"), f"{th.name}'s sysctl step")
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=90)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        remove_gate(gated)
    assert first.returncode == 130, (out, err)
    assert all(host_lock(th) is None for th in hosts)  # ^C released the locks
    assert not list((state / "locks").glob("*.lock"))
    assert gated.path(SYSCTL_FILE).exists()  # the interrupted run wrote it; its values never loaded
    assert live(gated) == before[gated.name]
    assert live(plain) == TUNING and live(owned) == TUNING

    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(state))
    monkeypatch.setenv("COLUMNS", "200")
    capsys.readouterr()

    # 2. what a resume would do, without doing it
    assert main(["resume", run_a, "--dry-run", "--known-hosts", known]) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ") and "to run:" in ln}
    assert "to run: facts (reads again), sysctl" in lines[gated.name], out
    for th in (plain, owned):
        assert f"done, skipped: sysctl (changed in {run_a})" in lines[th.name], out
        assert f"{th.name}  sysctl  skipped" in out  # the dry run did not run it again either
    assert f"{gated.name}  sysctl  changed" in out
    assert live(gated) == before[gated.name]  # a dry run: nothing changed
    for th in hosts:
        assert backups(th) == [run_a]

    # 3. the resume: only the interrupted host's sysctl step runs
    assert main(["resume", run_a, "--yes", "--known-hosts", known]) == 0
    out = capsys.readouterr().out
    run_b = next(ln.split()[1].rstrip(":") for ln in out.splitlines() if ln.startswith("run ") and "resuming" in ln)
    assert live(gated) == TUNING
    assert backups(gated) == sorted([run_a, run_b]) and backups(plain) == [run_a] and backups(owned) == [run_a]

    # 4. rolling back the resumed run rolls back the chain, to before the first run
    assert main(["rollback", run_b, "--yes", "--known-hosts", known]) == 0
    out = capsys.readouterr().out
    assert f"runs {run_a}, {run_b} are one change" in out
    assert out.count(f"(as before run {run_a})") == 3, out  # every host, from the first run's backup
    assert f"restored {SYSCTL_FILE} (0640 root:adm)" in out, out
    for th in hosts:
        assert live(th) == before[th.name], th.name
    for th in (gated, plain):
        assert not th.path(SYSCTL_FILE).exists(), th.name
    assert owned.path(SYSCTL_FILE).read_text() == OLD_FILE
    assert stat(owned, SYSCTL_FILE) == "640 root adm"
    summary_host_lines = [ln for ln in out.splitlines() if ln.startswith(tuple(th.name + " " for th in hosts))]
    assert summary_host_lines and all(" failed " not in ln for ln in summary_host_lines), out

    # a second rollback finds everything as it was
    assert main(["rollback", run_a, "--yes", "--known-hosts", known]) == 0
    out = capsys.readouterr().out
    assert out.count("sysctl-rollback  unchanged") == 3, out
