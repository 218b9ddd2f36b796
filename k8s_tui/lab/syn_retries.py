"""Experiment tcp_syn_retries: connect() to a peer that never answers.

Two namespaces joined by a veth pair; nftables in the server namespace drops every SYN to the
port (and counts them), a packet socket on the server's interface sees each SYN arrive before the
drop. The client namespace gets the given tcp_syn_retries / tcp_syn_linear_timeouts; a
non-blocking connect() there fails with ETIMEDOUT when the kernel gives up.
"""

from __future__ import annotations

import errno
import json
import selectors
import socket
import time
from typing import Any

from ..knowledge.consequences import DEFAULT_SYN_LINEAR_TIMEOUTS, DEFAULT_SYN_RETRIES, KEY_SYN_LINEAR, KEY_SYN_RETRIES, LINEAR_SYN_SINCE
from ..knowledge.values import KernelVersion, format_value
from .netns import Lab, LabError, inside
from .predict import predict_syn_retries, syn_retries_agree, timer_tolerance
from .timeline import Recorder, wait_until
from .wire import Sniffer

NAME = "tcp_syn_retries"
CLIENT, SERVER = "client", "server"
CLIENT_ADDR, SERVER_ADDR, PORT = "198.18.0.1", "198.18.0.2", 7

NFT_DROP_SYNS = f"""table inet k8s_tui_lab {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp dport {PORT} tcp flags & (syn | ack) == syn counter drop
  }}
}}
"""


def _has_linear(kernel: KernelVersion | None) -> bool:
    return kernel is None or kernel >= LINEAR_SYN_SINCE


def expected_seconds(settings: dict[str, Any], kernel: KernelVersion | None) -> float:
    return predict(settings, kernel)["give_up_s"]


def predict(settings: dict[str, Any], kernel: KernelVersion | None) -> dict[str, Any]:
    retries = int(settings.get(KEY_SYN_RETRIES, DEFAULT_SYN_RETRIES))
    linear = int(settings.get(KEY_SYN_LINEAR, DEFAULT_SYN_LINEAR_TIMEOUTS)) if _has_linear(kernel) else 0
    return predict_syn_retries(retries, linear, kernel)


def tolerance_text(predicted: dict[str, Any]) -> str:
    return f"the same number of SYNs; give-up {timer_tolerance(predicted['give_up_s'])}"


def _dropped(lab: Lab) -> int | None:
    """The nftables drop counter in the server namespace."""
    try:
        ruleset = json.loads(lab.exec(SERVER, ["nft", "-j", "list", "ruleset"]))
    except (LabError, ValueError):
        return None
    for item in ruleset.get("nftables", []):
        for expr in item.get("rule", {}).get("expr", []):
            if "counter" in expr:
                return int(expr["counter"]["packets"])
    return None


def run(lab: Lab, settings: dict[str, Any], kernel: KernelVersion | None, rec: Recorder, deadline: float) -> tuple[dict, dict, bool, str]:
    lab.add(CLIENT)
    lab.add(SERVER)
    lab.link(CLIENT, "c0", f"{CLIENT_ADDR}/30", SERVER, "s0", f"{SERVER_ADDR}/30")
    lab.exec(SERVER, ["nft", "-f", "-"], stdin=NFT_DROP_SYNS)
    rec.add("setup", f"namespaces {lab.ns(CLIENT)} ({CLIENT_ADDR}) and {lab.ns(SERVER)} ({SERVER_ADDR}); nftables in the server drops every SYN to port {PORT}")
    for key, value in settings.items():
        lab.sysctl(CLIENT, key, format_value(value))
    retries = int(lab.read_sysctl(CLIENT, KEY_SYN_RETRIES))
    linear = int(lab.read_sysctl(CLIENT, KEY_SYN_LINEAR)) if _has_linear(kernel) else 0
    in_ns = f"{KEY_SYN_RETRIES}={retries}" + (f", {KEY_SYN_LINEAR}={linear}" if _has_linear(kernel) else "")
    rec.add("setup", f"client namespace: {in_ns}")
    predicted = predict_syn_retries(retries, linear, kernel)
    times = predicted["syn_times_s"]
    rec.add("note", f"predicted: {predicted['syns']} SYNs at {', '.join(f'{t:g}' for t in times)} s; connect() gives up at {predicted['give_up_s']:g} s")

    with inside(lab.ns(SERVER)):
        sniffer = Sniffer("s0")
    with inside(lab.ns(CLIENT)):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    syns: list[float] = []
    give_up: float | None = None
    error = None
    try:
        sel.register(sniffer, selectors.EVENT_READ)
        sel.register(sock, selectors.EVENT_WRITE)
        t0 = rec.zero()
        code = sock.connect_ex((SERVER_ADDR, PORT))
        rec.add("state", f"connect() to {SERVER_ADDR}:{PORT}: {errno.errorcode.get(code, code)}, socket in SYN_SENT")

        def take_syns() -> None:
            for seen, seg in sniffer.read():
                if seg.is_syn and seg.dport == PORT:
                    syns.append(seen - t0)
                    n = len(syns)
                    hint = f" (predicted at {times[n - 1]:g} s)" if n <= len(times) else " (not predicted)"
                    label = "first SYN" if n == 1 else f"retransmission {n - 1}"
                    rec.add("syn", f"SYN #{n} on the wire, {label}{hint}", at=seen, n=n, src=f"{seg.src}:{seg.sport}")

        def step(wait: float) -> bool:
            nonlocal give_up, error
            for key, _ in sel.select(timeout=wait):
                if key.fileobj is sniffer:
                    take_syns()
                elif give_up is None:
                    give_up = time.monotonic() - t0
                    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    error = errno.errorcode.get(err, str(err)) if err else "connected"
                    take_syns()
                    rec.add("state", f"connect() failed with {error}: SYN_SENT -> CLOSED after {len(syns)} SYNs")
            return give_up is not None

        wait_until(rec, step, deadline=deadline, expected_s=predicted["give_up_s"], timeout_note="hard time limit reached: the kernel did not give up in time")
    finally:
        sel.close()
        sock.close()
        sniffer.close()
    dropped = _dropped(lab)
    if dropped is not None:
        rec.add("counter", f"nftables in the server namespace dropped {dropped} SYNs", dropped=dropped)
    measured = {
        "give_up_s": round(give_up, 3) if give_up is not None else None,
        "syns": len(syns),
        "syn_times_s": [round(t, 3) for t in syns],
        "error": error,
        "dropped": dropped,
    }
    return measured, predicted, syn_retries_agree(measured, predicted), tolerance_text(predicted)
