"""What a lab run produces: timeline events as they happen, and the outcome at the end; and the
one waiting loop every timed experiment uses (``wait_until``: poll, emit a progress event every
second with the elapsed time and the estimate, give up at the hard limit)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    t: float  # seconds since the experiment started
    kind: str  # "setup", "syn", "state", "counter", "probe", "progress", "note"
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    before_start: bool = False  # setting up, before the experiment's start moment (t < 0 in the end)

    def to_json(self) -> dict[str, Any]:
        return {"t": round(self.t, 3), "kind": self.kind, "text": self.text, **({"data": self.data} if self.data else {})}


Emit = Callable[[Event], None]


@dataclass
class Outcome:
    experiment: str
    settings: dict[str, str]
    kernel: str
    measured: dict[str, Any]
    predicted: dict[str, Any]
    agrees: bool | None  # None: the run failed before it could measure (``error`` says why)
    tolerance: str  # how close measured and predicted must be, in words
    timeline: list[Event] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # why the run stopped before its end (a command failed, interrupted)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["timeline"] = [e.to_json() for e in self.timeline]
        keys = ("experiment", "settings", "kernel", "measured", "predicted", "agrees", "timeline", "tolerance", "notes")
        return {k: d[k] for k in keys} | ({"error": self.error} if self.error else {})


class Recorder:
    """Collects events and hands each one to ``emit`` the moment it happens.

    Times are seconds since ``zero()`` (the experiment's start moment, e.g. connect()). Events
    before it (setting up the namespaces) are emitted with ``before_start`` and, once ``zero()``
    is called, kept with negative times, so the stored timeline reads in one clock.
    """

    def __init__(self, emit: Emit | None = None, clock: Callable[[], float] | None = None):
        import time

        self._clock = clock or time.monotonic
        self.t0 = self._clock()
        self.events: list[Event] = []
        self._emit = emit
        self.started = False

    def now(self) -> float:
        return self._clock() - self.t0

    def clock(self) -> float:
        """The clock's reading (time.monotonic unless a test gave another): deadlines are in it."""
        return self._clock()

    def zero(self) -> float:
        now = self._clock()
        shift = now - self.t0
        self.events = [dataclasses.replace(e, t=e.t - shift) for e in self.events]
        self.t0 = now
        self.started = True
        return now

    def add(self, kind: str, text: str, at: float | None = None, **data: Any) -> Event:
        """Record one event; ``at`` is a clock reading (when a packet was seen), default now."""
        t = (at - self.t0) if at is not None else self.now()
        event = Event(t, kind, text, data, before_start=not self.started)
        self.events.append(event)
        if self._emit:
            self._emit(event)
        return event


PROGRESS_EVERY_S = 1.0  # how often a waiting experiment reports (the CLI's bar and the wizard's move with it)
POLL_S = 0.5  # the longest one wait step may block


def progress_event(rec: Recorder, expected_s: float, what: str = "waiting") -> Event:
    """One progress event: seconds since the experiment's start and the estimate of its length."""
    elapsed = rec.now()
    return rec.add("progress", f"{what}: {elapsed:.0f} s of about {expected_s:g} s", elapsed=round(elapsed, 1), total=round(expected_s, 3))


def wait_until(
    rec: Recorder,
    step: Callable[[float], bool],
    *,
    deadline: float,
    expected_s: float,
    timeout_note: str,
    what: str = "waiting",
    every: float = PROGRESS_EVERY_S,
    poll_s: float = POLL_S,
) -> bool:
    """Call ``step(max_wait_s)`` until it returns True (the thing waited for happened); emit a
    progress event every ``every`` seconds of the experiment's clock; at ``deadline`` (a monotonic
    time) add ``timeout_note`` and return False. ``step`` does the waiting itself (select, a short
    sleep) for at most the seconds it is given."""
    next_progress = (int(rec.now() / every) + 1) * every
    while True:
        left = deadline - rec.clock()
        if left <= 0:
            rec.add("note", timeout_note)
            return False
        if step(min(left, poll_s, max(0.0, next_progress - rec.now()) or poll_s)):
            return True
        if rec.now() >= next_progress:
            progress_event(rec, expected_s, what)
            next_progress = (int(rec.now() / every) + 1) * every


def show_value(v: Any) -> str:
    """A measured or predicted value as the CLI and the wizard print it."""
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return ", ".join(show_value(x) for x in v) or "-"
    if isinstance(v, dict):
        return ", ".join(f"{k} +{d}" for k, d in v.items()) or "-"
    return "-" if v is None else str(v)
