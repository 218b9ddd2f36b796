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
from typing import Any, Literal

log = logging.getLogger(__name__)

StepStatus = Literal["ok", "changed", "unchanged", "failed", "skipped"]
STEP_STATUSES = ("ok", "changed", "unchanged", "failed", "skipped")
DONE_STATUSES = ("ok", "changed", "unchanged")  # a step in one of these needs no rerun
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
    status: str  # StepStatus
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
class RunFinished(Event):
    type: str = field(init=False, default="run_finished")
    run_id: str
    status: str  # finished | aborted | interrupted
    # host -> {"status": ok|changed|unchanged|failed|lost|skipped|interrupted, "ok": bool,
    #          "steps": {step_id: status}, "failed_step", "message", "hint", "duration_s"}
    summary: dict[str, dict[str, Any]]
    duration_s: float = 0.0


EVENT_TYPES: dict[str, type] = {
    c.__dataclass_fields__["type"].default: c
    for c in (RunStarted, StepsPlanned, StepStarted, OutputLine, StepFinished, HostLost, HostSkipped, RunFinished)
}


def event_from_dict(d: dict[str, Any]) -> Any:
    """The event a journal line holds (unknown keys ignored, so old journals stay readable)."""
    cls = EVENT_TYPES.get(d.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type {d.get('type')!r}")
    names = {f.name for f in fields(cls) if f.init}
    return cls(**{k: v for k, v in d.items() if k in names})


Subscriber = Callable[[Any], None]


class EventBus:
    """Synchronous fan-out to any number of subscribers, in the order they subscribed.

    A subscriber that raises is logged and dropped; the run goes on. Subscribers must be quick
    (buffer, then do the slow part on a timer): they run on the event loop.
    """

    def __init__(self) -> None:
        self._subs: tuple[Subscriber, ...] = ()  # a tuple: publishing iterates a stable snapshot

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        self._subs = (*self._subs, fn)
        return lambda: self.unsubscribe(fn)

    def unsubscribe(self, fn: Subscriber) -> None:
        self._subs = tuple(s for s in self._subs if s is not fn)

    @property
    def subscribers(self) -> list[Subscriber]:
        return list(self._subs)

    def publish(self, event: Any) -> None:
        for fn in self._subs:
            try:
                fn(event)
            except Exception:
                log.exception("event subscriber %r raised; it is dropped", fn)
                self.unsubscribe(fn)
