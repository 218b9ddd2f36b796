"""Experiment tcp_tw_reuse: open and close connections to one server ip:port as fast as possible,
from a narrow ip_local_port_range, until connect() fails with EADDRNOTAVAIL; once with
tcp_tw_reuse=0 and once with the given value.

The client closes first, so every connection leaves a TIME_WAIT socket on the client holding its
port (the server closes only after it read the client's FIN). Each side has its own client
namespace (a TIME_WAIT of one must not block the other) joined to one server namespace by its own
veth pair, with the given ip_local_port_range (100 ports when none is given) and tcp_timestamps.
For ``window`` seconds the client connects, closes, and when connect() says EADDRNOTAVAIL retries
every few milliseconds; TcpExt.TWRecycled in the client namespace counts each TIME_WAIT port that
was taken over. The rules and their kernel sources are in predict.py (tcp_tw_reuse).
"""

from __future__ import annotations

import errno
import socket
import time
from typing import Any

from ..knowledge.consequences import KEY_PORT_RANGE, KEY_TIMESTAMPS, KEY_TW_REUSE
from ..knowledge.values import KernelVersion, format_value
from .netns import Lab, LabError, inside, proc_counters, read_proc_net
from .predict import connect_ports, predict_tw_reuse, reuse_applies, tw_reuse_agree, tw_reuse_tolerance
from .timeline import Recorder, progress_event
from .wire import tcp_state_count

NAME = "tcp_tw_reuse"
SERVER = "server"
PORT = 8083
LAB_PORT_RANGE = (40000, 40099)  # when none is given: 100 ports, a burst of well under a second
MAX_PORTS = 1000  # more and the burst could outlast the reuse delay on a slow machine (settings.py refuses)
KEY_REUSE_DELAY = "net.ipv4.tcp_tw_reuse_delay"  # linux 6.14+, milliseconds (older kernels: a fixed second)
DEFAULT_REUSE_DELAY_MS = 1000
WINDOW_DELAYS = 4.5  # each side runs for 4.5 reuse delays: 5 batches with reuse, never on a boundary
QUICK_WINDOW_DELAYS = 2.5
RETRY_S = 0.002  # how soon connect() is tried again after EADDRNOTAVAIL
TAKES_QUICK = True
QUICK_NOTE = f"--quick: each side opens connections for {QUICK_WINDOW_DELAYS:g} reuse delays instead of {WINDOW_DELAYS:g} (2.5 s instead of 4.5 s)"
TIME_WAIT = "06"  # /proc/net/tcp state
# role, client interface, client address, server interface, server address
SIDES = (("client0", "c0", "198.18.0.1", "s0", "198.18.0.2"), ("client", "c1", "198.18.0.5", "s1", "198.18.0.6"))


def given_reuse(settings: dict[str, Any]) -> int:
    """The value compared with 0: the one given, or 1 (reuse on any link) when only the range or
    timestamps were given."""
    return int(settings.get(KEY_TW_REUSE, 1))


def reuse_values(settings: dict[str, Any]) -> list[int]:
    v = given_reuse(settings)
    return [0] if v == 0 else [0, v]


def window_s(quick: bool = False) -> float:
    return (QUICK_WINDOW_DELAYS if quick else WINDOW_DELAYS) * DEFAULT_REUSE_DELAY_MS / 1000


def expected_seconds(settings: dict[str, Any], kernel: KernelVersion | None, quick: bool = False) -> float:
    return window_s(quick) * len(reuse_values(settings))


def _port_range(settings: dict[str, Any]) -> tuple[int, int]:
    lo, hi = settings.get(KEY_PORT_RANGE, LAB_PORT_RANGE)
    return int(lo), int(hi)


