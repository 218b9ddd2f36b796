"""Log flood: 20 hosts x 50,000 lines through the run screen, as fast as the engine's bus takes them.

A synthetic engine source with the runner's face (``FloodRunner``) publishes the events a real run
publishes (RunStarted, StepsPlanned, StepStarted, OutputLine per line, StepFinished, RunFinished)
on a real ``EventBus``; the real ``Journal`` (journal.jsonl and one log file per host) and the run
screen's real ``RunBridge`` listen, exactly as in a run. A ``RunSession`` (``FloodSession``) holds
it in place of a runner, so the engine runs where a run's engine runs (its own thread). Each host publishes its lines in chunks of
``--chunk`` (an SSH channel hands over a packet of lines at a time) and yields to the event loop
between chunks, so the UI competes with the flood the way it would live.

The app is the real one (``make_app``), headless (``run_test``), showing the run screen at 120x40
on its default view (all hosts, the busiest log). During the flood the benchmark presses ``t``
(timestamps on/off: the log and its status line change) every 150 ms, the way a terminal delivers
a key (through the driver), and measures the time from the key to the first screen update that
shows the change.

Prints: seconds until every line is shown, key-to-screen latency (p50, p95), peak RSS, and lines
on disk vs lines sent. The last line is JSON. Targets: p95 <= 100 ms, RSS <= 250 MB, every line
on disk.

    python benchmarks/logflood.py [--hosts 20] [--lines 50000] [--chunk 256]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events  # noqa: E402

from k8s_tui.app import make_app  # noqa: E402
from k8s_tui.engine.events import (  # noqa: E402
    EventBus,
    OutputLine,
    RunFinished,
    RunStarted,
    StepFinished,
    StepsPlanned,
    StepStarted,
)
from k8s_tui.engine.journal import Journal  # noqa: E402
from k8s_tui.engine.run_state import RunState  # noqa: E402
from k8s_tui.engine.runner import RunPlan  # noqa: E402
from k8s_tui.engine.state import run_dir  # noqa: E402
from k8s_tui.model.hosts import Host  # noqa: E402
from k8s_tui.screens.run import RunScreen  # noqa: E402
from k8s_tui.session.run_session import RunSession  # noqa: E402

STEP = "flood"
# a mix like apt / kubeadm / image pulls: plain lines, coloured ones, a progress line with CRs, tabs
TEMPLATES = [
    "Get:{i} http://deb.debian.org/debian bookworm/main amd64 libsystemd0 amd64 252.{n}-1~deb12u1 [{k} kB]",
    "\x1b[32mI1126 10:{m:02d}:{s:02d}.123456    1234 round_trippers.go:553]\x1b[0m GET https://192.0.2.10:6443/healthz 200 OK in {n} milliseconds",
    "[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s ({i})",
    "Unpacking kubelet ({n}.31.2-1.1) over ({n}.31.1-1.1) ...\r",
    "Progress: [ {p:3d}%] [######################..........................]\rProgress: [ {p:3d}%] done",
    "net.ipv4.tcp_rmem = 4096\t131072\t{k}",
]


def make_line(host: str, i: int) -> str:
    t = TEMPLATES[i % len(TEMPLATES)]
    return f"{host} {i:06d} " + t.format(i=i, n=i % 997, k=i % 4096 + 1, m=(i // 60) % 60, s=i % 60, p=i % 101)


# The source must cost what a real one costs per line (the SSH executor splits a chunk of bytes and
# decodes it: well under a microsecond a line), so lines come from a pool made before the clock
# starts; each host's last line is unique, so "every line shown" can be checked.
POOL = [make_line("", i) for i in range(4096)]


def last_line(host: str, n: int) -> str:
    return f"{host} {n - 1:06d} last line of the flood"


class FloodRunner:
    """The runner's face (hosts, bus, run_id, journal, run(), and the controls) over a flood."""

    def __init__(self, hosts: int, lines: int, chunk: int, state_base: Path, run_id: str = "logflood") -> None:
        self.hosts = [Host(name=f"node-{i:02d}", address=f"192.0.2.{i + 1}") for i in range(hosts)]
        self.lines = lines
        self.chunk = chunk
        self.state_base = state_base
        self.run_id = run_id
        self.bus = EventBus()
        self.journal: Journal | None = None
        self.executor = None
        self.run_plan = RunPlan()  # no steps of a plan: the summary finds no cluster steps
        self.plan = None
        self.result: RunFinished | None = None
        self.failures: list = []
        self.sent = 0
        self.t_start = 0.0
        self.t_sent = 0.0

    async def run(self) -> RunFinished:
        self.journal = Journal(self.run_id, self.state_base)
        self.bus.subscribe(self.journal)
        pub = self.bus.publish
        names = [h.name for h in self.hosts]
        self.t_start = time.perf_counter()
        pub(RunStarted(run_id=self.run_id, plan={"name": "logflood"}, hosts=names, steps=[STEP]))
        pub(StepsPlanned(run_id=self.run_id, stages=[{"stage": "flood", "steps": [
            {"id": STEP, "title": "Flood", "why": "many lines", "serial": False, "hosts": names}]}]))
        for n in names:
            pub(StepStarted(host=n, step_id=STEP))
        await asyncio.gather(*(self._host(n) for n in names))
        self.t_sent = time.perf_counter()
        dur = round(self.t_sent - self.t_start, 3)
        for n in names:
            pub(StepFinished(host=n, step_id=STEP, status="ok", duration_s=dur, message=f"{self.lines} lines"))
        summary = {n: {"status": "ok", "ok": True, "steps": {STEP: "ok"}, "counts": {"ok": 1}, "duration_s": dur,
                       "failed_step": None, "message": "", "hint": ""} for n in names}
        ev = RunFinished(run_id=self.run_id, status="finished", summary=summary, duration_s=dur)
        self.result = ev
        pub(ev)
        self.journal.close()
        self.bus.unsubscribe(self.journal)
        return ev

    async def _host(self, name: str) -> None:
        pub = self.bus.publish
        n, chunk = self.lines, self.chunk
        pool, mask, prefix = POOL, len(POOL) - 1, name
        for start in range(0, n, chunk):
            end = min(n, start + chunk)
            for i in range(start, end):
                text = prefix + pool[i & mask] if i != n - 1 else last_line(name, n)
                pub(OutputLine(name, STEP, "stdout", text))
            self.sent += end - start
            await asyncio.sleep(0)

    # the controls a run screen may call
    def retry(self, host: str, step_id: str) -> bool:
        return False

    def skip_host(self, host: str) -> bool:
        return False

    def abort(self) -> None: ...

    def cancel(self) -> None: ...

    def finish(self) -> None: ...


