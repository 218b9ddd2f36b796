"""The run session layer: one executor factory, dry runs that invent nothing and write nothing
outside their record, consumers that break out loud, an engine loop that never blocks its caller.

Journal write errors are real: the journal file is a symlink to /dev/full, where every write
fails with ENOSPC (no root needed). The CLI-level test on a real full tmpfs is in
tests/integration/test_journal_full.py.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import threading
from pathlib import Path

import pytest

from k8s_tui.cli import build_parser, runs
from k8s_tui.engine.dryrun import DryRunExecutor
from k8s_tui.engine.events import EventBus, RunFinished, StepFinished, SubscriberFailed
from k8s_tui.engine.journal import Journal
from k8s_tui.engine.state import run_dir
from k8s_tui.model.plan import load_plan_text
from k8s_tui.session.demo import DEMO_FACTS, demo_plan, demo_probes
from k8s_tui.session.engine_loop import InlineLoop, ThreadLoop
from k8s_tui.session.executors import ExecutorFactory
from k8s_tui.session.run_session import RunSession

PLAN = """\
name: names
tool: kubeadm
preset: kubeadm-minimum
hosts:
  - {name: cp-1, address: 192.0.2.10, user: root, roles: [control-plane]}
  - {name: fail-over-db, address: 192.0.2.11, user: root, roles: [worker]}
  - {name: slow-lane, address: 192.0.2.12, user: root, roles: [worker]}
  - {name: unreachable-lab, address: 192.0.2.13, user: root, roles: [worker]}
