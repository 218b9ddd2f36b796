"""Experiment tcp_keepalive: an idle connection whose peer vanishes.

A client with SO_KEEPALIVE connects to a server that accepts; then nftables in the server
namespace drops everything from the client, as if the server had gone. The client namespace
has the given tcp_keepalive_time / _intvl / _probes; a packet socket on the server's interface
sees each probe arrive before the drop, and the client's socket fails with ETIMEDOUT when the
kernel gives up. Times count from the moment the connection was established (the keepalive
timer starts there, tcp_finish_connect()).
"""

from __future__ import annotations

import errno
import selectors
import socket
import time
from typing import Any

from ..knowledge.consequences import DEFAULT_KEEPALIVE, KEY_KA_INTVL, KEY_KA_PROBES, KEY_KA_TIME
from ..knowledge.values import KernelVersion, format_value
from .netns import Lab, inside
from .predict import keepalive_agree, predict_keepalive, timer_tolerance
from .timeline import Recorder
from .wire import Sniffer

NAME = "tcp_keepalive"
CLIENT, SERVER = "client", "server"
CLIENT_ADDR, SERVER_ADDR, PORT = "198.18.0.1", "198.18.0.2", 8081
PROGRESS_EVERY_S = 5.0

NFT_PEER_GONE = f"""table inet k8s_tui_lab {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp dport {PORT} counter drop
  }}
}}
"""


def _values(settings: dict[str, Any]) -> tuple[int, int, int]:
    return tuple(int(settings.get(k, d)) for k, d in zip((KEY_KA_TIME, KEY_KA_INTVL, KEY_KA_PROBES), DEFAULT_KEEPALIVE))  # type: ignore[return-value]


def expected_seconds(settings: dict[str, Any], kernel: KernelVersion | None) -> float:
    return predict_keepalive(*_values(settings))["give_up_s"]


def run(lab: Lab, settings: dict[str, Any], kernel: KernelVersion | None, rec: Recorder, deadline: float) -> tuple[dict, dict, bool, str]:
    lab.add(CLIENT)
    lab.add(SERVER)
    lab.link(CLIENT, "c0", f"{CLIENT_ADDR}/30", SERVER, "s0", f"{SERVER_ADDR}/30")
    for key, value in settings.items():
        lab.sysctl(CLIENT, key, format_value(value))
    ka = [int(lab.read_sysctl(CLIENT, k)) for k in (KEY_KA_TIME, KEY_KA_INTVL, KEY_KA_PROBES)]
    rec.add("setup", f"client namespace: tcp_keepalive_time={ka[0]}, tcp_keepalive_intvl={ka[1]}, tcp_keepalive_probes={ka[2]}")
    predicted = predict_keepalive(*ka)
    times = predicted["probe_times_s"]
    rec.add("note", f"predicted: {predicted['probes']} probes at {', '.join(f'{t:g}' for t in times)} s; the connection is reset at {predicted['give_up_s']:g} s")
    with inside(lab.ns(SERVER)):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with inside(lab.ns(CLIENT)):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sel = selectors.DefaultSelector()
    sniffer = peer = None
    probes: list[float] = []
    give_up = error = None
    try:
        listener.bind((SERVER_ADDR, PORT))
        listener.listen(1)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # before connect: the timer starts when it is established
        client.settimeout(5)
        client.connect((SERVER_ADDR, PORT))
        t0 = rec.zero()
        listener.settimeout(5)
        peer, _ = listener.accept()
        rec.add("state", f"connected {CLIENT_ADDR} -> {SERVER_ADDR}:{PORT} with SO_KEEPALIVE; idle from now")
        with inside(lab.ns(SERVER)):
            sniffer = Sniffer("s0")
        lab.exec(SERVER, ["nft", "-f", "-"], stdin=NFT_PEER_GONE)
        rec.add("state", "the server vanishes: its namespace now drops everything from the client")
        client.setblocking(False)
        sel.register(sniffer, selectors.EVENT_READ)
        sel.register(client, selectors.EVENT_READ)
        next_progress = PROGRESS_EVERY_S

        def take() -> None:
            for seen, seg in sniffer.read():
                if seg.dport != PORT:
                    continue
                if seg.flags & 0x04:
                    rec.add("state", "client sends RST: it has given the connection up", at=seen)
                elif seg.flags == 0x10:
                    probes.append(seen - t0)
                    n = len(probes)
                    hint = f" (predicted at {times[n - 1]:g} s)" if n <= len(times) else " (not predicted)"
                    rec.add("syn", f"keepalive probe #{n} on the wire, unanswered{hint}", at=seen, n=n)

        while give_up is None:
            left = deadline - time.monotonic()
            if left <= 0:
                rec.add("note", "hard time limit reached: the kernel did not give up in time")
                break
            for key, _ in sel.select(timeout=min(left, 0.5)):
                if key.fileobj is sniffer:
                    take()
                else:
                    give_up = time.monotonic() - t0
                    err = client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    error = errno.errorcode.get(err, str(err)) if err else "readable without error"
                    rec.add("state", f"the client's socket fails with {error} after {len(probes)} probes")
            elapsed = time.monotonic() - t0
            if give_up is None and elapsed >= next_progress:
                rec.add("progress", f"waiting: {elapsed:.0f} s of about {predicted['give_up_s']:g} s", elapsed=round(elapsed, 1))
                next_progress += PROGRESS_EVERY_S
        if sniffer is not None:
            time.sleep(0.05)  # the RST the client sends as it gives up is on its way
            take()
    finally:
        sel.close()
        for s in (client, peer, listener, sniffer):
            if s is not None:
                s.close()
    measured = {"give_up_s": round(give_up, 3) if give_up is not None else None, "probes": len(probes), "probe_times_s": [round(t, 3) for t in probes], "error": error}
    tolerance = f"the same number of probes; give-up {timer_tolerance(predicted['give_up_s'])}"
    return measured, predicted, keepalive_agree(measured, predicted), tolerance
