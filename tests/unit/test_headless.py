"""The headless commands (apply, runs, resume, rollback), called through a local argparse."""

from __future__ import annotations

import argparse
import json

import pytest

from k8s_tui.cli import runs
from k8s_tui.cli.runs import add_commands
from k8s_tui.engine.dryrun import DryRunExecutor
from k8s_tui.engine.journal import list_runs
from k8s_tui.session.executors import ExecutorFactory

PLAN = """\
name: demo
hosts:
  - {name: cp1, address: 10.0.0.1, roles: [control-plane]}
  - {name: w1, address: 10.0.0.2}
tuning:
  net.ipv4.ip_forward: 1
  net.ipv4.tcp_rmem: 4096 87380 6291456
"""


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    d = tmp_path / "state"
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(d))
    monkeypatch.setenv("COLUMNS", "200")
    return d


@pytest.fixture
def plan_file(tmp_path):
    p = tmp_path / "plan.yaml"
    p.write_text(PLAN)
    return p


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="k8s-tui")
    sub = parser.add_subparsers(dest="command", required=True)
    add_commands(sub)
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_the_commands_are_registered():
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    a = parser.parse_args(["apply", "p.yaml", "--yes", "--dry-run", "--follow", "--accept-new-host-keys",
                           "--known-hosts", "kh", "--max-hosts", "5"])
    assert (a.plan, a.yes, a.dry_run, a.follow, a.accept_new_host_keys, a.known_hosts, a.max_hosts) == (
        "p.yaml", True, True, True, True, "kh", 5)
    assert parser.parse_args(["runs"]).func is runs.cmd_runs
    assert parser.parse_args(["resume", "R", "--yes"]).run == "R"
    assert parser.parse_args(["rollback", "R"]).func is runs.cmd_rollback
    with pytest.raises(SystemExit):
        parser.parse_args(["apply", "p.yaml", "--max-hosts", "0"])


def test_apply_dry_run_shows_every_command_and_file_and_changes_nothing(plan_file, state, capsys):
    code = cli("apply", str(plan_file), "--tuning-only", "--dry-run")
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "cp1   facts   ok" in out
    assert "w1    sysctl  changed" in out
    assert "== cp1: 6 command(s), 2 file write(s)" in out and "== w1:" in out
    assert "[sysctl] $ sysctl -p /etc/sysctl.d/90-k8s-tui.conf" in out
    assert "[sysctl] $ sysctl -n net.ipv4.ip_forward net.ipv4.tcp_rmem" in out
    assert "write /etc/sysctl.d/90-k8s-tui.conf (mode 644" in out
    assert "      | net.ipv4.tcp_rmem = 4096 87380 6291456" in out
    assert "nothing was changed" in out
    assert "run " in out and "finished" in out  # the summary table
    (record,) = (state / "runs").iterdir()  # a dry run is recorded, marked, and writes nothing else
    assert json.loads((record / "meta.json").read_text())["dry_run"] is True
    assert [p.name for p in state.iterdir()] == ["runs"]


def test_apply_dry_run_exit_status_is_1_when_a_host_fails(tmp_path, capsys):
    p = tmp_path / "plan.yaml"
    p.write_text(PLAN.replace("name: w1, address: 10.0.0.2", "name: fail-w1, address: 10.0.0.2")
                 + "  # no more\n")
    faults = tmp_path / "faults.yaml"
    faults.write_text("fail-w1: fail\n")
    code = cli("apply", str(p), "--tuning-only", "--dry-run", "--faults", str(faults))
    out, _ = capsys.readouterr()
    assert code == 1
    assert "fail-w1  sysctl  failed" in out
    assert "Read-only file system" in out
    assert "cp1      sysctl  changed" in out


def test_apply_dry_run_unreachable_host(tmp_path, capsys):
    p = tmp_path / "plan.yaml"
    p.write_text(PLAN.replace("name: w1,", "name: unreachable-w1,"))
    faults = tmp_path / "faults.yaml"
    faults.write_text("unreachable-w1: unreachable\n")
    code = cli("apply", str(p), "--tuning-only", "--dry-run", "--faults", str(faults))
    out, _ = capsys.readouterr()
    assert code == 1
    assert "host lost (unreachable)" in out
    assert "hint:" in out


