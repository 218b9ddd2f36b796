"""What the knowledge base says each experiment will show, and how close a measurement must be.

The numbers come from ``knowledge.consequences`` (the same rules the tuning screen explains);
nothing here runs anything.
"""

from __future__ import annotations

from typing import Any

from ..knowledge.consequences import keepalive_detect_seconds, syn_connect_timeout, syn_schedule, synack_lifetime, synack_schedule
from ..knowledge.values import KernelVersion

# The TCP timers live on the kernel's timer wheel (kernel/time/timer.c), which files a timeout
# on a level whose granularity is 8x the previous one's and rounds its expiry *up* to that
# granularity: a timer fires up to about 1/8 of its timeout late, never early. The SYN and SYN-ACK
# timers are re-armed each time they fire, so the lateness adds up along the run. A measured time
# agrees when it is at most EARLY_S early (our own bookkeeping) and at most EARLY_S + 1/8 of the
# prediction late. The SYN count is compared exactly, which tells apart schedules whose give-up
# times are close.
EARLY_S = 0.25
LATE_FRACTION = 0.125

LISTEN_BACKLOG = 511  # what the lab's listener asks listen() for (nginx's and redis's default)
EXTRA_CLIENTS = 3  # clients beyond what the accept queue holds


def timer_agrees(measured_s: float | None, predicted_s: float) -> bool:
    if measured_s is None:
        return False
    return predicted_s - EARLY_S <= measured_s <= predicted_s + EARLY_S + LATE_FRACTION * predicted_s


def timer_tolerance(predicted_s: float) -> str:
    late = EARLY_S + LATE_FRACTION * predicted_s
    return f"at most {EARLY_S:g} s early and {late:.2f} s late (timer-wheel slack: up to 1/8 of the timeout, never early)"


def predict_syn_retries(retries: int, linear: int, kernel: KernelVersion | None) -> dict[str, Any]:
    times = syn_schedule(retries, linear, kernel)
    return {"give_up_s": syn_connect_timeout(retries, linear, kernel), "syns": len(times), "syn_times_s": times}


def syn_retries_agree(measured: dict[str, Any], predicted: dict[str, Any]) -> bool:
    return measured.get("syns") == predicted["syns"] and timer_agrees(measured.get("give_up_s"), predicted["give_up_s"])


def predict_ip_forward(value: int) -> dict[str, Any]:
    return {"passes": bool(value)}


def accept_queue_capacity(somaxconn: int, backlog: int = LISTEN_BACKLOG) -> int:
    """How many finished connections a listener holds before the next one overflows.

    listen() caps the backlog at somaxconn (net/socket.c __sys_listen_socket():
    ``if ((unsigned int)backlog > somaxconn) backlog = somaxconn;`` -> sk_max_ack_backlog), and
    the queue counts as full only when it holds *more* than that (include/net/sock.h
    sk_acceptq_is_full(): ``sk_ack_backlog > sk_max_ack_backlog``), so backlog + 1 fit.
    """
    return min(backlog, somaxconn) + 1


def burst_size(capacity: int) -> int:
    """Clients whose handshakes the somaxconn experiment completes together: one more than
    EXTRA_CLIENTS, but never more than the queue holds, because from the listener's limit on
    (inet_csk_reqsk_queue_is_full(): more requests than sk_max_ack_backlog) new SYNs get
    SYN cookies instead of a place in the SYN queue, which is another experiment."""
    return min(1 + EXTRA_CLIENTS, capacity)


def predict_accept_queue(somaxconn: int, abort: int, backlog: int = LISTEN_BACKLOG) -> dict[str, Any]:
    """The somaxconn experiment: capacity - 1 clients connect one after the other and wait in the
    accept queue; then a burst of clients whose final ACKs reach the listener together: the first
    takes the last place, each other one overflows (tcp_v4_syn_recv_sock(): sk_acceptq_is_full()
    -> ListenOverflows) and, with tcp_abort_on_overflow=1, is reset (tcp_check_req(): the
    listen_overflow branch sends a RST only when the sysctl is set; otherwise the ACK is ignored
    and the client believes it is connected); then one more client whose SYN finds the queue full
    (tcp_conn_request(): dropped, ListenOverflows, no RST whatever the sysctl)."""
    cap = accept_queue_capacity(somaxconn, backlog)
    burst = burst_size(cap)
    rsts = burst - 1 if abort else 0
    return {"accepted_queue": cap, "overflows": burst, "rsts": rsts, "rsts_on_wire": rsts, "clients": cap + burst}


def accept_queue_agree(measured: dict[str, Any], predicted: dict[str, Any]) -> bool:
    return all(measured.get(k) == predicted[k] for k in ("accepted_queue", "overflows", "rsts", "rsts_on_wire"))


def predict_synack_retries(retries: int) -> dict[str, Any]:
    times = synack_schedule(retries)
    return {"give_up_s": synack_lifetime(retries), "synacks": len(times), "synack_times_s": times}


def synack_retries_agree(measured: dict[str, Any], predicted: dict[str, Any]) -> bool:
    return measured.get("synacks") == predicted["synacks"] and timer_agrees(measured.get("give_up_s"), predicted["give_up_s"])


