"""Runner semantics on the dry-run executor: stages, barriers, targets, serial, controls, resume."""

from __future__ import annotations

import asyncio
import itertools
import os

import pytest

from k8s_tui.engine.dryrun import DryRunExecutor
from k8s_tui.engine.events import HostLost, OutputLine, RunFinished, StepFinished, StepsPlanned
from k8s_tui.engine.executor import ExecOptions
from k8s_tui.engine.faults import Fault, FaultPlan
from k8s_tui.engine.journal import read_journal
from k8s_tui.engine.runner import Runner, RunnerError, RunPlan, Stage
from k8s_tui.engine.steps import Step, StepFailed
from k8s_tui.model.hosts import Host, Role


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    d = tmp_path / "state"
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(d))
    return d


def hosts(*names: str) -> list[Host]:
    out = []
    for i, n in enumerate(names):
        roles = [Role.control_plane] if n.startswith("cp") else [Role.worker]
        out.append(Host(name=n, address=f"10.0.0.{i + 1}", roles=roles))
    return out


# No test here measures time: order is a sequence number, overlap is a count of hosts inside a
# step, and a wait that could hang is bounded by GUARD (hitting it fails the test).
GUARD = 20
_seq = itertools.count()


async def yields(n=50):
    """Let every other ready task run for a while, without any wall-clock wait."""
    for _ in range(n):
        await asyncio.sleep(0)


class Gate:
    """What a Rec step awaits between its start and its end, with the hosts inside it counted."""

    def __init__(self, wait=None):
        self.wait = wait  # async (host name) -> None; None = pass straight through
        self.inside: set[str] = set()
        self.peak = 0
        self.entered: list[str] = []

    async def __call__(self, name):
        self.inside.add(name)
        self.entered.append(name)
        self.peak = max(self.peak, len(self.inside))
        try:
            if self.wait is not None:
                await self.wait(name)
        finally:
            self.inside.discard(name)


def all_inside(n):
    """A barrier: each host waits until n hosts have come in (a runner that ran them one at a
    time would never open it, and the GUARD timeout would fail the test)."""
    came, opened = set(), asyncio.Event()

    async def wait(name):
        came.add(name)
        if len(came) >= n:
            opened.set()
        await opened.wait()

    return wait


def forever(started: asyncio.Event | None = None):
    """The step says it is running, then waits for something that never happens."""
    never = asyncio.Event()

    async def wait(name):
        if started is not None:
            started.set()
        await never.wait()

    return wait


class Rec(Step):
    """Records start/end per host (with a sequence number), runs one command, waits at its gate,
    fails where told."""

    def __init__(self, step_id, log, *, targets="all", serial=False, gate=None, fail=(), fail_times=None, check_true=()):
        self.id = step_id
        self.title = step_id
        self.why = f"test step {step_id}"
        self.targets = targets
        self.serial = serial
        self.log = log
        self.gate = gate
        self.fail = set(fail)
        self.fail_times = dict(fail_times or {})  # host -> how many attempts fail
        self.check_true = set(check_true)

    async def check(self, ctx):
        return ctx.host.name in self.check_true

    async def apply(self, ctx):
        name = ctx.host.name
        self.log.append(("start", self.id, name, next(_seq)))
        await ctx.run(["echo", self.id])
        if self.gate is not None:
            await self.gate(name)
        self.log.append(("end", self.id, name, next(_seq)))
        if name in self.fail:
            raise StepFailed(f"{self.id} broke on {name}", "fix it")
        left = self.fail_times.get(name, 0)
        if left:
            self.fail_times[name] = left - 1
            raise StepFailed(f"{self.id} failed once on {name}")
        return None


def finished(events, host=None, step=None):
    return [e for e in events if isinstance(e, StepFinished) and (host is None or e.host == host) and (step is None or e.step_id == step)]


async def run(run_plan, hs, *, executor=None, events=None, **kw) -> tuple[Runner, RunFinished, list]:
    events = [] if events is None else events
    r = Runner(None, run_plan, executor or DryRunExecutor(speed=0), hosts=hs, **kw)
    r.bus.subscribe(events.append)
    res = await asyncio.wait_for(r.run(), GUARD)
    return r, res, events


async def test_hosts_run_in_parallel_within_a_stage():
    log = []
    hs = hosts("a", "b", "c")
    gate = Gate(all_inside(3))  # opens only once all three hosts are inside the step
    _, res, _ = await run(RunPlan([Stage("s", [Rec("x", log, gate=gate)])]), hs)
    assert gate.peak == 3
    starts = [e[3] for e in log if e[0] == "start"]
    ends = [e[3] for e in log if e[0] == "end"]
    assert max(starts) < min(ends)  # all three were running at once
    assert all(s["status"] == "changed" for s in res.summary.values())


