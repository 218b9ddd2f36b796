"""The one reducer of a run: events in, host x step state out.

``RunState.apply(event)`` is the only code that turns the engine's events into the state of each
host x step cell and of each host. The runner keeps its own cells with it (its summary reads them),
the TUI's grid, tabs and failure panel read one, the headless printer counts progress with one. A
journal replayed through it gives the same state the run had.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from .events import (
    FINISHED_STATUSES,
    HostLost,
    HostSkipped,
    RunFinished,
    RunStarted,
    StepFinished,
    StepsPlanned,
    StepStarted,
    StepStatus,
    SubscriberFailed,
)

FINISHED = FINISHED_STATUSES


@dataclass
class Cell:
    """One host x step cell of the grid."""

    status: StepStatus = StepStatus.PENDING
    duration: float = 0.0
    attempt: int = 0
    message: str = ""
    hint: str = ""
    started: float = 0.0  # monotonic() when it started running (for the live running time)
    interrupted: bool = False


@dataclass
class StepColumn:
    id: str
    title: str
    why: str
    stage: str
    hosts: list[str]


@dataclass
class RunState:
    """What the grid, the progress bar, the tab badges and the failure panel show."""

    hosts: list[str]
    run_id: str = ""
    steps: list[StepColumn] = field(default_factory=list)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    host_state: dict[str, str] = field(default_factory=dict)  # pending running done failed lost skipped
    lost: dict[str, str] = field(default_factory=dict)  # host -> reason
    status: str = "starting"  # starting | running | finished | aborted | interrupted
    result: RunFinished | None = None
    version: int = 0  # bumped on every change
    changed_hosts: set[str] = field(default_factory=set)  # since the UI last looked
    columns_changed: bool = False
    failures: list[SubscriberFailed] = field(default_factory=list)  # consumers that broke, in order
    reason: str = ""  # why the run stopped on its own (RunFinished.reason)

    def __post_init__(self) -> None:
        for h in self.hosts:
            self.host_state.setdefault(h, "pending")

    # -- reading -----------------------------------------------------------------------------

    def cell(self, host: str, step_id: str) -> Cell | None:
        return self.cells.get((host, step_id))

    def status_of(self, host: str, step_id: str) -> StepStatus | None:
        c = self.cells.get((host, step_id))
        return c.status if c is not None else None

    def host_steps(self, host: str) -> dict[str, StepStatus]:
        """step id -> status for the steps that run on ``host``, in run order."""
        out: dict[str, StepStatus] = {}
        for s in self.steps:
            c = self.cells.get((host, s.id))
            if c is not None:
                out[s.id] = c.status
        return out

    def step(self, step_id: str) -> StepColumn | None:
        for s in self.steps:
            if s.id == step_id:
                return s
        return None

    def progress(self) -> tuple[int, int]:
        """(cells finished, cells in all)."""
        done = sum(1 for c in self.cells.values() if c.status in FINISHED)
        return done, len(self.cells)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.cells.values():
            out[c.status] = out.get(c.status, 0) + 1
        return out

    def failed_step(self, host: str) -> str | None:
        """The step a host stopped at (failed or lost), if it did."""
        if self.host_state.get(host) not in ("failed", "lost"):
            return None
        for s in self.steps:
            c = self.cells.get((host, s.id))
            if c is not None and c.status == "failed":
                return s.id
        return None

    def failed_hosts(self) -> list[str]:
        return [h for h in self.hosts if self.host_state.get(h) in ("failed", "lost")]

    def host_time(self, host: str) -> float:
        return sum(c.duration for (h, _), c in self.cells.items() if h == host)

    def badge(self, host: str) -> str:
        """A short ASCII word for the host: wait, run, ok, chg, FAIL, LOST, skip, stop."""
        st = self.host_state.get(host, "pending")
        if st == "failed":
            c = self.cells.get((host, self.failed_step(host) or ""))
            return "STOP" if c is not None and c.interrupted else "FAIL"
        if st == "lost":
            return "LOST"
        if st == "skipped":
            return "skip"
        if st == "running":
            return "run"
        if st == "done":
            mine = [c.status for (h, _), c in self.cells.items() if h == host]
            if any(s == "skipped" for s in mine) and self.status in ("aborted", "interrupted", "stopped"):
                return "part"
            return "chg" if "changed" in mine else "ok"
        return "wait"

    @property
    def active(self) -> bool:
        return self.status in ("starting", "running")

    # -- updating (called by the bridge's subscriber) ----------------------------------------

    def _touch(self, host: str | None = None) -> None:
        self.version += 1
        if host is not None:
            self.changed_hosts.add(host)

    def _host_done(self, host: str) -> None:
        if self.host_state.get(host) in ("failed", "lost", "skipped"):
            return
        mine = [c for (h, _), c in self.cells.items() if h == host]
        if mine and all(c.status in FINISHED for c in mine):
            self.host_state[host] = "done"

    def apply(self, ev: Any) -> None:
        t = type(ev)
        if t is StepStarted:
            c = self.cells.setdefault((ev.host, ev.step_id), Cell())
            c.status, c.attempt, c.started = StepStatus.RUNNING, ev.attempt, monotonic()
            c.message = c.hint = ""
            c.interrupted = False
            self.host_state[ev.host] = "running"
            self.lost.pop(ev.host, None)
            self._touch(ev.host)
        elif t is StepFinished:
            c = self.cells.setdefault((ev.host, ev.step_id), Cell())
            c.status, c.duration, c.message, c.hint = ev.status, ev.duration_s, ev.message, ev.hint
            c.interrupted = ev.interrupted
            if ev.attempt:
                c.attempt = max(c.attempt, ev.attempt)
            if ev.status == "failed" and self.host_state.get(ev.host) not in ("skipped", "lost"):
                self.host_state[ev.host] = "failed"
            else:
                self._host_done(ev.host)
            self._touch(ev.host)
        elif t is HostLost:
            self.host_state[ev.host] = "lost"
            self.lost[ev.host] = ev.reason
            self._touch(ev.host)
        elif t is HostSkipped:
            self.host_state[ev.host] = "skipped"
            self._touch(ev.host)
        elif t is StepsPlanned:
            self.steps = []
            for st in ev.stages:
                for s in st.get("steps", []):
                    col = StepColumn(s["id"], s.get("title", s["id"]), s.get("why", ""), st.get("stage", ""), list(s.get("hosts", [])))
                    self.steps.append(col)
                    for h in col.hosts:
                        self.cells.setdefault((h, col.id), Cell())
            self.columns_changed = True
            self._touch()
        elif t is RunStarted:
            self.run_id = ev.run_id
            for h in ev.hosts:
                if h not in self.host_state:
                    self.hosts.append(h)
                    self.host_state[h] = "pending"
            self.status = "running"
            self._touch()
        elif t is SubscriberFailed:
            self.failures.append(ev)
            self._touch()
        elif t is RunFinished:
            self.status = ev.status
            self.result = ev
            self.reason = ev.reason
            for h in self.hosts:
                self._host_done(h)
            self.changed_hosts.update(self.hosts)
            self._touch()


# the TUI's name for it
RunModel = RunState