def predict_keepalive(time_s: int, intvl_s: int, probes: int) -> dict[str, Any]:
    """Probes at time, time + intvl, ...; reset when the timer fires with all of them unanswered."""
    return {
        "give_up_s": float(keepalive_detect_seconds(time_s, intvl_s, probes)),
        "probes": probes,
        "probe_times_s": [float(time_s + intvl_s * n) for n in range(probes)],
    }


def keepalive_agree(measured: dict[str, Any], predicted: dict[str, Any]) -> bool:
    return measured.get("probes") == predicted["probes"] and timer_agrees(measured.get("give_up_s"), predicted["give_up_s"])


def predict_fin_timeout(fin_timeout: int) -> dict[str, Any]:
    """An orphaned FIN_WAIT_2 lasts tcp_fin_timeout (3.5 RTO at least: well under 1 s on a veth)."""
    return {"fin_wait2_s": float(fin_timeout)}


def fin_timeout_agree(measured: dict[str, Any], predicted: dict[str, Any]) -> bool:
    return timer_agrees(measured.get("fin_wait2_s"), predicted["fin_wait2_s"])


# ---- tcp_tw_reuse
#
# connect() without a bound port picks one from ip_local_port_range (net/ipv4/inet_hashtables.c
# __inet_hash_connect(): ``high++; remaining = high - low; if (remaining > 1) remaining &= ~1U``,
# so an odd-sized range loses its last port; even offsets first, then odd). A port whose socket
# towards the same server ip:port is in TIME_WAIT is taken over only when tcp_twsk_unique()
# (net/ipv4/tcp_ipv4.c) says so: the old connection carried TCP timestamps
# (``tw_ts_recent_stamp``), tcp_tw_reuse is 1 (2: only when either address is loopback or the
# socket is bound to lo), and more than tcp_tw_reuse_delay ms (default 1000; the sysctl exists
# from linux 6.14, Documentation/networking/ip-sysctl.rst) have passed since the old socket
# entered TIME_WAIT: ``time_after32(tcp_clock_ms(), tw->tw_entry_stamp + delay)``. Each take-over
# counts TcpExt.TWRecycled (__inet_check_established()). Otherwise connect() fails with
# EADDRNOTAVAIL once every port holds a TIME_WAIT, which lasts TCP_TIMEWAIT_LEN (60 s).
TIME_WAIT_S = 60.0  # include/net/tcp.h TCP_TIMEWAIT_LEN
REUSE_EARLY_S = 0.02  # the kernel never reuses early; our clock reads the close a little late
REUSE_LATE_S = 0.25  # the client retries every few ms; a loaded machine adds scheduling delay


def connect_ports(lo: int, hi: int) -> int:
    """How many ports connect() can pick from ip_local_port_range lo..hi (even count, see above)."""
    n = hi - lo + 1
    return n & ~1 if n > 1 else n


def reuse_applies(reuse: int, timestamps: int, loopback: bool = False) -> bool:
    """Whether tcp_twsk_unique() lets connect() take over a TIME_WAIT port here."""
    return bool(timestamps) and (reuse == 1 or (reuse == 2 and loopback))


def predict_tw_reuse(ports: int, reuse: bool, delay_s: float, window_s: float) -> dict[str, Any]:
    """Connections to one server ip:port, opened and closed (client first) as fast as possible for
    ``window_s`` seconds, when the burst of ``ports`` connections takes less than ``delay_s``: the
    first EADDRNOTAVAIL comes after ``ports`` connections either way; with reuse every port frees
    ``delay_s`` after its TIME_WAIT began, so a new batch of ``ports`` starts every ``delay_s``;
    without it none frees within TIME_WAIT_S."""
    batches = 1 + int(window_s // delay_s) if reuse and window_s < TIME_WAIT_S else 1
    connections = ports * batches
    return {
        "ports": ports,
        "connections_until_eaddrnotavail": ports,
        "first_reuse_s": round(delay_s, 3) if reuse else None,
        "connections": connections,
        "rate_per_s": round(connections / window_s, 1),
        "tw_recycled": connections - ports,
    }


def tw_reuse_agree(measured: dict[str, Any], predicted: dict[str, Any], early_s: float = REUSE_EARLY_S) -> bool:
    """Port and first-failure counts exact; the first take-over at most ``early_s`` early and
    REUSE_LATE_S late (or never, both); connections and take-overs within half a batch of ports.
    Before 6.14 the kernel counted whole seconds of the last timestamp seen (commit 19ce8cd30465
    made it milliseconds since TIME_WAIT began), so there the take-over may come up to a second early."""
    if any(measured.get(k) != predicted[k] for k in ("ports", "connections_until_eaddrnotavail")):
        return False
    first, want = measured.get("first_reuse_s"), predicted["first_reuse_s"]
    if (first is None) != (want is None):
        return False
    if want is not None and not (want - early_s <= first <= want + REUSE_LATE_S):
        return False
    half = predicted["ports"] / 2
    return all(abs((measured.get(k) or 0) - predicted[k]) <= half for k in ("connections", "tw_recycled"))


def tw_reuse_tolerance() -> str:
    return (f"ports and connections until EADDRNOTAVAIL exact; first take-over at most {REUSE_EARLY_S:g} s early and "
            f"{REUSE_LATE_S:g} s late; connections and TWRecycled within half a batch of ports")
