"""What a lab run produces: timeline events as they happen, and the outcome at the end."""

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
    agrees: bool
    tolerance: str  # how close measured and predicted must be, in words
    timeline: list[Event] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["timeline"] = [e.to_json() for e in self.timeline]
        return {k: d[k] for k in ("experiment", "settings", "kernel", "measured", "predicted", "agrees", "timeline", "tolerance", "notes")}


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


def show_value(v: Any) -> str:
    """A measured or predicted value as the CLI and the wizard print it."""
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return ", ".join(show_value(x) for x in v) or "-"
    if isinstance(v, dict):
        return ", ".join(f"{k} +{d}" for k, d in v.items()) or "-"
    return "-" if v is None else str(v)