def predict(settings: dict[str, Any], kernel: KernelVersion | None, quick: bool = False) -> dict[str, Any]:
    """What the knowledge base predicts for the given value alone (no namespace read)."""
    ts = int(settings.get(KEY_TIMESTAMPS, 1))
    return predict_tw_reuse(connect_ports(*_port_range(settings)), reuse_applies(given_reuse(settings), ts), DEFAULT_REUSE_DELAY_MS / 1000, window_s(quick))


def _reuse_delay_s(lab: Lab, role: str) -> tuple[float, bool]:
    """(the reuse delay in seconds, whether this kernel has the sysctl)."""
    try:
        return int(lab.read_sysctl(role, KEY_REUSE_DELAY)) / 1000, True
    except LabError:  # before 6.14: one second, counted from the last timestamp seen
        return DEFAULT_REUSE_DELAY_MS / 1000, False


def _churn(lab: Lab, role: str, server: str, listener: socket.socket, rec: Recorder, label: str, window: float,
           progress: tuple[float, list[float]]) -> dict[str, Any]:
    """Open, close (client first), accept, close, as fast as possible for ``window`` seconds."""
    ns = lab.ns(role)
    before = proc_counters(read_proc_net(ns, "netstat")).get("TcpExt.TWRecycled", 0)
    done = refused = 0
    until = first_tw = first_reuse = burst = None
    used: set[int] = set()
    start = time.monotonic()
    end = start + window
    expected_s, next_progress = progress
    while (now := time.monotonic()) < end:
        if rec.now() >= next_progress[0]:
            progress_event(rec, expected_s, "opening and closing connections")
            next_progress[0] = int(rec.now()) + 1.0
        with inside(ns):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            c.connect((server, PORT))
        except OSError as e:
            c.close()
            if e.errno != errno.EADDRNOTAVAIL:
                raise LabError(f"connect() to {server}:{PORT}: {errno.errorcode.get(e.errno, e.errno)}") from None
            refused += 1
            if until is None:
                until, burst = done, now - start
                rate = done / burst if burst > 0 else 0.0
                rec.add("counter", f"{label}: {done} connections in {burst:.3f} s ({rate:.0f}/s), then connect() failed with "
                        f"EADDRNOTAVAIL: every port of the range holds a TIME_WAIT towards {server}:{PORT}", connections=done)
            time.sleep(RETRY_S)
            continue
        connected = time.monotonic()
        used.add(c.getsockname()[1])
        c.close()  # the client closes first: this side's socket will end in TIME_WAIT
        conn, _ = listener.accept()
        conn.settimeout(5)
        conn.recv(1)  # the client's FIN
        conn.close()
        if first_tw is None:
            first_tw = time.monotonic()
        if until is not None and first_reuse is None:
            first_reuse = connected - first_tw
            rec.add("state", f"{label}: connect() works again: a port still in TIME_WAIT was taken over, "
                    f"{first_reuse:.3f} s after the first connection entered TIME_WAIT", first_reuse_s=round(first_reuse, 3))
        done += 1
    text = read_proc_net(ns, "tcp")
    recycled = proc_counters(read_proc_net(ns, "netstat")).get("TcpExt.TWRecycled", 0) - before
    tw_now = tcp_state_count(text, TIME_WAIT, remote_port=PORT)
    rec.add("counter", f"{label}: {done} connections in {window:g} s ({done / window:.0f}/s), connect() refused {refused} times "
            f"with EADDRNOTAVAIL; TcpExt.TWRecycled +{recycled}; {tw_now} sockets in TIME_WAIT now", connections=done, tw_recycled=recycled)
    return {
        "ports": len(used),
        "connections_until_eaddrnotavail": until,
        "first_reuse_s": round(first_reuse, 3) if first_reuse is not None else None,
        "connections": done,
        "rate_per_s": round(done / window, 1),
        "tw_recycled": recycled,
        "burst_rate_per_s": round(until / burst, 1) if until and burst else None,
        "eaddrnotavail": refused,
        "time_wait_now": tw_now,
    }