def test_follow_prints_output_lines_prefixed_by_host(plan_file, capsys):
    assert cli("apply", str(plan_file), "--tuning-only", "--dry-run", "--follow") == 0
    out, _ = capsys.readouterr()
    assert "cp1  | $ uname -r" in out
    assert "w1   | 6.1.0-18-amd64" in out
    assert "cp1  | net.ipv4.ip_forward: 0 -> 1" in out


def test_apply_without_yes_and_without_a_terminal_refuses(plan_file, capsys, monkeypatch):
    monkeypatch.setattr(runs, "_isatty", lambda: False)
    assert cli("apply", str(plan_file)) == 2
    _, err = capsys.readouterr()
    assert "pass --yes" in err and "stdin is not a terminal" in err


def test_apply_without_yes_asks_and_no_means_nothing_done(plan_file, capsys, monkeypatch):
    monkeypatch.setattr(runs, "_isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    called = []
    monkeypatch.setattr(ExecutorFactory, "make", lambda self, *a, **kw: called.append(1))
    assert cli("apply", str(plan_file)) == 2
    assert not called
    assert "nothing done" in capsys.readouterr().err


def test_apply_with_a_bad_plan_says_why(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text("hosts:\n  - {name: Bad_Name, address: 10.0.0.1, roles: [control-plane]}\n")
    assert cli("apply", str(p), "--tuning-only", "--dry-run") == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "not a valid node name" in err
    assert cli("apply", str(tmp_path / "missing.yaml"), "--dry-run") == 2


@pytest.fixture
def shared_dry_run(monkeypatch):
    """Real (journaled) runs, on one dry-run executor that keeps the hosts' state across commands."""
    ex = DryRunExecutor(speed=0)
    ex.close = _noop  # type: ignore[method-assign]
    monkeypatch.setattr(runs, "executor_factory", lambda args: ExecutorFactory(custom=lambda plan, **kw: ex))
    return ex


async def _noop():
    return None


def test_runs_resume_and_rollback(plan_file, shared_dry_run, capsys, state):
    ex = shared_dry_run
    assert cli("runs") == 0
    assert "no runs yet" in capsys.readouterr().out

    ex.sim("w1").clamp["net.ipv4.tcp_rmem"] = "4096\t87380\t4194304"  # w1's kernel clamps the max
    assert cli("apply", str(plan_file), "--tuning-only", "--yes") == 1
    out = capsys.readouterr().out
    assert "net.ipv4.tcp_rmem: wanted 4096 87380 6291456, got 4096 87380 4194304" in out
    assert "journal and per-host logs:" in out
    (first,) = list_runs()
    assert (state / "runs" / first.run_id / "hosts" / "w1.log").exists()

    assert cli("runs") == 0
    out = capsys.readouterr().out
    assert first.run_id in out and "1/2" in out and "failed" in out

    ex.sim("w1").clamp.clear()
    assert cli("resume", first.run_id, "--yes") == 0
    out = capsys.readouterr().out
    assert f"resuming {first.run_id}" in out
    assert f"cp1   sysctl  skipped            already done in run {first.run_id} (changed)" in out
    assert "w1    sysctl  changed" in out
    second = list_runs()[-1]
    assert second.resumed_from == first.run_id and second.ok

    assert cli("runs", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in data] == [first.run_id, second.run_id]
    assert data[1]["ok"] is True

    # roll back the first run on cp1 (where it changed things); w1's change came from the resume
    assert ex.sim("cp1").sysctl_get("net.ipv4.ip_forward") == "1"
    assert cli("rollback", first.run_id, "--yes") == 0
    out = capsys.readouterr().out
    assert "cp1   sysctl-rollback  changed" in out
    assert ex.sim("cp1").sysctl_get("net.ipv4.ip_forward") == "0"
    assert "/etc/sysctl.d/90-k8s-tui.conf" not in ex.sim("cp1").files


def test_resume_of_an_unknown_run(capsys):
    assert cli("resume", "20990101-000000-dead", "--yes") == 2
    assert "no run 20990101-000000-dead" in capsys.readouterr().err
    assert cli("rollback", "../etc", "--yes") == 2


def test_resume_refuses_without_yes_off_a_terminal(plan_file, shared_dry_run, capsys, monkeypatch):
    assert cli("apply", str(plan_file), "--tuning-only", "--yes") == 0
    run_id = list_runs()[-1].run_id
    monkeypatch.setattr(runs, "_isatty", lambda: False)
    assert cli("resume", run_id) == 2
    assert "pass --yes" in capsys.readouterr().err