class _NoExecutor:
    async def close(self) -> None: ...


class FloodSession(RunSession):
    """A run session around a ``FloodRunner`` instead of a runner of a plan's steps: everything else
    (where the engine runs, the run model, the controls) is the session's own."""

    def __init__(self, runner: FloodRunner) -> None:
        self.plan = None
        self.factory = None
        self.dry_run = True
        self.run_id = runner.run_id
        self.state_base = runner.state_base
        self.record = run_dir(runner.run_id, runner.state_base)
        self.executor = _NoExecutor()
        self.runner = runner  # type: ignore[assignment]
        self.model = RunState([h.name for h in runner.hosts])
        self.loop = None


def count_disk_lines(hosts_dir: Path) -> int:
    """Output lines in the per-host logs (the journal's marker lines left out)."""
    n = 0
    for p in hosts_dir.glob("*.log"):
        with open(p, "rb") as f:  # binary: a carriage return inside a line is not a line break
            for line in f:
                if not (line.startswith(b"--- ") or line.startswith(b"=== ")):
                    n += 1
    return n


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def bench(args: argparse.Namespace) -> dict:
    base = Path(tempfile.mkdtemp(prefix="k8s-tui-logflood-"))
    os.environ["K8S_TUI_STATE_DIR"] = str(base)
    runner = FloodRunner(args.hosts, args.lines, args.chunk, base)
    total = args.hosts * args.lines
    app = make_app(demo=True, theme="textual-dark")
    app.cursor_blink = False

    displays: list[float] = []
    pending_key: dict = {}
    latencies: list[float] = []

    def on_display() -> None:
        now = time.perf_counter()
        k = pending_key
        if k and k.get("applied") is not None and k["applied"] <= now:
            screen = k["screen"]
            status = screen.active_view().status_content().plain
            if ("time" in status) == k["want_time"]:
                latencies.append(now - k["posted"])
                if os.environ.get("LOGFLOOD_DEBUG"):
                    print(f"key: queued {1000 * (k['applied'] - k['posted']):.1f} ms, "
                          f"shown {1000 * (now - k['applied']):.1f} ms later", file=sys.stderr)
                pending_key.clear()
        displays.append(now)

    app.post_display_hook = on_display  # type: ignore[method-assign]

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = RunScreen(FloodSession(runner), demo=True, autostart=False, engine_thread=not args.inline_engine)
        await app.push_screen(screen)
        await pilot.pause()
        orig = screen.action_toggle_timestamps

        def toggled() -> None:
            orig()
            if pending_key:
                pending_key["applied"] = time.perf_counter()

        screen.action_toggle_timestamps = toggled  # type: ignore[method-assign]
        gc.collect()
        cpu0 = time.process_time()
        screen.start()
        t0 = time.perf_counter()
        shown_at = None
        next_key = t0 + 0.3
        presses = 0
        want_time = False
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            if runner.sent < total and not pending_key and now >= next_key:
                want_time = not want_time
                pending_key.update(posted=time.perf_counter(), applied=None, want_time=want_time, screen=screen)
                app._driver.send_message(events.Key("t", "t"))  # as the terminal delivers it
                presses += 1
                next_key = now + 0.15
            if pending_key and now - pending_key["posted"] > 5:
                latencies.append(now - pending_key["posted"])  # never shown: counts as a 5 s+ stall
                pending_key.clear()
            view = screen.active_view()
            if (shown_at is None and runner.sent >= total and screen.bridge.lines_in >= total
                    and view is not None and view.seen == view.store.total):
                # the visible log holds the newest line of every host
                last = {last_line(h.name, args.lines) for h in runner.hosts}
                store = view.store.lines
                k = min(len(store), args.hosts * (args.chunk + 4) + 16)
                tail = {line[2] for line in islice(store, len(store) - k, None)}
                if last <= tail:
                    shown_at = time.perf_counter()
            if shown_at is not None and not screen.model.active:
                break
            if now - t0 > args.timeout:
                print("timed out", file=sys.stderr)
                break
        await pilot.pause()
        cpu1 = time.process_time()
        shot = app.export_screenshot()
        sent = runner.sent
        rss = peak_rss_mb()
    journal_dir = base / "runs" / runner.run_id
    on_disk = count_disk_lines(journal_dir / "hosts")
    lat_ms = sorted(x * 1000 for x in latencies)

    def pct(p: float) -> float:
        if not lat_ms:
            return float("nan")
        return lat_ms[min(len(lat_ms) - 1, int(round(p / 100 * (len(lat_ms) - 1))))]

    result = {
        "hosts": args.hosts,
        "lines_per_host": args.lines,
        "lines_sent": sent,
        "lines_on_disk": on_disk,
        "lines_in_journal": runner.journal.lines_written if runner.journal else 0,
        "seconds_to_send": round(runner.t_sent - runner.t_start, 3),
        "seconds": round((shown_at or time.perf_counter()) - t0, 3),
        "key_presses": len(lat_ms),
        "p50_ms": round(statistics.median(lat_ms), 1) if lat_ms else None,
        "p95_ms": round(pct(95), 1) if lat_ms else None,
        "max_ms": round(lat_ms[-1], 1) if lat_ms else None,
        "peak_rss_mb": round(rss, 1),
        "cpu_seconds": round(cpu1 - cpu0, 2),
        "load_avg": round(os.getloadavg()[0], 1),
        "screenshot_ok": "node-" in shot,
        "state_dir": str(base),
    }
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hosts", type=int, default=20)
    p.add_argument("--lines", type=int, default=50_000)
    p.add_argument("--chunk", type=int, default=256, help="lines a host publishes before yielding to the loop")
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--inline-engine", action="store_true",
                   help="run the engine on the UI's event loop instead of its own thread (to compare)")
    p.add_argument("--keep", action="store_true", help="keep the run's journal and logs")
    args = p.parse_args()
    r = asyncio.run(bench(args))
    ok = {
        "p95 <= 100 ms": r["p95_ms"] is not None and r["p95_ms"] <= 100,
        "RSS <= 250 MB": r["peak_rss_mb"] <= 250,
        "every line on disk": r["lines_on_disk"] == r["lines_sent"],
    }
    print(f"hosts x lines:        {r['hosts']} x {r['lines_per_host']:,} = {r['lines_sent']:,} lines sent")
    print(f"sent in:              {r['seconds_to_send']:.2f} s")
    print(f"all lines shown in:   {r['seconds']:.2f} s")
    print(f"key -> screen:        p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, max {r['max_ms']} ms ({r['key_presses']} presses of t)")
    print(f"peak RSS:             {r['peak_rss_mb']:.1f} MB")
    print(f"CPU used:             {r['cpu_seconds']:.1f} s (load average {r['load_avg']} on {os.cpu_count()} CPUs)")
    print(f"lines on disk / sent: {r['lines_on_disk']:,} / {r['lines_sent']:,} (journal records {r['lines_in_journal']:,})")
    for name, good in ok.items():
        print(f"  {'ok  ' if good else 'MISS'} {name}")
    if not args.keep:
        import shutil

        shutil.rmtree(r["state_dir"], ignore_errors=True)
    out = {k: r[k] for k in ("lines_sent", "lines_on_disk", "p50_ms", "p95_ms", "peak_rss_mb", "seconds", "cpu_seconds")}
    print(json.dumps(out))
    return 0 if all(ok.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