async def test_a_stage_is_a_barrier():
    log = []
    hs = hosts("a", "b", "c")
    through, others_done = set(), asyncio.Event()

    async def c_is_last(name):
        # c ends stage one last, and only after giving a and b plenty of turns: without a
        # barrier they would start stage two meanwhile
        if name == "c":
            await others_done.wait()
            await yields()
        else:
            through.add(name)
            if len(through) == 2:
                others_done.set()

    plan = RunPlan([Stage("first", [Rec("one", log, gate=c_is_last)]), Stage("second", [Rec("two", log)])])
    await run(plan, hs)
    last_end_first = max(e[3] for e in log if e[1] == "one" and e[0] == "end")
    first_start_second = min(e[3] for e in log if e[1] == "two" and e[0] == "start")
    assert [e[2] for e in log if e[:2] == ("end", "one")][-1] == "c"
    assert last_end_first < first_start_second


async def test_a_failed_host_stops_only_itself():
    log = []
    hs = hosts("a", "b", "c")
    plan = RunPlan([Stage("s1", [Rec("one", log, fail={"b"}), Rec("two", log)]), Stage("s2", [Rec("three", log)])])
    r, res, events = await run(plan, hs)
    assert res.status == "finished"
    assert [e.status for e in finished(events, "b")] == ["failed", "skipped", "skipped"]
    skipped = finished(events, "b", "three")[0]
    assert "one failed" in skipped.message
    fail = finished(events, "b", "one")[0]
    assert fail.message == "one broke on b" and fail.hint == "fix it"
    for h in ("a", "c"):
        assert [e.status for e in finished(events, h)] == ["changed", "changed", "changed"]
    assert res.summary["b"]["status"] == "failed" and not res.summary["b"]["ok"]
    assert res.summary["b"]["failed_step"] == "one"
    assert res.summary["a"]["ok"] and res.summary["c"]["ok"]
    assert not [e for e in log if e[2] == "b" and e[1] in ("two", "three")]


async def test_first_control_plane_stage_runs_on_that_host_only():
    log = []
    hs = hosts("w1", "cp1", "cp2", "w2")
    plan = RunPlan([
        Stage("init", [Rec("init", log, targets="first-control-plane")]),
        Stage("join-cp", [Rec("join-cp", log, targets="control-planes")]),
        Stage("join-w", [Rec("join-w", log, targets="workers")]),
        Stage("custom", [Rec("custom", log, targets=lambda h, plan: h.name.endswith("2"))]),
    ])
    r, res, events = await run(plan, hs)
    ran = lambda step: sorted(e[2] for e in log if e[1] == step and e[0] == "start")  # noqa: E731
    assert ran("init") == ["cp1"]
    assert ran("join-cp") == ["cp1", "cp2"]
    assert ran("join-w") == ["w1", "w2"]
    assert ran("custom") == ["cp2", "w2"]
    grid = next(e for e in events if isinstance(e, StepsPlanned)).stages
    assert grid[0]["steps"][0]["hosts"] == ["cp1"]
    assert r.status["w1"] == {"join-w": "changed"}


async def test_serial_step_runs_one_host_at_a_time():
    log = []
    hs = hosts("a", "b", "c")
    # inside the step each host gives the others many turns: had they been let in, they would overlap
    gate = Gate(lambda name: yields())
    await run(RunPlan([Stage("s", [Rec("x", log, serial=True, gate=gate)])]), hs)
    assert gate.peak == 1 and sorted(gate.entered) == ["a", "b", "c"]
    # start/end alternate by host: no two hosts inside the step at once
    running = 0
    for e in sorted(log, key=lambda e: e[3]):
        running += 1 if e[0] == "start" else -1
        assert running <= 1
    assert len(log) == 6


async def test_max_concurrent_hosts_limits_parallelism():
    log = []
    hs = hosts("a", "b", "c", "d")
    two_in = all_inside(2)

    async def wait(name):
        await two_in(name)  # two at once must happen (or the GUARD fails the test) ...
        await yields()  # ... and a third would have had every chance to come in

    gate = Gate(wait)
    await run(RunPlan([Stage("s", [Rec("x", log, gate=gate)])]), hs, options=ExecOptions(max_concurrent_hosts=2))
    assert gate.peak == 2 and sorted(gate.entered) == ["a", "b", "c", "d"]
    running = peak = 0
    for e in sorted(log, key=lambda e: e[3]):
        running += 1 if e[0] == "start" else -1
        peak = max(peak, running)
    assert peak == 2


