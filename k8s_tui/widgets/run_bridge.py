"""The one place where engine events become something the UI can show.

``RunBridge`` subscribes to a run's ``EventBus``. Its subscriber is on the hot path (it runs inside
the engine's ``publish`` once per output line), so it does the least possible there: every event is
appended to one pending list, in arrival order, and a status event also posts a ``StatusChanged``
message, at most one until the UI has looked. Nothing is posted per output line. The subscriber may
run in the engine's own thread (``EngineThread``): appending and posting are thread-safe; the view
model (``RunModel``) and the stores change only in ``drain()``, on the UI's side.

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

import asyncio
import threading
from bisect import bisect_right
from collections import deque
from itertools import islice
from dataclasses import dataclass, field
from time import monotonic, time
from collections.abc import Awaitable, Callable
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump

from ..engine.events import (
    DONE_STATUSES,
    HostLost,
    HostSkipped,
    OutputLine,
    RunFinished,
    RunStarted,
    StepFinished,
    StepsPlanned,
    StepStarted,
)
from ..engine.text import clean_line

RAW_KINDS = frozenset({"stdout", "stderr", "cmd", "info"})  # text as the host sent it: clean before showing
Line = tuple[str, str, str]  # (kind, host, text)

DEFAULT_MAX_LINES = 5000

FINISHED = frozenset((*DONE_STATUSES, "failed", "skipped"))


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


# ------------------------------------------------------------------------------ the view model


@dataclass
class Cell:
    """One host x step cell of the grid."""

    status: str = "pending"  # pending | running | ok | changed | unchanged | failed | skipped
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
class RunModel:
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

    def __post_init__(self) -> None:
        for h in self.hosts:
            self.host_state.setdefault(h, "pending")

    # -- reading -----------------------------------------------------------------------------

    def cell(self, host: str, step_id: str) -> Cell | None:
        return self.cells.get((host, step_id))

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
            if any(s == "skipped" for s in mine) and self.status in ("aborted", "interrupted"):
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
            c.status, c.attempt, c.started = "running", ev.attempt, monotonic()
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
        elif t is RunFinished:
            self.status = ev.status
            self.result = ev
            for h in self.hosts:
                self._host_done(h)
            self.changed_hosts.update(self.hosts)
            self._touch()


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

    def __init__(self, bus: Any, target: MessagePump, hosts: list[str], *, max_lines: int = DEFAULT_MAX_LINES,
                 all_max_lines: int | None = None) -> None:
        self.bus = bus
        self.target = target
        self.max_lines = max_lines
        self.model = RunModel(list(hosts))
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
        self._unsubscribe = bus.subscribe(self)

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
        return []


# ------------------------------------------------------------------------------ the engine's thread


class EngineThread:
    """Runs the engine (a runner's ``run()``) on its own asyncio loop in a thread.

    Output floods are the engine's work (every line is published, journaled and written to its
    host's log); on the UI's loop they would make every turn of that loop long, and a key press
    waits for several turns before the screen shows it. On its own loop the engine takes turns
    with the UI for the interpreter instead, a few milliseconds at a time. Controls (retry, skip,
    abort, cancel) are called on the engine's loop; their results come back on the UI's loop.
    """

    def __init__(self, name: str = "k8s-tui-engine") -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self.ui_loop = asyncio.get_running_loop()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.started = threading.Event()
        self.task: asyncio.Task | None = None
        self.error: BaseException | None = None
        self.result: Any = None

    def start(self, factory: Callable[[], Awaitable[Any]]) -> None:
        self._factory = factory
        self.thread.start()
        self.started.wait(5)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.task = self.loop.create_task(self._factory())
            self.started.set()
            self.result = self.loop.run_until_complete(self.task)
        except BaseException as e:  # CancelledError included: the caller looks at it
            self.error = e
        finally:
            self.started.set()
            try:
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            finally:
                self.loop.close()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and not self.loop.is_closed()

    def call(self, fn: Callable[..., Any], *args: Any, then: Callable[[Any], None] | None = None) -> bool:
        """Call ``fn(*args)`` on the engine's loop; ``then(result)`` runs later on the UI's loop."""
        if not self.alive:
            return False

        def run() -> None:
            try:
                result = fn(*args)
            except Exception as e:  # a control that raised: the UI says so
                result = e
            if then is not None:
                self.ui_loop.call_soon_threadsafe(then, result)

        try:
            self.loop.call_soon_threadsafe(run)
        except RuntimeError:  # the loop closed in between
            return False
        return True

    def cancel(self) -> None:
        """Cancel the engine's task (the runner journals the run as interrupted)."""
        if self.task is not None and self.alive:
            try:
                self.loop.call_soon_threadsafe(self.task.cancel)
            except RuntimeError:
                pass

    async def wait(self) -> None:
        """Wait (on the UI's loop) until the engine's thread has ended."""
        await asyncio.to_thread(self.thread.join)

    def join(self, timeout: float | None = None) -> None:
        if self.thread.is_alive():
            self.thread.join(timeout)


class InlineEngine:
    """The same face as ``EngineThread``, running the engine on the UI's own loop."""

    def __init__(self, screen: Any) -> None:
        self.screen = screen
        self.error: BaseException | None = None
        self.result: Any = None
        self._worker = None
        self.alive = False

    def start(self, factory: Callable[[], Awaitable[Any]]) -> None:
        async def main() -> None:
            self.alive = True
            try:
                self.result = await factory()
            except BaseException as e:
                self.error = e
            finally:
                self.alive = False

        self._worker = self.screen.run_worker(main(), name="engine", group="engine", exit_on_error=False)

    def call(self, fn: Callable[..., Any], *args: Any, then: Callable[[Any], None] | None = None) -> bool:
        try:
            result = fn(*args)
        except Exception as e:
            result = e
        if then is not None:
            then(result)
        return True

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    async def wait(self) -> None:
        if self._worker is not None:
            await self._worker.wait()

    def join(self, timeout: float | None = None) -> None:
        pass
