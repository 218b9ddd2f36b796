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
from .quick import factor as quick_factor
from .quick import note as quick_note_text
from .quick import scaled
from .timeline import Recorder, wait_until
from .wire import Sniffer

NAME = "tcp_keepalive"
CLIENT, SERVER = "client", "server"
CLIENT_ADDR, SERVER_ADDR, PORT = "198.18.0.1", "198.18.0.2", 8081

NFT_PEER_GONE = f"""table inet k8s_tui_lab {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp dport {PORT} counter drop
  }}
}}
"""


def _values(settings: dict[str, Any]) -> tuple[int, int, int]:
    return tuple(int(settings.get(k, d)) for k, d in zip((KEY_KA_TIME, KEY_KA_INTVL, KEY_KA_PROBES), DEFAULT_KEEPALIVE))  # type: ignore[return-value]


TAKES_QUICK = True
KEYS = (KEY_KA_TIME, KEY_KA_INTVL, KEY_KA_PROBES)


def run_values(settings: dict[str, Any], quick: bool = False) -> tuple[dict[str, int], str | None]:
    """The values the client namespace gets (all three) and, when --quick scaled them, the note."""
    given = dict(zip(KEYS, _values(settings)))
    full = predict_keepalive(*given.values())["give_up_s"]
    by = quick_factor(full) if quick else 1
    if by == 1:
        return given, None
    ran = {KEY_KA_TIME: scaled(given[KEY_KA_TIME], by), KEY_KA_INTVL: scaled(given[KEY_KA_INTVL], by), KEY_KA_PROBES: given[KEY_KA_PROBES]}
    return ran, quick_note_text(ran, given, by, full)


def quick_note(settings: dict[str, Any]) -> str:
    return run_values(settings, True)[1] or "--quick: short enough to run at full length"


def expected_seconds(settings: dict[str, Any], kernel: KernelVersion | None, quick: bool = False) -> float:
    return predict(settings, kernel, quick)["give_up_s"]


def predict(settings: dict[str, Any], kernel: KernelVersion | None, quick: bool = False) -> dict[str, Any]:
    return predict_keepalive(*run_values(settings, quick)[0].values())


def run(lab: Lab, settings: dict[str, Any], kernel: KernelVersion | None, rec: Recorder, deadline: float, quick: bool = False) -> tuple[dict, dict, bool, str]:
    lab.add(CLIENT)
    lab.add(SERVER)
    lab.link(CLIENT, "c0", f"{CLIENT_ADDR}/30", SERVER, "s0", f"{SERVER_ADDR}/30")
    values, scaled_note = run_values(settings, quick)
    for key, value in (values if scaled_note else settings).items():
        lab.sysctl(CLIENT, key, format_value(value))
    if scaled_note:
        rec.add("note", scaled_note)
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

        def step(wait: float) -> bool:
            nonlocal give_up, error
            for key, _ in sel.select(timeout=wait):
                if key.fileobj is sniffer:
                    take()
                elif give_up is None:
                    give_up = time.monotonic() - t0
                    err = client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    error = errno.errorcode.get(err, str(err)) if err else "readable without error"
                    rec.add("state", f"the client's socket fails with {error} after {len(probes)} probes")
            return give_up is not None

        wait_until(rec, step, deadline=deadline, expected_s=predicted["give_up_s"], timeout_note="hard time limit reached: the kernel did not give up in time")
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
