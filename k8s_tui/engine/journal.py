"""The run journal: every event on disk as it happens, and each host's raw output in its own log.

Layout, per run::

    <state>/runs/<run_id>/journal.jsonl     one JSON object per line (events; output in batches)
    <state>/runs/<run_id>/hosts/<host>.log  the host's raw output, with a marker line per step
    <state>/runs/<run_id>/plan.yaml         the plan the run applied (resume and rollback use it)
    <state>/runs/<run_id>/meta.json         run id, start time, plan name, hosts, resumed_from
    <state>/runs/<run_id>/summary.json      the per-host summary, written when the run ends

Output lines are the hot path: they are buffered and written in batches, at least every
``flush_interval`` (0.1 s) and before any other event, so a crash loses at most the last 100 ms of
output. Every other event is written and flushed at once. A journal line cut short by a crash is
ignored when read back.

Room for what matters is kept aside: the journal opens with a reserve file in the run's folder
(``.reserve``, up to 512 KiB, a quarter of the free space at most). When a write fails because
the disk is full, the journal frees the reserve and goes on in *essential* mode: output lines and
the host logs are dropped, every other event (a step's end, a host lost, the run's end) and
summary.json are still written, so the record says what changed on the hosts. It tells the bus
once (``SubscriberFailed``, critical, with ``missing_text()``), and the runner stops the run at the
next step boundary. Any other write failure (state dir gone read-only), or one in essential mode,
ends the journal: inside the bus's ``publish`` it raises and the bus reports it; on the flush timer
the journal reports it to the bus itself (``attach``).
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .events import (
    DONE_STATUSES,
    SubscriberFailed,
    HostLost,
    HostSkipped,
    OutputLine,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
)
from .state import run_dir, runs_dir

JOURNAL = "journal.jsonl"
PLAN = "plan.yaml"
META = "meta.json"
SUMMARY = "summary.json"
# the initial of each stream in an output batch's "streams" string
_STREAM_CODE = {"stdout": "o", "stderr": "e", "cmd": "c", "info": "i"}
_CODE_STREAM = {v: k for k, v in _STREAM_CODE.items()}


_NO_LOOP: Any = object()
RESERVE = ".reserve"
RESERVE_BYTES = 512 << 10


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def _fmt_time(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


class Journal:
    """A bus subscriber that writes the run to disk. Call ``close()`` when the run is over."""

    def __init__(self, run_id: str, base: Path | None = None, *, flush_interval: float = 0.1):
        self.run_id = run_id
        self.dir = run_dir(run_id, base)
        self.hosts_dir = self.dir / "hosts"
        self.hosts_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / JOURNAL
        self.flush_interval = flush_interval
        self._reserve = self.dir / RESERVE
        self._reserve_size = _make_reserve(self._reserve)
        self._f = open(self.path, "a", encoding="utf-8", buffering=1 << 20)
        self._pending: dict[str, list[OutputLine]] = {}  # host -> output lines waiting for the next flush
        self._n = 0
        self._logbuf: dict[str, list[str]] = {}  # marker lines waiting for the next flush
        self._logs: dict[str, Any] = {}
        self._last_flush = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._closed_by_error = False
        self._bus: Any = None
        self.error: OSError | None = None
        self.lines_written = 0
        self.essential_only = False  # the disk filled: only events that say what happened are written
        self.essential_since: float | None = None
        self.records_flushed = 0  # journal lines known to be on disk (handed to the OS)
        self.last_flushed_at: float | None = None  # time.time() of the last good flush
        self._records = 0

    def attach(self, bus: Any) -> None:
        """Subscribe to ``bus`` as the critical "journal", and report timer-flush errors to it."""
        self._bus = bus
        bus.subscribe(self, name="journal", critical=True)

    def missing_text(self) -> str:
        """What is not on disk since the journal broke, in words."""
        if self.essential_only and not self._closed_by_error:
            when = time.strftime("%H:%M:%S", time.localtime(self.essential_since or time.time()))
            return (f"the disk is full: output lines and host logs after {when} are dropped; {self.path} still gets "
                    f"every step's end and the run's end, and summary.json is written, from the room kept aside")
        when = time.strftime("%H:%M:%S", time.localtime(self.last_flushed_at)) if self.last_flushed_at else "the start"
        return (f"{self.path} ends with its last complete record ({self.records_flushed} records, written by {when}); "
                f"events and output after that are not on disk, and neither is summary.json")

    # -- set-up ------------------------------------------------------------------------------

    def write_plan(self, plan_yaml: str) -> None:
        tmp = self.dir / (PLAN + ".tmp")
        tmp.write_text(plan_yaml, encoding="utf-8")
        tmp.replace(self.dir / PLAN)

    def write_meta(self, meta: dict[str, Any]) -> None:
        _write_json(self.dir / META, meta)

    def host_log_path(self, host: str) -> Path:
        return self.hosts_dir / f"{host}.log"

    # -- the subscriber ----------------------------------------------------------------------

    def __call__(self, ev: Any) -> None:
        if type(ev) is OutputLine:  # the hot path: a dict lookup and an append; the rest at flush
            if self.essential_only:
                return
            lst = self._pending.get(ev.host)
            if lst is None:
                if self._closed:
                    return
                lst = self._pending[ev.host] = []
            lst.append(ev)
            self._n += 1
            if not self._n & 63 and time.monotonic() - self._last_flush >= self.flush_interval:
                self.flush()
            elif self._timer is None:
                self._arm_timer()
            return
        if not self._closed:
            self._write_event(ev)

    def _arm_timer(self) -> None:
        """Flush in flush_interval even if no more output comes (outside an event loop the line
        count check in __call__ and the flush at every other event do the job)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._timer = _NO_LOOP
            return
        self._timer = loop.call_later(self.flush_interval, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._closed:
            return
        try:
            self.flush()
        except OSError as e:  # on a timer there is no publish() to raise into: tell the bus
            if self._bus is not None:
                self._bus.fail(self, e, self.missing_text())

    def _broke(self, e: OSError) -> None:
        self.error = e
        self._closed = True  # write nothing more: a half-written journal is worse than a short one
        self._closed_by_error = True
        self._pending = {}
        self._logbuf = {}

    def _disk_full(self, e: OSError) -> bool:
        """The disk filled (or is about to): free the reserve and go on with the events that
        matter; True when the journal can go on that way (the bus is told once)."""
        if e.errno != errno.ENOSPC or self.essential_only or not self._reserve_size:
            return False
        self._reserve_size = 0  # once
        self._pending = {}
        self._logbuf = {}
        for f in self._logs.values():  # the host logs are output: let go of them
            try:
                f.close()
            except OSError:
                pass
        self._logs = {}
        try:
            self._reserve.unlink()
            self._f.flush()  # what the buffer holds goes into the room just freed, or this is no help
        except OSError:
            return False
        self.essential_only = True
        self.essential_since = time.time()
        self.error = e
        if self._bus is not None:
            self._bus.publish(SubscriberFailed(name="journal", error=str(e), critical=True, missing=self.missing_text()))
        return True

    def _room_left(self) -> None:
        """Before writing: when the free space falls under the reserve's size, go to essential
        mode now, before a write fails half way."""
        if self.essential_only or not self._reserve_size:
            return
        try:
            st = os.statvfs(self.dir)
        except OSError:
            return
        if st.f_bavail * st.f_frsize < self._reserve_size:
            self._disk_full(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    def _write_event(self, ev: Any) -> None:
        try:
            self._write_record(ev)
        except OSError as e:
            if self._disk_full(e):
                try:  # once more, from the freed room (a line cut short is skipped when read back)
                    self._f.write("\n")
                    self._write_record(ev)
                    return
                except OSError as e2:
                    e = e2
            self._broke(e)
            if self.essential_only:
                return  # the bus has been told
            raise

    def _write_record(self, ev: Any) -> None:
        self._flush_output()
        self._f.write(json.dumps(ev.to_dict(), ensure_ascii=False) + "\n")
        self._records += 1
        t = type(ev)
        if t is StepStarted:
            self._log_marker(ev.host, f"--- {_fmt_time(ev.ts)} {ev.step_id}: started" + (f" (attempt {ev.attempt})" if ev.attempt > 1 else ""))
        elif t is StepFinished:
            what = f"--- {_fmt_time(ev.ts)} {ev.step_id}: {ev.status}"
            if ev.duration_s:
                what += f" in {ev.duration_s:.1f}s"
            if ev.message:
                what += f": {ev.message}"
            self._log_marker(ev.host, what)
            if ev.hint:
                self._log_marker(ev.host, f"--- hint: {ev.hint}")
        elif t is HostLost:
            self._log_marker(ev.host, f"--- {_fmt_time(ev.ts)} host lost ({ev.kind}): {ev.reason}")
        elif t is HostSkipped:
            self._log_marker(ev.host, f"--- {_fmt_time(ev.ts)} host skipped: {ev.reason}")
        elif t is RunStarted:
            for h in ev.hosts:
                self._log_marker(h, f"=== {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(ev.ts))} run {ev.run_id} on {h}")
        elif t is RunFinished:
            _write_json(self.dir / SUMMARY, {"run_id": ev.run_id, "status": ev.status, "finished": ev.ts,
                                             "duration_s": ev.duration_s, "hosts": ev.summary})
        self.flush()

    def _log_marker(self, host: str, text: str) -> None:
        self._logbuf.setdefault(host, []).append(text)

    # -- flushing ----------------------------------------------------------------------------

    def _flush_output(self) -> None:
        """Write the pending output: one journal record per (host, step) and the host logs' lines."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        ts = round(time.time(), 3)
        w = self._f.write
        logbuf = self._logbuf
        for host, evs in pending.items():
            # a host runs one step at a time, so its lines form one run per step, in order
            if evs[0].step_id == evs[-1].step_id:
                runs = [evs]
            else:
                runs, start = [], 0
                for i in range(1, len(evs)):
                    if evs[i].step_id != evs[start].step_id:
                        runs.append(evs[start:i])
                        start = i
                runs.append(evs[start:])
            for run in runs:
                texts = [e.text for e in run]
                rec: dict[str, Any] = {"type": "output", "ts": ts, "host": host, "step_id": run[0].step_id, "lines": texts}
                streams = [e.stream for e in run]
                if streams.count("stdout") != len(streams):
                    rec["streams"] = "".join([_STREAM_CODE.get(x, "o") for x in streams])
                    if "info" in streams:
                        texts = [t if s != "info" else "[k8s-tui] " + t for t, s in zip(texts, streams)]
                w(json.dumps(rec))
                w("\n")
                self._records += 1
                self.lines_written += len(run)
                buf = logbuf.get(host)
                if buf is None:
                    logbuf[host] = texts
                else:
                    buf.extend(texts)

    def flush(self) -> None:
        """Write everything buffered and hand it to the OS (a crashed process loses nothing after
        this). A full disk switches to essential mode (above); another OSError marks the journal
        broken (it writes nothing more) and is raised."""
        try:
            self._flush()
        except OSError as e:
            if self._disk_full(e):
                try:
                    self._flush()
                    return
                except OSError as e2:
                    e = e2
            was = self.essential_only
            self._broke(e)
            if not was:
                raise

    def _flush(self) -> None:
        if self._timer is not None:
            if self._timer is not _NO_LOOP:
                self._timer.cancel()
            self._timer = None
        self._room_left()
        self._flush_output()
        self._f.flush()
        if self.essential_only:
            self._logbuf = {}
        if self._logbuf:
            for host, lines in self._logbuf.items():
                if not lines:
                    continue
                f = self._logs.get(host)
                if f is None:
                    f = self._logs[host] = open(self.host_log_path(host), "a", encoding="utf-8", errors="replace", buffering=1 << 20)
                f.write("\n".join(lines))
                f.write("\n")
                f.flush()
            self._logbuf = {}
        self._last_flush = time.monotonic()
        self.records_flushed = self._records
        self.last_flushed_at = time.time()

    def close(self) -> None:
        """Flush and close; an OSError here is raised (after closing every file) for the caller
        to report, unless the journal had already broken and said so."""
        reported = self.error is not None
        err: OSError | None = None
        if not self._closed:
            try:
                self.flush()
                os.fsync(self._f.fileno())
            except OSError as e:
                err = e
        self._closed = True
        for f in [self._f, *self._logs.values()]:
            try:
                f.close()
            except OSError as e:  # the buffer could not be written out: the same broken disk
                err = err or e
                self.error = self.error or e
        self._logs = {}
        try:
            self._reserve.unlink()
        except OSError:
            pass
        if err is not None and not reported:
            raise err


def _make_reserve(path: Path) -> int:
    """Set room aside for the journal's last records (see the module's doc); its size."""
    st = os.statvfs(path.parent)
    size = min(RESERVE_BYTES, st.f_bavail * st.f_frsize // 4) // 4096 * 4096
    if size <= 0:
        return 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
            os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return size


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# -- reading runs back -------------------------------------------------------------------------


def read_journal(run_id: str, base: Path | None = None, *, expand_output: bool = False) -> list[dict[str, Any]]:
    """The journal's records in order. Output batches stay batches unless ``expand_output``, which
    turns each into one {"type": "output", host, step_id, stream, text} per line."""
    path = run_dir(run_id, base) / JOURNAL
    if not path.exists():
        raise FileNotFoundError(f"no journal for run {run_id} at {path}")
    out: list[dict[str, Any]] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash
            if not isinstance(rec, dict):
                continue
            if expand_output and rec.get("type") == "output" and "lines" in rec:
                streams = rec.get("streams") or "o" * len(rec["lines"])
                for text, code in zip(rec["lines"], streams):
                    out.append({"type": "output", "host": rec["host"], "step_id": rec["step_id"],
                                "stream": _CODE_STREAM.get(code, "stdout"), "text": text})
            else:
                out.append(rec)
    return out


@dataclass
class DoneStep:
    status: str  # ok | changed | unchanged
    run_id: str  # the run that did it


def done_steps(run_id: str, base: Path | None = None) -> dict[str, dict[str, DoneStep]]:
    """host -> step_id -> how it finished, for the steps a run (or the run it resumed) completed."""
    done: dict[str, dict[str, DoneStep]] = {}
    for rec in read_journal(run_id, base):
        if rec.get("type") != "step_finished":
            continue
        host, step, status = rec.get("host"), rec.get("step_id"), rec.get("status")
        per = done.setdefault(host, {})
        if status in DONE_STATUSES:
            per[step] = DoneStep(status, run_id)
        elif status == "skipped" and rec.get("done_in"):
            prev = per.get(step)
            per[step] = DoneStep(prev.status if prev else "ok", rec["done_in"])
        else:
            per.pop(step, None)
    return done


@dataclass
class RunInfo:
    run_id: str
    path: Path
    started: float | None = None
    finished: float | None = None
    status: str = "incomplete"  # finished | aborted | interrupted | incomplete (crashed or still running)
    plan_name: str = ""
    hosts: list[str] = field(default_factory=list)
    resumed_from: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)  # host -> per-host summary
    dry_run: bool = False  # a dry run's record: nothing on any host was changed
    demo: bool = False  # the wizard's demo made it (its made-up hosts)

    @property
    def ok(self) -> bool:
        return self.status == "finished" and all(h.get("ok") for h in self.summary.values())


def run_info(run_id: str, base: Path | None = None) -> RunInfo:
    d = run_dir(run_id, base)
    if not (d / JOURNAL).exists():
        raise FileNotFoundError(f"no run {run_id} in {runs_dir(base)}")
    meta = _read_json(d / META) or {}
    summ = _read_json(d / SUMMARY) or {}
    info = RunInfo(
        run_id=run_id,
        path=d,
        started=meta.get("started"),
        plan_name=meta.get("plan_name", ""),
        hosts=list(meta.get("hosts", [])),
        resumed_from=meta.get("resumed_from"),
        dry_run=bool(meta.get("dry_run")),
        demo=bool(meta.get("demo")),
    )
    if summ:
        info.status = summ.get("status", "finished")
        info.finished = summ.get("finished")
        info.summary = summ.get("hosts", {})
    return info


def list_runs(base: Path | None = None) -> list[RunInfo]:
    """Every run in the state directory, oldest first."""
    root = runs_dir(base)
    if not root.is_dir():
        return []
    out = []
    for d in root.iterdir():
        if d.is_dir() and (d / JOURNAL).exists():
            try:
                out.append(run_info(d.name, base))
            except (FileNotFoundError, ValueError):
                continue
    out.sort(key=lambda r: (r.started or 0, r.run_id))
    return out


def run_chain(run_id: str, base: Path | None = None) -> list[str]:
    """The runs that are one change with ``run_id``, oldest first: the run it resumed (and the one
    that one resumed, back to the first) and every run that resumed one of them. A rollback of any
    of them restores the hosts to how they were before the first. Dry runs are never part of a
    chain (they changed nothing)."""
    runs = {r.run_id: r for r in list_runs(base) if not r.dry_run}
    if run_id not in runs:
        return [run_id]
    root, seen = run_id, {run_id}
    while (up := runs[root].resumed_from) in runs and up not in seen:
        root = up
        seen.add(up)
    chain = {root}
    grew = True
    while grew:
        grew = False
        for r in runs.values():
            if r.run_id not in chain and r.resumed_from in chain:
                chain.add(r.run_id)
                grew = True
    return sorted(chain, key=lambda r: (runs[r].started or 0, r))