async def test_check_true_means_unchanged_and_apply_is_not_run():
    log = []
    hs = hosts("a", "b")
    _, res, events = await run(RunPlan([Stage("s", [Rec("x", log, check_true={"a"})])]), hs)
    assert finished(events, "a")[0].status == "unchanged"
    assert finished(events, "b")[0].status == "changed"
    assert [e[2] for e in log if e[0] == "start"] == ["b"]
    assert res.summary["a"]["status"] == "unchanged"


async def test_output_lines_are_streamed_as_events():
    log = []
    _, _, events = await run(RunPlan([Stage("s", [Rec("x", log)])]), hosts("a"))
    out = [(e.stream, e.text) for e in events if isinstance(e, OutputLine)]
    assert ("cmd", "$ echo x") in out
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("StepStarted") < kinds.index("OutputLine") < kinds.index("StepFinished")


async def test_unreachable_host_is_lost_and_others_go_on():
    log = []
    hs = hosts("a", "b")
    ex = DryRunExecutor(speed=0, faults=FaultPlan({"b": Fault(unreachable=True)}))
    _, res, events = await run(RunPlan([Stage("s", [Rec("x", log), Rec("y", log)])]), hs, executor=ex)
    lost = [e for e in events if isinstance(e, HostLost)]
    assert [(e.host, e.kind) for e in lost] == [("b", "unreachable")]
    assert res.summary["b"]["status"] == "lost"
    assert "No route to host" in res.summary["b"]["message"]
    assert res.summary["b"]["hint"]
    assert res.summary["a"]["ok"]


async def test_a_step_bug_fails_that_host_only():
    class Buggy(Step):
        id, title, why = "buggy", "buggy", "raises"

        async def apply(self, ctx):
            if ctx.host.name == "b":
                raise KeyError("oops")

    _, res, events = await run(RunPlan([Stage("s", [Buggy()])]), hosts("a", "b"))
    assert res.summary["a"]["ok"]
    assert "internal error" in res.summary["b"]["message"] and "KeyError" in res.summary["b"]["message"]
    assert any(isinstance(e, OutputLine) and "Traceback" in e.text for e in events)


async def test_retry_after_the_run_reached_its_end():
    log = []
    hs = hosts("a", "b")
    plan = RunPlan([Stage("s1", [Rec("one", log, fail_times={"b": 1})]), Stage("s2", [Rec("two", log)])])
    events = []
    r = Runner(None, plan, DryRunExecutor(speed=0), hosts=hs, wait_at_end=True)
    r.bus.subscribe(events.append)
    reached_end = asyncio.Event()
    r.bus.subscribe(lambda ev: finished(events, "a", "two") and finished(events, "b", "two") and reached_end.set())
    task = asyncio.create_task(r.run())
    await asyncio.wait_for(reached_end.wait(), GUARD)
    await yields()  # the run had every chance to end on its own
    assert finished(events, "b", "two")[0].status == "skipped"
    assert not task.done()  # waiting for the user's decision
    assert r.retry("b", "two") is False  # cannot jump over the failed step
    assert r.retry("b", "one") is True
    res = await asyncio.wait_for(task, GUARD)
    assert [e.status for e in finished(events, "b")] == ["failed", "skipped", "changed", "changed"]
    assert finished(events, "b", "one")[-1].attempt == 2
    assert res.summary["b"]["ok"] and res.summary["b"]["status"] == "changed"
    assert r.retry("b", "one") is False  # the run is over


async def test_retry_while_other_hosts_still_run_catches_up():
    log = []
    hs = hosts("a", "b")
    b_retried = asyncio.Event()

    async def until_b_retried(name):
        await b_retried.wait()

    # a stays inside "slow" until b's retry has succeeded: the retry surely ran while a still ran
    slow = Rec("slow", log, gate=until_b_retried, targets=lambda h, p: h.name == "a")
    plan = RunPlan([Stage("s1", [Rec("one", log, fail_times={"b": 1}), slow])])
    events = []
    r = Runner(None, plan, DryRunExecutor(speed=0), hosts=hs)

    def on(ev):
        if isinstance(ev, StepFinished) and ev.status == "failed":
            asyncio.get_running_loop().call_soon(r.retry, ev.host, ev.step_id)
        if isinstance(ev, StepFinished) and ev.host == "b" and ev.status == "changed":
            b_retried.set()

    r.bus.subscribe(events.append)
    r.bus.subscribe(on)
    res = await asyncio.wait_for(r.run(), GUARD)
    assert [e.status for e in finished(events, "b")] == ["failed", "changed"]
    assert res.summary["b"]["ok"] and res.summary["a"]["ok"]


