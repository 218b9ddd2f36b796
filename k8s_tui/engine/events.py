"""What the runner tells the world, and the bus that carries it.

Every event is a small dataclass with a ``type`` field and only JSON types inside, so the journal
writes ``to_dict()`` as it is and ``event_from_dict`` reads it back. Consumers (the UI, the
headless printer, the journal, the per-host logs) subscribe to an ``EventBus``; nothing in the
engine knows who is listening.

``OutputLine`` is the hot path (one per line of remote output): it uses ``__slots__``, is built
without a timestamp call, and the bus delivers it with one loop over plain callables.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, Literal

log = logging.getLogger(__name__)


class StepStatus(StrEnum):
    """Where one step stands on one host. A StrEnum: it compares equal to its value and goes into
    the journal's JSON as that plain string."""

    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"  # read-only work done (facts, probes)
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # the host was already as wanted
    FAILED = "failed"
    SKIPPED = "skipped"


STEP_STATUSES = (StepStatus.OK, StepStatus.CHANGED, StepStatus.UNCHANGED, StepStatus.FAILED, StepStatus.SKIPPED)
DONE_STATUSES = frozenset({StepStatus.OK, StepStatus.CHANGED, StepStatus.UNCHANGED})  # needs no rerun
FINISHED_STATUSES = frozenset({*DONE_STATUSES, StepStatus.FAILED, StepStatus.SKIPPED})
# stdout / stderr: the command's streams; cmd: the command line about to run ("$ sysctl -n ...");
# info: a step's own log line (ctx.log)
OutputStream = Literal["stdout", "stderr", "cmd", "info"]


def _now() -> float:
    return round(time.time(), 3)


@dataclass(slots=True, kw_only=True)
class Event:
    type: str = field(init=False, default="event")
    ts: float = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True, kw_only=True)
class RunStarted(Event):
    type: str = field(init=False, default="run_started")
    run_id: str
    plan: dict[str, Any]  # summary: name, tool, kubernetes_version, sysctl_file, keys
    hosts: list[str]
    steps: list[str]
    resumed_from: str | None = None


@dataclass(slots=True, kw_only=True)
class StepsPlanned(Event):
    """The grid: every stage, its steps, and the hosts each step runs on, in order."""

    type: str = field(init=False, default="steps_planned")
    run_id: str
    # [{"stage": name, "serial": bool, "steps": [{"id", "title", "why", "hosts": [...]}]}]
    stages: list[dict[str, Any]]


@dataclass(slots=True, kw_only=True)
class StepStarted(Event):
    type: str = field(init=False, default="step_started")
    host: str
    step_id: str
    attempt: int = 1


@dataclass(slots=True)
class OutputLine:
    """One raw line (no newline; ANSI escapes and CRs kept) from a command on a host."""

    host: str
    step_id: str
    stream: str  # OutputStream
    text: str
    type: str = field(init=False, default="output")

    def to_dict(self) -> dict[str, Any]:
        return {"type": "output", "host": self.host, "step_id": self.step_id, "stream": self.stream, "text": self.text}


@dataclass(slots=True, kw_only=True)
class StepFinished(Event):
    type: str = field(init=False, default="step_finished")
    host: str
    step_id: str
    status: StepStatus
    duration_s: float = 0.0
    message: str = ""
    hint: str = ""
    attempt: int = 1
    done_in: str | None = None  # skipped because this run already finished it
    interrupted: bool = False  # cancelled while running (Ctrl+C, cancel())


@dataclass(slots=True, kw_only=True)
class HostLost(Event):
    type: str = field(init=False, default="host_lost")
    host: str
    reason: str
    kind: str = "lost"  # ExecError.kind


@dataclass(slots=True, kw_only=True)
class HostSkipped(Event):
    """The user gave up on a host (skip_host): its remaining steps are skipped."""

    type: str = field(init=False, default="host_skipped")
    host: str
    reason: str = "skipped by the user"


