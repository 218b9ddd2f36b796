"""Run a RunPlan on many hosts at once and tell the world as it goes.

A RunPlan is an ordered list of stages; a stage is an ordered list of steps. Within a stage every
host runs its steps in order and hosts run in parallel (at most ``max_concurrent_hosts`` at once);
a stage is a barrier: the next starts when every host finished this one. A step's ``targets``
picks its hosts (a stage of first-control-plane steps runs on that host only); a ``serial`` step
runs on one host at a time. A host whose step fails stops there (its later steps are skipped)
while the other hosts go on.

Controls, callable at any time from the UI or a signal handler (all synchronous, all safe to call
twice): ``retry(host, step_id)``, ``skip_host(host)``, ``abort()`` (start nothing new, let running
steps end), ``cancel()`` (cancel running steps now; the executor kills their remote processes, the
journal records them as interrupted). ``finish()`` ends a run started with ``wait_at_end=True``,
which keeps the run open after the last stage while a host has failed, so the UI can still retry.

``host_locks`` (engine/locks.py) takes each host's lock before that host's first step; a host
another run holds fails that step, naming the holder, and nothing runs there.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model.hosts import Host
from .events import (
    DONE_STATUSES,
    EventBus,
    HostLost,
    HostSkipped,
    OutputLine,
    RunFinished,
    RunStarted,
    StepFinished,
    StepsPlanned,
    StepStarted,
    StepStatus,
    SubscriberFailed,
)
from .executor import ExecError, ExecOptions, Executor
from .journal import DoneStep, Journal, done_steps, new_run_id, run_info
from .run_state import RunState
from .state import run_dir as run_dir_of
from .steps import CURRENT, HOST_LEVEL_KINDS, Step, StepContext, StepFailed, StepPhase, StepResult

if TYPE_CHECKING:
    from ..model.plan import ClusterPlan

log = logging.getLogger(__name__)


@dataclass
class Stage:
    name: str
    steps: list[Step]


@dataclass
class RunPlan:
    stages: list[Stage] = field(default_factory=list)
    # what part of a plan this is ("full", "tuning", "rollback", ...): recorded in the journal so a
    # resume rebuilds the same steps
    scope: str = "full"

    def steps(self) -> list[Step]:
        return [s for st in self.stages for s in st.steps]

    def step(self, step_id: str) -> Step:
        for s in self.steps():
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def __post_init__(self) -> None:
        ids = [s.id for s in self.steps()]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"step ids must be unique in a run plan; repeated: {', '.join(sorted(dup))}")


class RunnerError(Exception):
    """The run cannot start (a resume of a different plan, a runner started twice)."""


# host states
PENDING, RUNNING, FAILED, LOST, SKIPPED = "pending", "running", "failed", "lost", "skipped"


def plan_digest(plan: ClusterPlan | None) -> str | None:
    if plan is None:
        return None
    return hashlib.sha256(plan.to_yaml().encode()).hexdigest()


class Runner:
    def __init__(
        self,
        plan: ClusterPlan | None,
        run_plan: RunPlan,
        executor: Executor,
        *,
        hosts: list[Host] | None = None,
        options: ExecOptions | None = None,
        bus: EventBus | None = None,
        run_id: str | None = None,
        state_base: Path | None = None,
        journal: bool = True,
        plan_text: str | None = None,
        resume_from: str | None = None,
        wait_at_end: bool = False,
        meta: dict[str, Any] | None = None,
        host_locks: Any = None,
    ):
        self.plan = plan
        self.run_plan = run_plan
        self.executor = executor
        self.hosts: list[Host] = list(hosts if hosts is not None else (plan.hosts if plan is not None else []))
        self.options = options or ExecOptions()
        self.bus = bus or EventBus()
        self.run_id = run_id or new_run_id()
        self.state_base = state_base
        self.resume_from = resume_from
        self.wait_at_end = wait_at_end
        self._plan_text = plan_text
        self._meta_extra = dict(meta or {})  # more for meta.json (dry_run, ...)
        self._use_journal = journal
        # each host's lock (engine/locks.py), taken before its first step; none when not given
        self.host_locks = host_locks
        self._locked: set[str] = set()
        self.journal: Journal | None = None
        # why the run stopped on its own (a critical subscriber such as the journal broke)
        self.stop_reason = ""
        self.failures: list[SubscriberFailed] = []

        self.facts: dict[str, dict[str, Any]] = {h.name: {} for h in self.hosts}
        # host x step state: the one reducer every front end uses, fed by this runner's own events
        self.state = RunState([h.name for h in self.hosts])
        self.host_state: dict[str, str] = {h.name: PENDING for h in self.hosts}
        self.failed_at: dict[str, str] = {}  # host -> step id it stopped at
        self.messages: dict[str, tuple[str, str]] = {}  # host -> (message, hint) of its failure
        self.durations: dict[str, float] = {h.name: 0.0 for h in self.hosts}
        self._attempts: dict[tuple[str, str], int] = {}
        self._interrupted: set[str] = set()  # hosts whose step was cancelled half way
        self._done_before: dict[str, dict[str, DoneStep]] = {}
        self._sem = asyncio.Semaphore(max(1, self.options.max_concurrent_hosts))
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: dict[str, asyncio.Task] = {}  # host -> its running task in this stage
        self._wake = asyncio.Event()
        self._stage_idx = 0
        self._aborting = False
        self._cancelling = False
        self._finish = False
        self._active = False
        self._started = False
        self.result: RunFinished | None = None

        for st in run_plan.stages:
            for s in st.steps:
                if s.serial:
                    self._locks[s.id] = asyncio.Lock()
        self.state.apply(StepsPlanned(run_id=self.run_id, stages=self._grid()))
        self.bus.subscribe(self.state.apply, name="run state", critical=True)
        self.bus.subscribe(self._on_failure, name="runner")

    # -- what runs where -----------------------------------------------------------------------

    def _wants(self, step: Step, host: Host) -> bool:
        return step.wants(host, self.hosts, self.plan)

    def hosts_for(self, step: Step) -> list[Host]:
        return [h for h in self.hosts if self._wants(step, h)]

    def _host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    @property
    def active(self) -> bool:
        return self._active

    @property
    def status(self) -> dict[str, dict[str, StepStatus]]:
        """host -> step id -> its status now (from the reducer)."""
        return {h: self.state.host_steps(h) for h in self.state.hosts}

    def _on_failure(self, ev: Any) -> None:
        """A subscriber broke. Without the journal a crash would lose what happens next, so the
        run stops at the next step boundary (running steps end, nothing new starts)."""
        if type(ev) is not SubscriberFailed:
            return
        self.failures.append(ev)
        if ev.critical and self._active and not self.stop_reason:
            running = [f"{h}/{st}" for (h, st), c in self.state.cells.items() if c.status == StepStatus.RUNNING]
            where = f"; steps running then: {', '.join(running)} (they were let finish)" if running else ""
            self.stop_reason = f"the {ev.name} could not be written ({ev.error}), so the run stopped{where}"
            self.abort()

    # -- controls ------------------------------------------------------------------------------

    def retry(self, host: str, step_id: str) -> bool:
        """Run ``step_id`` again on a host that failed (or was lost), then its later steps.
        False when the run is over, aborting, or the host is not stopped at or after that step."""
        if not self._active or self._aborting or self._cancelling:
            return False
        if self.host_state.get(host) not in (FAILED, LOST):
            return False
        try:
            h = self._host(host)
            step = self.run_plan.step(step_id)
        except KeyError:
            return False
        if not self._wants(step, h):
            return False
        si, ji = self._position(step_id)
        fi, fj = self._position(self.failed_at[host]) if host in self.failed_at else (si, ji)
        if (si, ji) > (fi, fj):
            return False  # cannot jump over the step that failed
        self.host_state[host] = RUNNING
        self._interrupted.discard(host)
        self.failed_at.pop(host, None)
        self.messages.pop(host, None)
        previous = self._tasks.get(host)  # may still be unwinding from the failure
        self._tasks[host] = asyncio.get_running_loop().create_task(self._catch_up(h, si, ji, previous), name=f"retry:{host}")
        self._wake.set()
        return True

    def skip_host(self, host: str) -> bool:
        """Give up on a host: cancel its running step and skip the rest. Others go on."""
        if host not in self.host_state or self.host_state[host] == SKIPPED:
            return False
        self.host_state[host] = SKIPPED
        self.bus.publish(HostSkipped(host=host))
        t = self._tasks.get(host)
        if t is not None and not t.done():
            t.cancel()
        self._wake.set()
        return True

    def abort(self) -> None:
        """Start no new step; running steps end normally; the rest is skipped."""
        self._aborting = True
        self._wake.set()

    def cancel(self) -> None:
        """Cancel the running steps now (remote processes are killed); the rest is skipped."""
        self._aborting = True
        self._cancelling = True
        for t in list(self._tasks.values()):
            if not t.done():
                t.cancel()
        self._wake.set()

    def finish(self) -> None:
        """End a run that waits at its end (wait_at_end=True) for retries."""
        self._finish = True
        self._wake.set()

    # -- the run -------------------------------------------------------------------------------

    def _position(self, step_id: str) -> tuple[int, int]:
        for i, st in enumerate(self.run_plan.stages):
            for j, s in enumerate(st.steps):
                if s.id == step_id:
                    return i, j
        raise KeyError(step_id)

    def _plan_summary(self) -> dict[str, Any]:
        p = self.plan
        if p is None:
            return {}
        return {
            "name": p.name,
            "tool": p.tool.value,
            "kubernetes_version": p.kubernetes_version,
            "sysctl_file": p.sysctl_file,
            "sysctl_keys": len(p.tuning.values),
            "preset": p.preset,
        }

    def _open_journal(self) -> None:
        if self.resume_from:
            try:
                self._done_before = done_steps(self.resume_from, self.state_base)
            except FileNotFoundError as e:
                raise RunnerError(str(e)) from None
            before = run_info(self.resume_from, self.state_base)
            digest = plan_digest(self.plan)
            meta_digest = None
            try:
                meta_digest = json.loads((before.path / "meta.json").read_text()).get("plan_sha256")
            except (OSError, ValueError):
                pass
            if meta_digest and digest and meta_digest != digest:
                raise RunnerError(
                    f"the plan is not the one run {self.resume_from} applied; resume runs the same plan "
                    f"(its copy is {before.path / 'plan.yaml'}), or start a new run with apply"
                )
        if not self._use_journal:
            return
        try:
            self.journal = Journal(self.run_id, self.state_base)
            if self.plan is not None or self._plan_text:
                text = self._plan_text if self._plan_text is not None else self.plan.to_yaml()
                self.journal.write_plan(text)
            self._write_meta()
        except OSError as e:
            raise RunnerError(f"cannot write the run's journal in {run_dir_of(self.run_id, self.state_base)}: {e}; "
                              "nothing was run (free some space, or point K8S_TUI_STATE_DIR at a writable folder)") from None
        self.journal.attach(self.bus)

    def _write_meta(self) -> None:
        assert self.journal is not None
        self.journal.write_meta(
            {
                "run_id": self.run_id,
                "started": round(time.time(), 3),
                "plan_name": self.plan.name if self.plan else "",
                "plan_sha256": plan_digest(self.plan),
                "hosts": [h.name for h in self.hosts],
                "steps": [s.id for s in self.run_plan.steps()],
                "scope": self.run_plan.scope,
                "resumed_from": self.resume_from,
                **self._meta_extra,
            }
        )

    async def run(self) -> RunFinished:
        """Run every stage; returns (and publishes) RunFinished with the per-host summary."""
        if self._started:
            raise RunnerError("a Runner runs once; make a new one (resume_from=...) for another run")
        self._started = True
        self._open_journal()
        self._active = True
        t0 = time.monotonic()
        status = "finished"
        try:
            self.bus.publish(
                RunStarted(
                    run_id=self.run_id,
                    plan=self._plan_summary(),
                    hosts=[h.name for h in self.hosts],
                    steps=[s.id for s in self.run_plan.steps()],
                    resumed_from=self.resume_from,
                )
            )
            self.bus.publish(StepsPlanned(run_id=self.run_id, stages=self._grid()))
            for i, stage in enumerate(self.run_plan.stages):
                self._stage_idx = i
                for h in self.hosts:
                    if self.host_state[h.name] in (PENDING, RUNNING) and not self._aborting:
                        self.host_state[h.name] = RUNNING
                        if any(self._wants(s, h) for s in stage.steps):
                            self._tasks[h.name] = asyncio.get_running_loop().create_task(
                                self._host_stage(h, i, 0), name=f"{stage.name}:{h.name}"
                            )
                await self._drain()
                self._skip_stage_for_stopped(i)
            while self.wait_at_end and not self._finish and not self._aborting and self._any_stopped():
                self._wake.clear()
                await self._wake.wait()
                await self._drain()
                self._skip_stage_for_stopped(len(self.run_plan.stages) - 1, upto=True)
            if self._cancelling:
                status = "interrupted"
            elif self._aborting:
                status = "aborted"
        except asyncio.CancelledError:
            status = "interrupted"
            self._aborting = self._cancelling = True
            for t in list(self._tasks.values()):
                t.cancel()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            self._finish_run(status, time.monotonic() - t0)
            raise
        except BaseException:
            status = "interrupted"
            self._finish_run(status, time.monotonic() - t0)
            raise
        return self._finish_run(status, time.monotonic() - t0)

    def _finish_run(self, status: str, duration: float) -> RunFinished:
        self._active = False
        self._skip_stage_for_stopped(len(self.run_plan.stages) - 1, upto=True)
        if self.stop_reason and status == "aborted":
            status = "stopped"
        ev = RunFinished(run_id=self.run_id, status=status, summary=self.summary(), duration_s=round(duration, 3),
                         reason=self.stop_reason)
        self.result = ev
        self.bus.publish(ev)
        if self.journal is not None:
            try:
                self.journal.close()
            except OSError as e:  # the last records did not reach the disk: say so, like any other break
                self.bus.subscribe(self.journal, name="journal", critical=True)
                self.bus.fail(self.journal, e, self.journal.missing_text())
            self.bus.unsubscribe(self.journal)
        return ev

    def _grid(self) -> list[dict[str, Any]]:
        return [
            {
                "stage": st.name,
                "steps": [
                    {"id": s.id, "title": s.title, "why": s.why, "serial": s.serial, "hosts": [h.name for h in self.hosts_for(s)]}
                    for s in st.steps
                ],
            }
            for st in self.run_plan.stages
        ]

    def _any_stopped(self) -> bool:
        return any(v in (FAILED, LOST) for v in self.host_state.values())

    async def _drain(self) -> None:
        """Wait for every host task of this stage, including retries added while waiting."""
        while True:
            pending = [t for t in self._tasks.values() if not t.done()]
            if not pending:
                break
            self._wake.clear()
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait([*pending, waker], return_when=asyncio.FIRST_COMPLETED)
            finally:
                waker.cancel()
        for name, t in list(self._tasks.items()):
            if t.done():
                del self._tasks[name]
                if not t.cancelled() and t.exception() is not None:
                    log.error("host task %s crashed", name, exc_info=t.exception())

    def _skip_stage_for_stopped(self, stage_idx: int, upto: bool = False) -> None:
        """Mark the still-pending steps of stages <= stage_idx (or just stage_idx) as skipped."""
        stages = range(0, stage_idx + 1) if upto else [stage_idx]
        for i in stages:
            for s in self.run_plan.stages[i].steps:
                for h in self.hosts_for(s):
                    if self.state.status_of(h.name, s.id) != StepStatus.PENDING:
                        continue
                    if h.name in self._tasks and not self._tasks[h.name].done():
                        continue
                    self._finish_step(h.name, s.id, "skipped", 0.0, self._skip_reason(h.name))

    def _skip_reason(self, host: str) -> str:
        st = self.host_state[host]
        if st == SKIPPED:
            return "host skipped by the user"
        if st == LOST:
            return f"host lost at step {self.failed_at.get(host, '?')}"
        if st == FAILED and host in self._interrupted:
            return "not run: the run was cancelled"
        if st == FAILED:
            return f"not run: step {self.failed_at.get(host, '?')} failed on this host"
        if self._cancelling:
            return "not run: the run was cancelled"
        if self.stop_reason:
            return "not run: the run stopped (its journal could not be written)"
        if self._aborting:
            return "not run: the run was aborted"
        return "not run"

    def _finish_step(self, host: str, step_id: str, status: str, duration: float, message: str = "", hint: str = "", **kw) -> None:
        status = StepStatus(status)
        self.bus.publish(
            StepFinished(
                host=host,
                step_id=step_id,
                status=status,
                duration_s=round(duration, 3),
                message=message,
                hint=hint,
                attempt=self._attempts.get((host, step_id), 1),
                **kw,
            )
        )

    async def _catch_up(self, host: Host, stage_idx: int, step_idx: int, previous: asyncio.Task | None = None) -> None:
        """A retried host runs from the retried step through the stage the run is now in."""
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        i, j = stage_idx, step_idx
        while i <= self._stage_idx:
            ok = await self._host_stage(host, i, j)
            if not ok:
                return
            i, j = i + 1, 0

    async def _host_stage(self, host: Host, stage_idx: int, start: int) -> bool:
        """Run a host's steps of one stage from ``start``; False when the host stopped."""
        stage = self.run_plan.stages[stage_idx]
        name = host.name
        async with self._sem:
            for step in stage.steps[start:]:
                if not self._wants(step, host):
                    continue
                if self.host_state[name] != RUNNING or self._aborting:
                    return False
                done = self._done_before.get(name, {}).get(step.id)
                if done is not None and not step.always_run and self._attempts.get((name, step.id), 0) == 0:
                    self._finish_step(
                        name, step.id, "skipped", 0.0,
                        f"already done in run {done.run_id} ({done.status})", done_in=done.run_id,
                    )
                    continue
                if step.serial:
                    async with self._locks[step.id]:
                        if self.host_state[name] != RUNNING or self._aborting:
                            return False
                        ok = await self._run_step(host, step)
                else:
                    ok = await self._run_step(host, step)
                if not ok:
                    return False
        return True

    async def _run_step(self, host: Host, step: Step) -> bool:
        name = host.name
        key = (name, step.id)
        attempt = self._attempts[key] = self._attempts.get(key, 0) + 1
        ctx = StepContext(
            host=host,
            executor=self.executor,
            run_id=self.run_id,
            plan=self.plan,
            facts=self.facts.setdefault(name, {}),
            step_id=step.id,
            bus=self.bus,
            skipped_hosts=lambda: frozenset(h for h, st in self.host_state.items() if st == SKIPPED),
        )
        self.bus.publish(StepStarted(host=name, step_id=step.id, attempt=attempt))
        t0 = time.monotonic()
        token = CURRENT.set(StepPhase(step.id, "check"))
        status, message, hint, lost = "changed", "", "", None
        try:
            if self.host_locks is not None and name not in self._locked:
                refused = await self.host_locks.take(host)
                if refused:
                    raise StepFailed(f"not run on this host: {refused}",
                                     "another run is changing this host; nothing was run here")
                self._locked.add(name)
            found = await step.check(ctx)
            if found:
                status = StepStatus.UNCHANGED
                message = (found.message if isinstance(found, StepResult) else "") or "already in the desired state"
            else:
                CURRENT.set(StepPhase(step.id, "apply" if step.changes_host else "gather"))
                status, message = _outcome(await step.apply(ctx))
                CURRENT.set(StepPhase(step.id, "verify"))
                checked = await step.verify(ctx)
                if isinstance(checked, StepResult) and checked.message:
                    message = checked.message
        except StepFailed as e:
            status, message, hint = "failed", e.message, e.hint
        except ExecError as e:
            status, message = "failed", e.message
            if e.kind in HOST_LEVEL_KINDS:
                lost = e
                hint = _hint_for_kind(e.kind)
            elif e.kind == "timeout":
                hint = "the command did not finish in time; look at the host's log, then retry"
        except asyncio.CancelledError:
            dur = time.monotonic() - t0
            self.durations[name] += dur
            why = "host skipped by the user" if self.host_state[name] == SKIPPED else "the run was cancelled"
            if self.host_state[name] != SKIPPED:
                self._interrupted.add(name)
                self.host_state[name] = FAILED
                self.failed_at[name] = step.id
                self.messages[name] = (f"interrupted: {why}", "")
            self._finish_step(name, step.id, "failed", dur, f"interrupted: {why}",
                              "the step was stopped half way; run it again (resume) to finish it", interrupted=True)
            raise
        except Exception as e:  # a bug in a step must not take the other hosts down
            status, message = "failed", f"internal error in step {step.id}: {type(e).__name__}: {e}"
            hint = "this is a bug in k8s-tui; the traceback is in the host's log"
            for line in traceback.format_exc().splitlines():
                self.bus.publish(OutputLine(name, step.id, "info", line))
        finally:
            CURRENT.reset(token)
        dur = time.monotonic() - t0
        self.durations[name] += dur
        if status == "failed":
            if self.host_state[name] == RUNNING:
                self.host_state[name] = LOST if lost else FAILED
            self.failed_at[name] = step.id
            self.messages[name] = (message, hint)
            if lost is not None:
                self.bus.publish(HostLost(host=name, reason=lost.message, kind=lost.kind))
        self._finish_step(name, step.id, status, dur, message, hint)
        return status != "failed"

    # -- after the run ---------------------------------------------------------------------------

    def summary(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for h in self.hosts:
            steps = self.state.host_steps(h.name)
            state = self.host_state[h.name]
            message, hint = self.messages.get(h.name, ("", ""))
            vals = list(steps.values())
            if state == LOST:
                st = "lost"
            elif state == SKIPPED:
                st = "skipped"
            elif state == FAILED and h.name in self._interrupted:
                st = "interrupted"
            elif "failed" in vals:
                st = "failed"
            elif any(v in ("pending", "running") for v in vals) or any(
                v == "skipped" and self._done_before.get(h.name, {}).get(k) is None for k, v in steps.items()
            ):
                st = "incomplete"
            elif "changed" in vals:
                st = "changed"
            elif vals and all(v in ("unchanged", "skipped") for v in vals):
                st = "unchanged"
            else:
                st = "ok"
            counts: dict[str, int] = {}
            for v in vals:
                counts[v] = counts.get(v, 0) + 1
            entry: dict[str, Any] = {
                "status": st,
                "ok": st in DONE_STATUSES,
                "steps": steps,
                "counts": counts,
                "duration_s": round(self.durations.get(h.name, 0.0), 3),
                "failed_step": self.failed_at.get(h.name),
                "message": message,
                "hint": hint,
            }
            if self.journal is not None:
                entry["log"] = str(self.journal.host_log_path(h.name))
            out[h.name] = entry
        return out


def _outcome(result: StepResult | StepStatus | str | None) -> tuple[StepStatus, str]:
    """(status, message) from what a step's apply returned."""
    if result is None:
        return StepStatus.CHANGED, ""
    if isinstance(result, StepResult):
        return result.status, result.message
    return StepStatus(result), ""


def _hint_for_kind(kind: str) -> str:
    return {
        "unreachable": "check the address and port, that the host is up, and that nothing blocks SSH between here and there",
        "refused": "the host answered but nothing listens on the SSH port: is sshd running, on that port?",
        "auth": "the SSH key or user was refused: check user and key_file for this host, and its authorized_keys",
        "hostkey-unknown": "the host key is not in known_hosts: check its fingerprint, then accept it (or pass --accept-new-host-keys)",
        "hostkey-changed": "the host key differs from known_hosts: if the host was reinstalled, remove the old key; otherwise stop and find out why",
        "sudo-password": "sudo wants a password: give it when asked, or allow this user passwordless sudo",
        "lost": "the connection dropped during the step; check the host, then retry (the step is safe to run again)",
    }.get(kind, "")
