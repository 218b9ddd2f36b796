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


def predict_accept_queue(somaxconn: int, clients: int, backlog: int = LISTEN_BACKLOG) -> dict[str, Any]:
    cap = accept_queue_capacity(somaxconn, backlog)
    return {"accepted_queue": min(cap, clients), "overflows": max(0, clients - cap), "rsts": 0}


def accept_queue_agree(measured: dict[str, Any], predicted: dict[str, Any]) -> bool:
    return all(measured.get(k) == predicted[k] for k in ("accepted_queue", "overflows", "rsts"))


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
