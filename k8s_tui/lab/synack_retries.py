"""Experiment tcp_synack_retries: a half-open connection on the server.

The client namespace sends one bare SYN from a raw socket and drops every SYN-ACK that comes back
(nftables, before its TCP stack could answer with a RST), so the server's request waits in
SYN_RECV for an ACK that never comes. A packet socket on the client's interface sees each SYN-ACK
arrive; /proc/net/tcp in the server namespace shows when the server gives the request up.
"""

from __future__ import annotations

import selectors
import socket
import time
from typing import Any

from ..knowledge.consequences import DEFAULT_SYNACK_RETRIES, KEY_SYNACK_RETRIES
from ..knowledge.values import KernelVersion, format_value
from .netns import Lab, inside, read_proc_net
from .predict import predict_synack_retries, synack_retries_agree, timer_tolerance
from .timeline import Recorder, wait_until
from .wire import Sniffer, syn_recv_count, tcp_syn

NAME = "tcp_synack_retries"
CLIENT, SERVER = "client", "server"
CLIENT_ADDR, SERVER_ADDR, PORT, CLIENT_PORT = "198.18.0.1", "198.18.0.2", 8080, 40000
POLL_S = 0.02  # how often the server's /proc/net/tcp is read while waiting

NFT_DROP_SYNACKS = f"""table inet k8s_tui_lab {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp sport {PORT} tcp flags & (syn | ack) == syn | ack counter drop
  }}
}}
"""


def expected_seconds(settings: dict[str, Any], kernel: KernelVersion | None) -> float:
    return predict_synack_retries(int(settings.get(KEY_SYNACK_RETRIES, DEFAULT_SYNACK_RETRIES)))["give_up_s"]


def predict(settings: dict[str, Any], kernel: KernelVersion | None) -> dict[str, Any]:
    return predict_synack_retries(int(settings.get(KEY_SYNACK_RETRIES, DEFAULT_SYNACK_RETRIES)))


def run(lab: Lab, settings: dict[str, Any], kernel: KernelVersion | None, rec: Recorder, deadline: float) -> tuple[dict, dict, bool, str]:
    lab.add(CLIENT)
    lab.add(SERVER)
    lab.link(CLIENT, "c0", f"{CLIENT_ADDR}/30", SERVER, "s0", f"{SERVER_ADDR}/30")
    lab.exec(CLIENT, ["nft", "-f", "-"], stdin=NFT_DROP_SYNACKS)
    for key, value in settings.items():
        lab.sysctl(SERVER, key, format_value(value))
    retries = int(lab.read_sysctl(SERVER, KEY_SYNACK_RETRIES))
    rec.add("setup", f"server namespace: {KEY_SYNACK_RETRIES}={retries}; the client drops every SYN-ACK, so it never ACKs")
    predicted = predict_synack_retries(retries)
    times = predicted["synack_times_s"]
    rec.add("note", f"predicted: {predicted['synacks']} SYN-ACKs at {', '.join(f'{t:g}' for t in times)} s; the server drops the half-open connection at {predicted['give_up_s']:g} s")
    with inside(lab.ns(SERVER)):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with inside(lab.ns(CLIENT)):
        sniffer = Sniffer("c0")
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    sel = selectors.DefaultSelector()
    synacks: list[float] = []
    give_up = None
    seen_half_open = False
    try:
        listener.bind((SERVER_ADDR, PORT))
        listener.listen(16)
        sel.register(sniffer, selectors.EVENT_READ)
        t0 = rec.zero()
        raw.sendto(tcp_syn(CLIENT_ADDR, SERVER_ADDR, CLIENT_PORT, PORT), (SERVER_ADDR, 0))
        rec.add("state", f"client: one SYN {CLIENT_ADDR}:{CLIENT_PORT} -> {SERVER_ADDR}:{PORT} from a raw socket")

        def take() -> None:
            for seen, seg in sniffer.read():
                if seg.is_synack and seg.sport == PORT and seg.dport == CLIENT_PORT:
                    synacks.append(seen - t0)
                    n = len(synacks)
                    hint = f" (predicted at {times[n - 1]:g} s)" if n <= len(times) else " (not predicted)"
                    rec.add("syn", f"SYN-ACK #{n} on the wire{hint}", at=seen, n=n)

        def step(wait: float) -> bool:
            nonlocal give_up, seen_half_open
            until = time.monotonic() + wait
            while True:
                for _ in sel.select(timeout=POLL_S):
                    take()
                half_open = syn_recv_count(read_proc_net(lab.ns(SERVER), "tcp"), PORT)
                if half_open and not seen_half_open:
                    seen_half_open = True
                    rec.add("state", "server: connection half-open (SYN_RECV), waiting for the client's ACK")
                elif seen_half_open and not half_open:
                    give_up = time.monotonic() - t0
                    take()
                    rec.add("state", f"server: half-open connection dropped after {len(synacks)} SYN-ACKs")
                    return True
                if time.monotonic() >= until:
                    return False

        wait_until(rec, step, deadline=deadline, expected_s=predicted["give_up_s"], timeout_note="hard time limit reached: the server kept the half-open connection")
    finally:
        sel.close()
        raw.close()
        sniffer.close()
        listener.close()
    measured = {"give_up_s": round(give_up, 3) if give_up is not None else None, "synacks": len(synacks), "synack_times_s": [round(t, 3) for t in synacks]}
    tolerance = f"the same number of SYN-ACKs; give-up {timer_tolerance(predicted['give_up_s'])}"
    return measured, predicted, synack_retries_agree(measured, predicted), tolerance