def run(lab: Lab, settings: dict[str, Any], kernel: KernelVersion | None, rec: Recorder, deadline: float, quick: bool = False) -> tuple[dict, dict, bool, str]:
    values = reuse_values(settings)
    window = window_s(quick)
    lab.add(SERVER)
    sides = SIDES[-len(values):] if len(values) == 1 else SIDES
    for (role, c_if, c_addr, s_if, s_addr), value in zip(sides, values):
        lab.add(role)
        lab.link(role, c_if, f"{c_addr}/30", SERVER, s_if, f"{s_addr}/30")
        for key, v in settings.items():
            if key != KEY_TW_REUSE:
                lab.sysctl(role, key, format_value(v))
        if KEY_PORT_RANGE not in settings:
            lab.sysctl(role, KEY_PORT_RANGE, f"{LAB_PORT_RANGE[0]} {LAB_PORT_RANGE[1]}")
        lab.sysctl(role, KEY_TW_REUSE, str(value))
    measured: dict[str, Any] = {}
    predicted: dict[str, Any] = {}
    notes: list[str] = []
    agreements: list[bool] = []
    with inside(lab.ns(SERVER)):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("0.0.0.0", PORT))
        listener.listen(4096)
        listener.settimeout(5)
        expected = window * len(values)
        next_progress = [1.0]
        rec.zero()
        for (role, _, c_addr, _, s_addr), value in zip(sides, values):
            lo, hi = (int(x) for x in lab.read_sysctl(role, KEY_PORT_RANGE).split())
            ts = int(lab.read_sysctl(role, KEY_TIMESTAMPS))
            delay, has_delay = _reuse_delay_s(lab, role)
            label = f"tcp_tw_reuse={value}"
            reuse = reuse_applies(value, ts)
            pred = predict_tw_reuse(connect_ports(lo, hi), reuse, delay, window)
            why = ("TIME_WAIT ports are taken over " + (f"{delay * 1000:g} ms (tcp_tw_reuse_delay) after they entered TIME_WAIT" if has_delay
                   else "within a second after the last timestamp seen (whole seconds: this kernel has no tcp_tw_reuse_delay)")) if reuse else (
                  "no port frees before TIME_WAIT ends (60 s)" + (": 2 reuses only on loopback and this is a veth between namespaces" if value == 2 else "")
                  + ("; tcp_timestamps=0: no timestamps, no reuse" if not ts else ""))
            rec.add("setup", f"{label}: client namespace {lab.ns(role)} ({c_addr}) -> {s_addr}:{PORT}; ip_local_port_range={lo} {hi} "
                    f"({pred['ports']} ports for connect()), tcp_timestamps={ts}")
            rec.add("note", f"{label}: predicted: EADDRNOTAVAIL after {pred['ports']} connections; {why}; "
                    f"{pred['connections']} connections in {window:g} s")
            got = _churn(lab, role, s_addr, listener, rec, label, window, (expected, next_progress))
            if time.monotonic() > deadline:
                raise LabError("hard time limit reached")
            if reuse and got["burst_rate_per_s"] and pred["ports"] / got["burst_rate_per_s"] >= delay:
                notes.append(f"{label}: this machine opened connections slower than ports free up; the prediction assumes a burst shorter than {delay:g} s")
            agreements.append(tw_reuse_agree(got, pred) if has_delay else tw_reuse_agree(got, pred, early_s=delay))
            suffix = "" if value == values[-1] else "_without_reuse"
            measured |= {k + suffix: v for k, v in got.items()}
            predicted |= {k + suffix: v for k, v in pred.items()}
            if got["connections_until_eaddrnotavail"] is None:
                rec.add("note", f"{label}: connect() never failed with EADDRNOTAVAIL")
    finally:
        listener.close()
    measured["window_s"] = window
    agrees = len(agreements) == len(values) and all(agreements)
    tolerance = tw_reuse_tolerance() + ("; " + "; ".join(notes) if notes else "")
    return measured, predicted, agrees, tolerance