"""


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    d = tmp_path / "state"
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(d))
    monkeypatch.setenv("COLUMNS", "200")
    return d


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="k8s-tui")
    sub = parser.add_subparsers(dest="command", required=True)
    runs.add_commands(sub)
    args = parser.parse_args(list(argv))
    return args.func(args)


def files_under(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()}


# ------------------------------------------------------------------------------ dry runs


@pytest.mark.parametrize("scope", ["full", "tuning"])
async def test_host_names_never_decide_a_dry_runs_outcome(scope):
    session = RunSession(load_plan_text(PLAN), ExecutorFactory(mode="dry-run"), scope=scope)
    result = await session.run()
    assert result.status == "finished"
    assert {h: s["status"] for h, s in result.summary.items()} == {
        "cp-1": "changed", "fail-over-db": "changed", "slow-lane": "changed", "unreachable-lab": "changed"}
    assert session.failures == []


def test_cli_dry_run_of_reserved_looking_names_is_clean_and_writes_only_its_record(tmp_path, state, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    # the user's real kubeconfig from an earlier real run of this plan
    kubeconfig = state / "clusters" / "names" / "admin.conf"
    kubeconfig.parent.mkdir(parents=True)
    kubeconfig.write_text("the user's real kubeconfig\n")
    before = files_under(state)

    assert cli("apply", str(plan), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "failed" not in out.split("run ")[-1].split("journal and per-host logs")[0].replace("failed ┃", "")
    assert kubeconfig.read_text() == "the user's real kubeconfig\n"
    (record,) = (state / "runs").iterdir()
    new = files_under(state) - before
    assert new and all(f.startswith(f"runs/{record.name}/") for f in new), sorted(new)
    meta = json.loads((record / "meta.json").read_text())
    assert meta["dry_run"] is True
    # what the verify step would have copied here stays inside the record
    assert (record / "clusters" / "names" / "admin.conf").exists()


def test_faults_are_stated_in_a_file_and_only_with_dry_run(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    faults = tmp_path / "faults.yaml"
    faults.write_text("fail-over-db: {fail: sysctl}\nunreachable-lab: unreachable\n")
    assert cli("apply", str(plan), "--dry-run", "--tuning-only", "--faults", str(faults)) == 1
    out = capsys.readouterr().out
    rows = {ln.split("│")[0].strip(): ln for ln in out.splitlines() if "│" in ln}
    assert "failed" in rows["fail-over-db"] and "sysctl" in rows["fail-over-db"]
    assert "lost" in rows["unreachable-lab"]
    assert "changed" in rows["cp-1"] and "changed" in rows["slow-lane"]
    assert cli("apply", str(plan), "--yes", "--faults", str(faults)) == 2
    assert "--faults states what goes wrong in a dry run" in capsys.readouterr().err


def test_a_dry_runs_record_cannot_be_resumed_or_rolled_back_for_real(tmp_path, state, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    assert cli("apply", str(plan), "--dry-run", "--tuning-only") == 0
    (record,) = (state / "runs").iterdir()
    capsys.readouterr()
    assert cli("resume", record.name, "--yes") == 2
    assert "was a dry run: nothing was changed on any host" in capsys.readouterr().err
    assert cli("rollback", record.name, "--yes") == 2
    assert cli("resume", record.name, "--dry-run") == 0
    capsys.readouterr()
    assert cli("rollback", record.name, "--dry-run") == 0  # says why it restores nothing
    assert "exist only in its own simulation" in capsys.readouterr().out
    assert cli("runs") == 0
    assert "(dry run)" in capsys.readouterr().out


def test_a_dry_resume_of_a_dry_run_sees_what_its_done_steps_left(tmp_path, state, capsys):
    """The whole kubeadm path, dry, with a worker failing at its join: the resume skips init as
    done, yet its verify finds init's admin.conf and the nodes (the dry run's simulated hosts are
    given what the done steps left), as a real resume would; before, it polled an API that could
    never answer for verify's whole ten minutes."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.replace("  - {name: unreachable-lab, address: 192.0.2.13, user: root, roles: [worker]}\n", ""))
    faults = tmp_path / "faults.yaml"
    faults.write_text("fail-over-db: {fail: kubeadm-join-workers}\n")
    assert cli("apply", str(plan), "--dry-run", "--faults", str(faults)) == 1
    (record,) = (state / "runs").iterdir()
    capsys.readouterr()
    assert cli("resume", record.name, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "kubeadm-init" in out and "already done in run" in out
    rows = {ln.split("│")[0].strip(): ln for ln in out.splitlines() if "│" in ln}
    assert all("failed" not in rows[h] for h in ("cp-1", "fail-over-db", "slow-lane")), rows
    assert "kubeconfig:" in out and "verify" not in "".join(ln for ln in out.splitlines() if "failed" in ln)


# ------------------------------------------------------------------------------ the factory


def test_command_line_options_reach_the_wizards_executors():
    args = build_parser().parse_args(["--known-hosts", "/tmp/kh", "--max-hosts", "3", "--accept-new-host-keys"])
    factory = runs.executor_factory(args)
    assert (factory.options.known_hosts, factory.options.max_concurrent_hosts, factory.options.accept_new_host_keys) == (
        "/tmp/kh", 3, True)
    from k8s_tui.app import make_app
    from k8s_tui.engine.ssh import SshExecutor

    app = make_app(load_plan_text(PLAN), executor_factory=factory)
    assert app.executors() is factory
    ex = app.executors().make(None)
    assert isinstance(ex, SshExecutor) and ex.options.known_hosts == "/tmp/kh"
    demo = make_app()  # the demo has its own dry run, with the same options
    assert demo.executors().mode == "demo" and demo.executors().options.max_concurrent_hosts == 64


async def test_the_demos_probe_and_run_see_the_same_kernels():
    """One demo executor for both: the facts a run reads are the ones the probe showed."""
    from k8s_tui.backends.kubeadm.dryrun import KubeadmDryRunExecutor

    factory = ExecutorFactory.demo()
    factory.speed = 0
    session = RunSession(demo_plan(), factory, scope="tuning")
    assert isinstance(session.executor, KubeadmDryRunExecutor)
    kernels: dict[str, str] = {}
    session.bus.subscribe(lambda ev: kernels.__setitem__(ev.host, ev.message) if isinstance(ev, StepFinished) and ev.step_id == "facts" else None)
    await session.run()
    probes = demo_probes()
    for host, facts in DEMO_FACTS.items():
        assert probes[host].kernel == facts["kernel"]
        assert f"kernel {facts['kernel']}" in kernels[host]


async def test_a_dry_resume_of_a_demo_run_sees_the_demos_hosts_again(state, capsys):
    """The demo's summary offers `resume RUN --dry-run`; that resume runs on the demo's made-up
    hosts (Debian 10 on worker-3, its faults too), not on generic ones contradicting the demo."""
    from k8s_tui.session.demo import DEMO_FAULTS

    session = RunSession(demo_plan(), ExecutorFactory(mode="demo", speed=0, faults=DEMO_FAULTS), scope="full")
    await session.run()
    assert json.loads((state / "runs" / session.run_id / "meta.json").read_text())["demo"] is True
    capsys.readouterr()
    code = await asyncio.to_thread(cli, "resume", session.run_id, "--dry-run")
    out = capsys.readouterr().out
    assert code == 1 and "uses the demo's made-up hosts again" in out
    facts = {ln.split()[2]: ln for ln in out.splitlines() if ln.startswith("[") and " facts " in ln}
    assert f"kernel {DEMO_FACTS['worker-3']['kernel']}" in facts["worker-3"]
    assert any(" worker-3 " in ln and "preflight" in ln and "failed" in ln for ln in out.splitlines())


# ------------------------------------------------------------------------------ nothing lost silently


def test_a_broken_subscriber_is_an_event_the_others_hear():
    bus = EventBus()
    heard: list = []

    def broken(ev):
        raise RuntimeError("the printer fell over")

    bus.subscribe(broken, name="printer")
    bus.subscribe(heard.append, name="screen")
    bus.publish(RunFinished(run_id="r", status="finished", summary={}))
    failed = [e for e in heard if isinstance(e, SubscriberFailed)]
    assert len(failed) == 1 and failed[0].name == "printer" and "the printer fell over" in failed[0].error
    assert not failed[0].critical
    bus.publish(RunFinished(run_id="r", status="finished", summary={}))  # dropped: heard once only
    assert len([e for e in heard if isinstance(e, SubscriberFailed)]) == 1


async def test_a_journal_that_cannot_write_stops_the_run_at_a_step_boundary(state):
    plan = load_plan_text(PLAN)
    session = RunSession(plan, ExecutorFactory(mode="dry-run"), scope="tuning")
    d = run_dir(session.run_id)
    d.mkdir(parents=True)
    os.symlink("/dev/full", d / "journal.jsonl")  # every write: ENOSPC
    heard: list = []
    session.bus.subscribe(heard.append, name="test")
    result = await session.run()
    assert result.status == "stopped"
    assert "the journal could not be written" in result.reason and "No space left on device" in result.reason
    (failure,) = [e for e in heard if isinstance(e, SubscriberFailed)]
    assert failure.name == "journal" and failure.critical
    assert "ends with its last complete record" in failure.missing
    assert session.failures == [failure]
    # nothing started after the journal broke: every later step says why it did not run
    skipped = [e for e in heard if isinstance(e, StepFinished) and e.status == "skipped"]
    assert skipped and all("its journal could not be written" in e.message for e in skipped)


async def test_a_journal_that_breaks_on_its_flush_timer_reports_it(tmp_path):
    """Output is flushed on a timer, outside any publish: the journal tells the bus itself."""
    from k8s_tui.engine.events import OutputLine

    j = Journal("r1", tmp_path, flush_interval=0.0)
    bus = EventBus()
    heard: list = []
    bus.subscribe(heard.append, name="screen")
    j.attach(bus)
    j._f.close()
    j._f = open("/dev/full", "a", buffering=1 << 20)  # noqa: SIM115 - closed by the journal
    bus.publish(OutputLine("h", "s", "stdout", "a line"))
    deadline = asyncio.get_running_loop().time() + 30  # fails only a broken journal
    while not any(isinstance(e, SubscriberFailed) for e in heard):  # the timer fires on a later turn
        assert asyncio.get_running_loop().time() < deadline, "the journal never reported its failed flush"
        await asyncio.sleep(0.01)
    (failure,) = [e for e in heard if isinstance(e, SubscriberFailed)]
    assert failure.name == "journal" and "No space left on device" in failure.error
    assert j.error is not None and j.error.errno == errno.ENOSPC
    assert j not in bus.subscribers
    j.close()  # already reported: closing says nothing more


async def test_a_run_that_cannot_open_its_journal_runs_nothing(state):
    state.mkdir(parents=True)
    (state / "runs").write_text("not a folder")
    session = RunSession(load_plan_text(PLAN), ExecutorFactory(mode="dry-run"), scope="tuning")
    from k8s_tui.engine.runner import RunnerError

    with pytest.raises(RunnerError, match="cannot write the run's journal"):
        await session.run()
    assert isinstance(session.executor, DryRunExecutor) and session.executor.calls == []


# ------------------------------------------------------------------------------ the engine loop


async def test_starting_the_engine_thread_returns_before_the_engine_runs():
    go = threading.Event()
    ran = threading.Event()

    async def engine():
        await asyncio.to_thread(go.wait)
        ran.set()
        return 42

    loop = ThreadLoop()
    loop.start(engine)
    assert not ran.is_set()  # start() did not wait for anything the engine does
    go.set()
    await loop.wait()
    assert loop.result == 42 and loop.join(0)


async def test_controls_run_on_the_engines_loop_and_answer_through_a_future():
    where: list = []
    gate = asyncio.Event()

    async def engine():
        where.append(threading.get_ident())
        while not gate.is_set():
            await asyncio.sleep(0.001)

    loop = ThreadLoop()
    loop.start(engine)
    fut = loop.call(lambda: (where.append(threading.get_ident()), "done")[1])
    assert await asyncio.wrap_future(fut) == "done"
    assert where[0] == where[1] != threading.get_ident()
    loop.call(gate.set)
    await loop.wait()
    assert loop.call(lambda: 1).result() is False  # after the end: refused, not hung


async def test_inline_loop_cancel_is_seen_as_cancelled():
    loop = InlineLoop()

    async def engine():
        await asyncio.Event().wait()

    loop.start(engine)
    await asyncio.sleep(0)
    loop.cancel()
    await loop.wait()
    assert isinstance(loop.error, asyncio.CancelledError)
