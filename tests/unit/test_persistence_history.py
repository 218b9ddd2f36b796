"""The wizard's saved sessions: drafts kept exactly as typed, replaced plans kept in a history,
`k8s-tui --restore`, and an unusable state dir refused up front."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_tui.backends.catalog import Answers
from k8s_tui.cli import main
from k8s_tui.model.hosts import Host
from k8s_tui.model.plan import ClusterPlan, Tool
from k8s_tui.session import persistence as P
from k8s_tui.session.state import WizardState


def worker(name: str = "w1", address: str = "198.18.0.5") -> Host:
    return Host.model_validate({"name": name, "address": address, "roles": ["worker"]})


def state_named(name: str) -> WizardState:
    s = WizardState(ClusterPlan(name=name))
    s.add_host(Host.model_validate({"name": f"{name}-cp", "address": "198.18.0.9", "roles": ["control-plane"]}))
    return s


def test_a_draft_with_only_workers_is_saved_and_read_back_as_typed():
    s = WizardState(ClusterPlan(name="edge"))
    s.set_tool(Tool.kubespray)
    s.set_answers(Answers(platform="cloud", ansible=True, ha=False))
    s.add_host(worker("w1", "198.18.0.5"))
    s.add_host(worker("w2", "198.18.0.6"))
    assert s.set_value("net.core.somaxconn", "8192").ok
    assert s.run_problems() and "control-plane" in s.run_problems()[0]  # not runnable: still saved

    P.save_session(s, "tuning")
    back = P.load_session()
    assert back is not None and back.step == "tuning" and back.id == s.session_id
    again = back.to_state()
    assert [h.name for h in again.hosts] == ["w1", "w2"]
    assert [h.address for h in again.hosts] == ["198.18.0.5", "198.18.0.6"]
    assert again.overrides == {"net.core.somaxconn": 8192}
    assert again.tool is Tool.kubespray and again.tool_chosen
    assert again.answers == Answers(platform="cloud", ansible=True, ha=False)
    assert again.session_id == s.session_id


def test_a_draft_host_that_is_broken_on_disk_is_refused_with_its_place(tmp_path):
    s = WizardState(ClusterPlan(name="edge"))
    s.add_host(worker())
    P.save_session(s, "hosts")
    plan = P.wizard_dir() / "plan.yaml"
    plan.write_text(plan.read_text().replace("198.18.0.5", "not an address!"))
    with pytest.raises(Exception) as e:
        P.load_draft(plan)
    assert "hosts.0" in str(e.value)
    assert P.load_session() is None  # the wizard then starts afresh instead of crashing


def test_saving_another_session_keeps_the_old_one_in_the_history_and_only_the_last_five():
    first = state_named("first")
    P.save_session(first, "hosts")
    assert P.save_session(first, "tuning") is None  # the same session: saved in place
    assert not P.history_dir().exists()

    moved = P.save_session(state_named("second"), "tool")
    assert moved is not None and (moved / "plan.yaml").is_file()
    assert [s.plan.name for s in P.saved_sessions()] == ["second", "first"]

    for i in range(3, 10):
        P.save_session(state_named(f"plan{i}"), "tool")
    names = [s.plan.name for s in P.saved_sessions()]
    assert names[0] == "plan9" and len(names) == 1 + P.KEEP
    assert names[1:] == ["plan8", "plan7", "plan6", "plan5", "plan4"]


def test_restore_brings_a_replaced_plan_back_and_keeps_the_current_one():
    P.save_session(state_named("lab"), "review")
    P.save_session(state_named("scratch"), "tool")
    got = P.restore_session(2)
    assert got.plan.name == "lab" and got.step == "review"
    assert P.load_session().plan.name == "lab"
    assert [s.plan.name for s in P.saved_sessions()] == ["lab", "scratch"]
    with pytest.raises(Exception, match="--restore: there is no saved plan 7"):
        P.restore_session(7)


def test_restore_from_a_full_history_survives_pruning():
    for i in range(1 + P.KEEP + 1):
        P.save_session(state_named(f"p{i}"), "tool")
    oldest = len(P.saved_sessions())
    got = P.restore_session(oldest)  # moving the current one in prunes exactly this one's folder
    assert got.plan.name == "p1" and P.load_session().plan.name == "p1"


def test_cli_restore_lists_the_saved_plans(capsys):
    P.save_session(state_named("lab"), "review")
    P.save_session(state_named("scratch"), "hosts")
    assert main(["--restore"]) == 0
    out = capsys.readouterr().out
    assert "1  'scratch'" in out and "2  'lab'" in out and "history" in out and "--restore N" in out


def test_cli_restore_with_a_bad_number_names_the_option(capsys):
    assert main(["--restore", "3"]) == 2
    assert "--restore: there is no saved plan 3" in capsys.readouterr().err
    assert main(["--restore", "x"]) == 2
    assert "--restore: expected the number" in capsys.readouterr().err


def run_wizard(args: list[str], state: Path) -> subprocess.CompletedProcess:
    """The wizard as a user starts it; it must answer before any screen (the timeout fails a
    wizard that started instead)."""
    env = {**os.environ, "K8S_TUI_STATE_DIR": str(state), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-m", "k8s_tui", *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def test_the_wizard_refuses_a_state_dir_under_a_file_before_starting(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = run_wizard(["--new"], blocker / "state")
    assert done.returncode == 2
    assert "under a file" in done.stderr and "K8S_TUI_STATE_DIR" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_a_state_dir_without_room_is_refused(monkeypatch, capsys):
    import types

    import k8s_tui.app
    from k8s_tui.engine import state as engine_state

    def started(*a, **kw):
        raise AssertionError("the wizard started on a full state dir")

    real = os.statvfs

    def full(path):  # the file system as a full disk shows it: 1 GiB, 8 KiB free
        st = real(path)
        return types.SimpleNamespace(f_bavail=2, f_frsize=4096, f_blocks=(1 << 30) // 4096, f_bsize=st.f_bsize)

    monkeypatch.setattr(k8s_tui.app, "make_app", started)
    monkeypatch.setattr(engine_state.os, "statvfs", full)
    assert main(["--new"]) == 2
    err = capsys.readouterr().err
    assert "8 KiB free" in err and "K8S_TUI_STATE_DIR" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_the_wizard_refuses_a_read_only_state_dir(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        done = run_wizard([], ro)
    finally:
        ro.chmod(0o700)
    assert done.returncode == 2 and "cannot" in done.stderr
