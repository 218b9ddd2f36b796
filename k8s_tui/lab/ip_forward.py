"""Experiment ip_forward: a router namespace between a client and a server; does ping pass?

client 198.18.1.2 -- 198.18.1.1 router 198.18.2.1 -- 198.18.2.2 server. The router gets the
given net.ipv4.ip_forward. The client first pings the router itself (the control: that works
whatever the value), then the server through it; the router's IP counters show where each
packet went.
"""

from __future__ import annotations

from typing import Any

from ..knowledge.values import KernelVersion, format_value
from .netns import Lab, inside, proc_counters, read_proc_net
from .predict import predict_ip_forward
from .timeline import Recorder
from .wire import Pinger

NAME = "ip_forward"
KEY = "net.ipv4.ip_forward"
CLIENT, ROUTER, SERVER = "client", "router", "server"
ROUTER_NEAR, ROUTER_FAR, CLIENT_ADDR, SERVER_ADDR = "198.18.1.1", "198.18.2.1", "198.18.1.2", "198.18.2.2"
PROBES = 3
WAIT_S = 1.0  # how long one echo waits for its reply: an answer through veth takes well under 1 ms
TAKES_QUICK = True
QUICK_NOTE = "--quick: each echo waits 0.5 s instead of 1 s for its reply"


def expected_seconds(settings: dict[str, Any], kernel: KernelVersion | None, quick: bool = False) -> float:
    return (PROBES + 1) * (WAIT_S / 2 if quick else WAIT_S)


def predict(settings: dict[str, Any], kernel: KernelVersion | None, quick: bool = False) -> dict[str, Any]:
    return predict_ip_forward(int(settings.get(KEY, 0)))


def _ip_counters(lab: Lab) -> dict[str, int]:
    return {k: v for k, v in proc_counters(read_proc_net(lab.ns(ROUTER), "snmp")).items() if k.startswith("Ip.")}


def run(lab: Lab, settings: dict[str, Any], kernel: KernelVersion | None, rec: Recorder, deadline: float, quick: bool = False) -> tuple[dict, dict, bool, str]:
    wait = WAIT_S / 2 if quick else WAIT_S
    for role in (CLIENT, ROUTER, SERVER):
        lab.add(role)
    lab.link(CLIENT, "c0", f"{CLIENT_ADDR}/24", ROUTER, "r0", f"{ROUTER_NEAR}/24")
    lab.link(ROUTER, "r1", f"{ROUTER_FAR}/24", SERVER, "s0", f"{SERVER_ADDR}/24")
    lab.route(CLIENT, "198.18.2.0/24", ROUTER_NEAR)
    lab.route(SERVER, "198.18.1.0/24", ROUTER_FAR)
    rec.add("setup", f"client {CLIENT_ADDR} -- {ROUTER_NEAR} router {ROUTER_FAR} -- {SERVER_ADDR} server ({lab.ns(ROUTER)})")
    for key, value in settings.items():
        lab.sysctl(ROUTER, key, format_value(value))
    value = int(lab.read_sysctl(ROUTER, KEY))
    rec.add("setup", f"router namespace: {KEY}={value}")
    predicted = predict_ip_forward(value)
    with inside(lab.ns(CLIENT)):
        pinger = Pinger()
    try:
        rec.zero()
        control = pinger.ping(ROUTER_NEAR, wait)
        rec.add("probe", f"control: ping {ROUTER_NEAR} (the router itself): " + (f"reply in {control * 1000:.2f} ms" if control is not None else "no reply"), passes=control is not None)
        before = _ip_counters(lab)
        replies = 0
        for n in range(1, PROBES + 1):
            if rec._clock() > deadline:
                rec.add("note", "hard time limit reached")
                break
            rtt = pinger.ping(SERVER_ADDR, wait)
            replies += rtt is not None
            rec.add("probe", f"ping {SERVER_ADDR} through the router, #{n}: " + (f"reply in {rtt * 1000:.2f} ms" if rtt is not None else f"no reply within {wait:g} s"), passes=rtt is not None)
        after = _ip_counters(lab)
    finally:
        pinger.close()
    moved = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    for k, d in moved.items():
        rec.add("counter", f"router {k} +{d}", counter=k, delta=d)
    measured = {"passes": replies > 0, "replies": replies, "probes": PROBES, "control_passes": control is not None, "router_counters": moved}
    agrees = control is not None and measured["passes"] == predicted["passes"] and replies in (0, PROBES)
    tolerance = f"exact: every echo answered or none ({PROBES} echoes, {wait:g} s each), and the router itself answers"
    return measured, predicted, agrees, tolerance