async def test_retry_called_from_inside_the_failure_event():
    log = []
    hs = hosts("a", "b")
    plan = RunPlan([Stage("s1", [Rec("one", log, fail_times={"b": 2})]), Stage("s2", [Rec("two", log)])])
    events = []
    r = Runner(None, plan, DryRunExecutor(speed=0), hosts=hs)
    r.bus.subscribe(events.append)
    r.bus.subscribe(lambda ev: isinstance(ev, StepFinished) and ev.status == "failed" and r.retry(ev.host, ev.step_id))
    res = await asyncio.wait_for(r.run(), GUARD)
    assert [e.status for e in finished(events, "b")] == ["failed", "failed", "changed", "changed"]
    assert res.summary["b"]["ok"]


async def test_skip_host_cancels_its_step_and_skips_the_rest():
    log = []
    hs = hosts("a", "b")
    long_running = asyncio.Event()
    plan = RunPlan([Stage("s1", [Rec("one", log)]),
                    Stage("s2", [Rec("long", log, gate=forever(long_running), targets=lambda h, p: h.name == "b"), Rec("after", log)])])
    events = []
    r = Runner(None, plan, DryRunExecutor(speed=0), hosts=hs)
    r.bus.subscribe(events.append)

    async def skip_b_once_long_runs():
        await long_running.wait()
        assert r.skip_host("b")

    control = asyncio.create_task(skip_b_once_long_runs())
    res = await asyncio.wait_for(r.run(), GUARD)  # "long" never ends by itself: only the skip ends it
    await control
    long = finished(events, "b", "long")[0]
    assert long.status == "failed" and long.interrupted
    after = finished(events, "b", "after")[0]
    assert after.status == "skipped" and "skipped by the user" in after.message
    assert res.summary["b"]["status"] == "skipped"
    assert res.summary["a"]["ok"]
    assert res.status == "finished"


async def test_abort_lets_running_steps_finish_and_skips_the_rest():
    log = []
    hs = hosts("a", "b")
    both_in, release = asyncio.Event(), asyncio.Event()
    came = set()

    async def hold(name):  # step one: wait inside until the test has aborted
        came.add(name)
        if len(came) == 2:
            both_in.set()
        await release.wait()

    plan = RunPlan([Stage("s1", [Rec("one", log, gate=hold)]), Stage("s2", [Rec("two", log)])])
    events = []
    r = Runner(None, plan, DryRunExecutor(speed=0), hosts=hs)
    r.bus.subscribe(events.append)

    async def abort_once_both_are_inside():
        await both_in.wait()
        r.abort()
        release.set()

    control = asyncio.create_task(abort_once_both_are_inside())
    res = await asyncio.wait_for(r.run(), GUARD)
    await control
    assert res.status == "aborted"
    assert sorted(e[2] for e in log if e[:2] == ("end", "one")) == ["a", "b"]  # both ended step one normally
    assert [e.status for e in finished(events, step="one")] == ["changed", "changed"]
    two = finished(events, step="two")
    assert [e.status for e in two] == ["skipped", "skipped"] and "aborted" in two[0].message
    assert not any(res.summary[h]["ok"] for h in ("a", "b"))


async def test_cancel_interrupts_running_steps_and_the_journal_says_so(state_dir):
    log = []
    hs = hosts("a", "b")
    both_in, never = asyncio.Event(), asyncio.Event()
    came = set()

    async def stuck(name):  # "long" never ends by itself: only the cancel ends it
        came.add(name)
        if len(came) == 2:
            both_in.set()
        await never.wait()

    plan = RunPlan([Stage("s1", [Rec("long", log, gate=stuck)]), Stage("s2", [Rec("two", log)])])
    r = Runner(None, plan, DryRunExecutor(speed=0), hosts=hs)
    events = []
    r.bus.subscribe(events.append)

    async def cancel_once_both_run():
        await both_in.wait()
        r.cancel()

    control = asyncio.create_task(cancel_once_both_run())
    res = await asyncio.wait_for(r.run(), GUARD)
    await control
    assert res.status == "interrupted"
    assert not [e for e in log if e[0] == "end"]
    recs = read_journal(r.run_id)
    interrupted = [x for x in recs if x["type"] == "step_finished" and x.get("interrupted")]
    assert sorted(x["host"] for x in interrupted) == ["a", "b"]
    assert recs[-1]["type"] == "run_finished" and recs[-1]["status"] == "interrupted"
    two = finished(events, step="two")
    assert [e.status for e in two] == ["skipped", "skipped"] and two[0].message == "not run: the run was cancelled"
    assert res.summary["a"]["status"] == "interrupted"