@dataclass(slots=True, kw_only=True)
class SubscriberFailed(Event):
    """A consumer of the events broke (the journal could not write: disk full, state dir
    read-only; a host's log; a front end) and no longer hears the run. Every front end shows it;
    when the journal is the one, the runner stops the run at the next step boundary."""

    type: str = field(init=False, default="subscriber_failed")
    name: str  # "journal", "printer", ...
    error: str
    critical: bool = False  # the run cannot go on safely without it
    missing: str = ""  # what is not on disk because of it, in words


@dataclass(slots=True, kw_only=True)
class RunFinished(Event):
    type: str = field(init=False, default="run_finished")
    run_id: str
    status: str  # finished | aborted | interrupted
    # host -> {"status": ok|changed|unchanged|failed|lost|skipped|interrupted, "ok": bool,
    #          "steps": {step_id: status}, "failed_step", "message", "hint", "duration_s"}
    summary: dict[str, dict[str, Any]]
    duration_s: float = 0.0
    reason: str = ""  # why the run stopped early, when something other than the user stopped it


EVENT_TYPES: dict[str, type] = {
    c.__dataclass_fields__["type"].default: c
    for c in (RunStarted, StepsPlanned, StepStarted, OutputLine, StepFinished, HostLost, HostSkipped,
              SubscriberFailed, RunFinished)
}


def event_from_dict(d: dict[str, Any]) -> Any:
    """The event a journal line holds (unknown keys ignored, so old journals stay readable)."""
    cls = EVENT_TYPES.get(d.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type {d.get('type')!r}")
    names = {f.name for f in fields(cls) if f.init}
    kw = {k: v for k, v in d.items() if k in names}
    if cls is StepFinished and "status" in kw:
        kw["status"] = StepStatus(kw["status"])
    return cls(**kw)


Subscriber = Callable[[Any], None]


class EventBus:
    """Synchronous fan-out to any number of subscribers, in the order they subscribed.

    A subscriber that raises is dropped, and the others hear a ``SubscriberFailed`` saying which
    and why (so no consumer goes missing without a word). Subscribers must be quick (buffer, then
    do the slow part on a timer): they run on the event loop.
    """

    def __init__(self) -> None:
        self._subs: tuple[Subscriber, ...] = ()  # a tuple: publishing iterates a stable snapshot
        self._names: dict[int, tuple[str, bool]] = {}  # id(fn) -> (name, critical)

    def subscribe(self, fn: Subscriber, *, name: str = "", critical: bool = False) -> Callable[[], None]:
        self._subs = (*self._subs, fn)
        self._names[id(fn)] = (name or getattr(fn, "__name__", type(fn).__name__), critical)
        return lambda: self.unsubscribe(fn)

    def unsubscribe(self, fn: Subscriber) -> None:
        self._subs = tuple(s for s in self._subs if s is not fn)
        self._names.pop(id(fn), None)

    @property
    def subscribers(self) -> list[Subscriber]:
        return list(self._subs)

    def publish(self, event: Any) -> None:
        for fn in self._subs:
            try:
                fn(event)
            except Exception as e:
                self.fail(fn, e)

    def fail(self, fn: Subscriber, error: BaseException, missing: str = "") -> None:
        """Drop a subscriber that broke and tell the others (also for a subscriber that found
        its own error outside ``publish``, on a timer)."""
        if fn not in self._subs:
            return
        name, critical = self._names.get(id(fn), ("subscriber", False))
        # the front ends show the SubscriberFailed below; the traceback is for whoever debugs
        log.debug("event subscriber %s failed and is dropped: %s", name, error, exc_info=error)
        self.unsubscribe(fn)
        text = f"{type(error).__name__}: {error}" if not isinstance(error, OSError) else str(error)
        self.publish(SubscriberFailed(name=name, error=text, critical=critical,
                                      missing=missing or getattr(fn, "missing_text", lambda: "")()))
