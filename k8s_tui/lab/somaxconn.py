"""Experiment somaxconn: a listener that never calls accept(), and one client more than its
accept queue holds, plus a few.

The server namespace gets the given somaxconn / tcp_max_syn_backlog / tcp_abort_on_overflow; the
listener asks listen() for LISTEN_BACKLOG. Clients connect one at a time; each either completes
its handshake and joins the accept queue (the listener's queue length, read with TCP_INFO, goes
up) or its SYN is dropped because the queue is full (ListenOverflows in the server namespace goes
up). A client whose SYN was dropped is closed at once so its retransmissions do not count twice.
``accepted_queue`` is the listener's Recv-Q from ``ss``.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import time
from typing import Any

from ..knowledge.consequences import KEY_ABORT, KEY_SOMAXCONN
from ..knowledge.values import KernelVersion, format_value
from .netns import Lab, inside, proc_counters, read_proc_net
from .predict import EXTRA_CLIENTS, LISTEN_BACKLOG, accept_queue_agree, accept_queue_capacity, predict_accept_queue
from .timeline import Recorder

NAME = "somaxconn"
CLIENT, SERVER = "client", "server"
CLIENT_ADDR, SERVER_ADDR, PORT = "198.18.0.1", "198.18.0.2", 8080
PER_CLIENT_S = 3.0  # one client's handshake or drop shows within microseconds; this is the limit
OVERFLOWS = "TcpExt.ListenOverflows"


def expected_seconds(settings: dict[str, Any], kernel: KernelVersion | None) -> float:
    return 5.0


def _queue(listener: socket.socket) -> tuple[int, int]:
    """(connections waiting in the accept queue, its limit): for a listener TCP_INFO carries
    sk_ack_backlog in tcpi_unacked and sk_max_ack_backlog in tcpi_sacked (tcp_get_info())."""
    info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    unacked, sacked = struct.unpack_from("II", info, 24)
    return unacked, sacked


def _overflows(lab: Lab) -> int:
    return proc_counters(read_proc_net(lab.ns(SERVER), "netstat")).get(OVERFLOWS, 0)


def _ss_recv_q(lab: Lab) -> int | None:
    for line in lab.exec(SERVER, ["ss", "-ltnH", "sport", "=", f":{PORT}"]).splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "LISTEN":
            return int(parts[1])
    return None


def run(lab: Lab, settings: dict[str, Any], kernel: KernelVersion | None, rec: Recorder, deadline: float) -> tuple[dict, dict, bool, str]:
    lab.add(CLIENT)
    lab.add(SERVER)
    lab.link(CLIENT, "c0", f"{CLIENT_ADDR}/30", SERVER, "s0", f"{SERVER_ADDR}/30")
    for key, value in settings.items():
        lab.sysctl(SERVER, key, format_value(value))
    somax = int(lab.read_sysctl(SERVER, KEY_SOMAXCONN))
    abort = int(lab.read_sysctl(SERVER, KEY_ABORT))
    rec.add("setup", f"server namespace: {', '.join(f'{k}={lab.read_sysctl(SERVER, k)}' for k in dict.fromkeys([KEY_SOMAXCONN, *settings]))}")
    clients = accept_queue_capacity(somax) + EXTRA_CLIENTS
    predicted = predict_accept_queue(somax, clients)
    with inside(lab.ns(SERVER)):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    socks: list[socket.socket] = []
    rsts = 0
    try:
        listener.bind((SERVER_ADDR, PORT))
        listener.listen(LISTEN_BACKLOG)
        rec.zero()
        _, limit = _queue(listener)
        rec.add("state", f"listen({LISTEN_BACKLOG}) on {SERVER_ADDR}:{PORT}: the kernel caps it at min({LISTEN_BACKLOG}, somaxconn={somax}) = {limit}; "
                f"the queue is full when it holds more than that: {limit + 1} fit. {clients} clients, nobody accepts")
        base = _overflows(lab)
        for n in range(1, clients + 1):
            if time.monotonic() > deadline:
                rec.add("note", f"hard time limit reached after {n - 1} of {clients} clients")
                break
            with inside(lab.ns(CLIENT)):
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            queued_before, _ = _queue(listener)
            c.connect_ex((SERVER_ADDR, PORT))
            until = min(deadline, time.monotonic() + PER_CLIENT_S)
            outcome = None
            while outcome is None and time.monotonic() < until:
                _, writable, _ = select.select([], [c], [], 0.005)
                if writable:
                    err = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        outcome = errno.errorcode.get(err, str(err))
                        rsts += err in (errno.ECONNRESET, errno.ECONNREFUSED)
                    elif _queue(listener)[0] > queued_before:
                        outcome = "queued"
                elif _overflows(lab) > base:
                    outcome = "dropped"
            queued, _ = _queue(listener)
            over = _overflows(lab) - base
            if outcome == "queued":
                rec.add("state", f"client {n}: handshake done, waits in the accept queue (queue {queued})", client=n, queue=queued)
                socks.append(c)
            elif outcome == "dropped":
                rec.add("counter", f"client {n}: SYN dropped, accept queue full (ListenOverflows +{over})", client=n, overflows=over)
                c.close()  # before its SYN is retransmitted: one overflow per client
            else:
                rec.add("state", f"client {n}: {outcome or 'nothing within the limit'}", client=n)
                c.close()
        recv_q = _ss_recv_q(lab)
        overflows = _overflows(lab) - base
        rec.add("counter", f"ss: listener Recv-Q {recv_q} (connections waiting for accept), ListenOverflows +{overflows}")
    finally:
        for c in socks:
            c.close()
        listener.close()
    measured = {"accepted_queue": recv_q, "overflows": overflows, "rsts": rsts, "clients": clients, "listen_backlog": LISTEN_BACKLOG}
    predicted = {**predicted, "clients": clients}
    notes = "exact counts"
    if abort:
        notes += "; tcp_abort_on_overflow=1 resets only a handshake whose final ACK finds the queue full: here each extra client's SYN already finds it full and is dropped silently, so no RST is predicted"
    return measured, predicted, accept_queue_agree(measured, predicted), notes