async def test_cancelling_the_run_task_records_the_interruption(state_dir):
    log = []
    running = asyncio.Event()
    r = Runner(None, RunPlan([Stage("s", [Rec("long", log, gate=forever(running))])]), DryRunExecutor(speed=0), hosts=hosts("a"))
    task = asyncio.create_task(r.run())
    await asyncio.wait_for(running.wait(), GUARD)  # cancel while the step runs
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    recs = read_journal(r.run_id)
    assert recs[-1]["type"] == "run_finished" and recs[-1]["status"] == "interrupted"
    assert any(x["type"] == "step_finished" and x.get("interrupted") for x in recs)


async def test_cancel_kills_the_local_process():
    from k8s_tui.engine.local import LocalExecutor

    class Sleep(Step):
        id, title, why = "sleep", "sleep", "sleeps"

        async def apply(self, ctx):
            await ctx.run(["sh", "-c", "echo $$; exec sleep 300"], sudo=False)

    pids = []
    r = Runner(None, RunPlan([Stage("s", [Sleep()])]), LocalExecutor(kill_grace=0.5), hosts=hosts("local"), journal=False)
    r.bus.subscribe(lambda ev: isinstance(ev, OutputLine) and ev.stream == "stdout" and (pids.append(int(ev.text)), r.cancel()))
    res = await asyncio.wait_for(r.run(), GUARD)  # the sleep would outlast the guard had it not been killed
    assert res.status == "interrupted"
    assert pids

    async def gone(pid):
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            await asyncio.sleep(0.01)

    await asyncio.wait_for(gone(pids[0]), GUARD)  # the process is gone (killed and reaped)


async def test_resume_skips_steps_done_in_the_journal(state_dir):
    log = []
    hs = hosts("a", "b")

    class Facts(Step):
        id, title, why = "facts", "facts", "reads"
        always_run = True
        changes_host = False

        async def apply(self, ctx):
            ctx.facts["seen"] = True
            log.append(("facts", ctx.host.name))
            return "ok"

    one = Rec("one", log)
    two = Rec("two", log, fail={"b"})
    first, res1, ev1 = await run(RunPlan([Stage("f", [Facts()]), Stage("s", [one, two, Rec("three", log)])]), hs)
    assert res1.summary["b"]["status"] == "failed"
    log.clear()
    two.fail = set()
    second, res2, ev2 = await run(RunPlan([Stage("f", [Facts()]), Stage("s", [one, two, Rec("three", log)])]), hs,
                                  resume_from=first.run_id)
    assert ("facts", "a") in log and ("facts", "b") in log  # facts are read again
    ran = sorted((e[2], e[1]) for e in log if e[0] == "start")
    assert ran == [("b", "three"), ("b", "two")]
    a_one = finished(ev2, "a", "one")[0]
    assert a_one.status == "skipped" and a_one.done_in == first.run_id
    assert f"already done in run {first.run_id}" in a_one.message
    assert res2.summary["a"]["ok"] and res2.summary["b"]["ok"]
    # a resume of the resume still knows what the first run did
    log.clear()
    third, res3, ev3 = await run(RunPlan([Stage("f", [Facts()]), Stage("s", [one, two, Rec("three", log)])]), hs,
                                 resume_from=second.run_id)
    assert [e for e in log if e[0] == "start"] == []
    assert finished(ev3, "a", "one")[0].done_in == first.run_id
    assert finished(ev3, "b", "two")[0].done_in == second.run_id


async def test_resume_of_an_unknown_run_is_refused():
    with pytest.raises(RunnerError):
        await run(RunPlan([Stage("s", [Rec("x", [])])]), hosts("a"), resume_from="no-such-run")


async def test_a_runner_runs_once():
    r, _, _ = await run(RunPlan([Stage("s", [Rec("x", [])])]), hosts("a"))
    with pytest.raises(RunnerError):
        await r.run()


def test_step_ids_are_unique_in_a_plan():
    with pytest.raises(ValueError, match="repeated"):
        RunPlan([Stage("a", [Rec("x", [])]), Stage("b", [Rec("x", [])])])
