"""The one place where engine events become something the UI can show.

``RunBridge`` subscribes to a run's ``EventBus``. Its subscriber is on the hot path (it runs inside
the engine's ``publish`` once per output line), so it does the least possible there: every event is
appended to one pending list, in arrival order, and a status event also posts a ``StatusChanged``
message, at most one until the UI has looked. Nothing is posted per output line. The subscriber may
run in the engine's own thread (session/engine_loop.py): appending and posting are thread-safe; the
session's run model (``engine.run_state.RunState``, the one reducer) and the stores change only in
``drain()``, on the UI's side.

The UI calls ``drain()`` on a timer (every 80 ms) and on ``StatusChanged``: status events update the
model, in order with the output; pending lines go, as they came (raw), into
bounded per-host stores and into the all-hosts store (the same item in both), with one time stamp
per drain. Step markers ("--- sysctl: failed ...") land between the lines where their events
arrived. A store keeps ``max_lines`` lines; the full output is in the per-host log files the
journal writes. Lines are cleaned for display (``engine.text.clean_line``) only when a log view
shows them, so the work per flush is bounded by what one view keeps, however fast lines arrive.

A stored line is ``(kind, host, text)``: kind is the stream (stdout, stderr, cmd, info: raw text)
or ``marker`` / ``mark`` (text made here, already clean).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from itertools import islice
from time import time
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump

from ..engine.events import HostLost, HostSkipped, OutputLine, RunFinished, StepFinished, StepStarted, SubscriberFailed
from ..engine.run_state import RunState
from ..engine.text import clean_line

RAW_KINDS = frozenset({"stdout", "stderr", "cmd", "info"})  # text as the host sent it: clean before showing
Line = tuple[str, str, str]  # (kind, host, text)

DEFAULT_MAX_LINES = 5000


class LineStore:
    """The newest ``maxlen`` lines of one log, how many were ever added (a view remembers the count
    it has shown, so it can tell what is new, or that it fell behind and must rebuild), and when
    they came: ``stamps`` holds (index of the first line of a drain, time of that drain)."""

    __slots__ = ("lines", "total", "stamps")

    def __init__(self, maxlen: int) -> None:
        self.lines: deque[Line] = deque(maxlen=maxlen)
        self.total = 0
        self.stamps: deque[tuple[int, float]] = deque(maxlen=maxlen)

    @property
    def maxlen(self) -> int:
        return self.lines.maxlen or 0

    @property
    def first_index(self) -> int:
        """The index (counted since the first line ever) of the oldest line kept."""
        return self.total - len(self.lines)

    def add(self, items: list[Line], ts: float) -> None:
        if not items:
            return
        if not self.stamps or self.stamps[-1][1] != ts:
            self.stamps.append((self.total, ts))
        self.lines.extend(items)
        self.total += len(items)

    def since(self, seen: int) -> list[Line] | None:
        """The lines added after ``seen`` were added; None when some of them are gone already."""
        n = self.total - seen
        if n <= 0:
            return []
        if n > len(self.lines):
            return None
        if n == len(self.lines):
            return list(self.lines)
        return list(islice(self.lines, len(self.lines) - n, None))

    def times(self, first: int, count: int) -> list[float]:
        """The arrival time of ``count`` lines from index ``first`` on."""
        stamps = list(self.stamps)
        if not stamps:
            return [0.0] * count
        out: list[float] = []
        j = max(0, bisect_right(stamps, (first, float("inf"))) - 1)
        nxt = stamps[j + 1][0] if j + 1 < len(stamps) else None
        ts = stamps[j][1]
        for k in range(first, first + count):
            while nxt is not None and k >= nxt:
                j += 1
                ts = stamps[j][1]
                nxt = stamps[j + 1][0] if j + 1 < len(stamps) else None
            out.append(ts)
        return out


# ------------------------------------------------------------------------------ the bridge


def _fmt_dur(s: float) -> str:
    return f"{s:.1f}s"


class RunBridge:
    """Subscribe with ``RunBridge(bus, target, hosts)``; call ``drain()`` on a timer; ``close()``."""

    class StatusChanged(Message):
        """Something in the model changed (posted once until the UI calls ``status_seen``)."""

    class Finished(Message):
        """The run is over (RunFinished arrived)."""

        def __init__(self, result: RunFinished) -> None:
            super().__init__()
            self.result = result

    def __init__(self, bus: Any, target: MessagePump, hosts: list[str], *, model: RunState | None = None,
                 max_lines: int = DEFAULT_MAX_LINES, all_max_lines: int | None = None) -> None:
        self.bus = bus
        self.target = target
        self.max_lines = max_lines
        self.model = model if model is not None else RunState(list(hosts))
        self.stores: dict[str, LineStore] = {h: LineStore(max_lines) for h in hosts}
        self.all = LineStore(all_max_lines or max_lines)
        # filled by the subscriber (maybe on the engine's thread), emptied by drain() (the UI's):
        # only appends on one side, only "copy the first n, then delete them" on the other, and
        # the lists are never replaced, so nothing is lost between the two threads
        self._per: dict[str, list[Line]] = {h: [] for h in hosts}
        self._every: list[Line] = []
        self._status: list[Any] = []
        self._posted = False
        self._lines_in = 0
        self._unsubscribe = bus.subscribe(self, name="the screen")

    @property
    def lines_in(self) -> int:
        """Output lines received so far."""
        return self._lines_in

    # -- the subscriber (hot path) -----------------------------------------------------------

    def __call__(self, ev: Any) -> None:
        if type(ev) is OutputLine:
            line = (ev.stream, ev.host, ev.text)
            lst = self._per.get(ev.host)
            if lst is None:
                lst = self._per.setdefault(ev.host, [])
            lst.append(line)
            self._every.append(line)
            self._lines_in += 1
            return
        self._status.append(ev)
        for line in self._markers(ev):
            lst = self._per.get(line[1])
            if lst is None:
                lst = self._per.setdefault(line[1], [])
            lst.append(line)
            self._every.append(line)
        if type(ev) is RunFinished:
            self.target.post_message(self.Finished(ev))
        if not self._posted:
            self._posted = True
            self.target.post_message(self.StatusChanged())

    def status_seen(self) -> None:
        """The UI read the model; the next status change posts a message again."""
        self._posted = False

    def close(self) -> None:
        self._unsubscribe()

    # -- draining (on the UI's timer) --------------------------------------------------------

    def store(self, host: str | None) -> LineStore:
        """The store of one host, or the all-hosts store for None."""
        if host is None:
            return self.all
        s = self.stores.get(host)
        if s is None:
            s = self.stores[host] = LineStore(self.max_lines)
        return s

    @staticmethod
    def _take(lst: list) -> list:
        n = len(lst)
        if not n:
            return []
        batch = lst[:n]
        del lst[:n]  # what the other thread appended meanwhile stays, for the next drain
        return batch

    def drain(self) -> set[str]:
        """Apply the status events to the model and move the lines into the stores (whole batches:
        no work per line here); returns the hosts that got lines."""
        ts = time()
        for ev in self._take(self._status):
            self.model.apply(ev)
        got: set[str] = set()
        for host, lst in list(self._per.items()):
            if lst:
                self.store(host).add(self._take(lst), ts)
                got.add(host)
        if self._every:
            self.all.add(self._take(self._every), ts)
        return got

    def add_mark(self, host: str | None, text: str) -> None:
        """A separator the user asked for, in one host's log (or in the all-hosts view)."""
        line = ("mark", host or "", text)
        if host is None:
            self.all.add([line], time())
        else:
            self.store(host).add([line], time())

    @staticmethod
    def _markers(ev: Any) -> list[Line]:
        t = type(ev)
        if t is StepStarted:
            again = f" (attempt {ev.attempt})" if ev.attempt > 1 else ""
            return [("marker", ev.host, f"--- {ev.step_id}: started{again}")]
        if t is StepFinished:
            what = f"--- {ev.step_id}: {ev.status}"
            if ev.status != "skipped" or ev.duration_s:
                what += f" in {_fmt_dur(ev.duration_s)}"
            if ev.message:
                what += f": {ev.message}"
            out = [("marker", ev.host, clean_line(what))]
            if ev.hint and ev.status == "failed":
                out.append(("marker", ev.host, clean_line(f"--- hint: {ev.hint}")))
            return out
        if t is HostLost:
            return [("marker", ev.host, clean_line(f"--- host lost ({ev.kind}): {ev.reason}"))]
        if t is HostSkipped:
            return [("marker", ev.host, f"--- host skipped: {ev.reason}")]
        if t is SubscriberFailed:  # in the all-hosts log, where it is seen whatever host is shown
            return [("marker", "", clean_line(f"--- {ev.name} stopped working: {ev.error}"))]
        return []
