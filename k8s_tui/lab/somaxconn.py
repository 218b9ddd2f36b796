"""Experiment somaxconn: a listener that never calls accept(), and more clients than its accept
queue holds.

The server namespace gets the given somaxconn / tcp_max_syn_backlog / tcp_abort_on_overflow; the
listener asks listen() for LISTEN_BACKLOG, so its queue holds min(LISTEN_BACKLOG, somaxconn) + 1
(predict.accept_queue_capacity). Three stages (predict.predict_accept_queue):

1. capacity - 1 clients connect one at a time; each completes its handshake and waits in the
   accept queue (the listener's queue length, read with TCP_INFO, goes up).
2. a burst of clients whose handshakes finish together: nftables in the server namespace drops
   their final ACKs until all of them wait half-open (SYN_RECV), then lets ACKs through; the
   server's retransmitted SYN-ACK (1 s later) makes each client ACK again, all at once. One takes
   the last place; each other ACK finds the queue full: ListenOverflows, and with
   tcp_abort_on_overflow=1 a RST, which the client sees as ECONNRESET and a packet socket on the
   client's interface sees on the wire.
3. one more client, whose SYN finds the queue full and is dropped without a RST.

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
from .netns import Lab, LabError, inside, proc_counters, read_proc_net
from .predict import LISTEN_BACKLOG, accept_queue_agree, accept_queue_capacity, burst_size, predict_accept_queue
from .timeline import Recorder, wait_until
from .wire import Sniffer, syn_recv_count

NAME = "somaxconn"
CLIENT, SERVER = "client", "server"
CLIENT_ADDR, SERVER_ADDR, PORT = "198.18.0.1", "198.18.0.2", 8080
PER_CLIENT_S = 3.0  # one client's handshake or drop shows within microseconds; this is the limit
SYNACK_RTO_S = 1.0  # TCP_TIMEOUT_INIT: when the server sends its SYN-ACKs again
OVERFLOWS = "TcpExt.ListenOverflows"
QUIET_S = 0.1  # counters unchanged this long after the last ACK: the burst is settled
DEFAULT_SOMAXCONN = 4096
RST = 0x04

NFT_HOLD_ACKS = f"""table inet k8s_tui_lab {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp dport {PORT} tcp flags & (fin | syn | rst | ack) == ack counter drop
  }}
}}
"""


def expected_seconds(settings: dict[str, Any], kernel: KernelVersion | None) -> float:
    return 5.0


def predict(settings: dict[str, Any], kernel: KernelVersion | None) -> dict[str, Any]:
    return predict_accept_queue(int(settings.get(KEY_SOMAXCONN, DEFAULT_SOMAXCONN)), int(settings.get(KEY_ABORT, 0)))


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


def _one_client(lab: Lab, listener: socket.socket, deadline: float) -> tuple[socket.socket, str]:
    """Connect one client and wait for what happens: "queued", "dropped" or an errno name."""
    with inside(lab.ns(CLIENT)):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setblocking(False)
    queued_before, _ = _queue(listener)
    over_before = _overflows(lab)
    c.connect_ex((SERVER_ADDR, PORT))
    until = min(deadline, time.monotonic() + PER_CLIENT_S)
    while time.monotonic() < until:
        _, writable, _ = select.select([], [c], [], 0.005)
        if writable:
            err = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return c, errno.errorcode.get(err, str(err))
            if _queue(listener)[0] > queued_before:
                return c, "queued"
        elif _overflows(lab) > over_before:
            return c, "dropped"
    return c, "nothing within the limit"


def run(lab: Lab, settings: dict[str, Any], kernel: KernelVersion | None, rec: Recorder, deadline: float) -> tuple[dict, dict, bool, str]:
    lab.add(CLIENT)
    lab.add(SERVER)
    lab.link(CLIENT, "c0", f"{CLIENT_ADDR}/30", SERVER, "s0", f"{SERVER_ADDR}/30")
    for key, value in settings.items():
        lab.sysctl(SERVER, key, format_value(value))
    somax = int(lab.read_sysctl(SERVER, KEY_SOMAXCONN))
    abort = int(lab.read_sysctl(SERVER, KEY_ABORT))
    rec.add("setup", f"server namespace: {', '.join(f'{k}={lab.read_sysctl(SERVER, k)}' for k in dict.fromkeys([KEY_SOMAXCONN, KEY_ABORT, *settings]))}")
    cap = accept_queue_capacity(somax)
    burst = burst_size(cap)
    predicted = predict_accept_queue(somax, abort)
    rec.add("note", f"predicted: {cap} connections fit; of {burst} handshakes finishing together {burst - 1} overflow"
            + (" and are reset (tcp_abort_on_overflow=1)" if abort else ", ignored: those clients think they are connected (tcp_abort_on_overflow=0)")
            + "; one more client's SYN is dropped without a RST")
    with inside(lab.ns(SERVER)):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        acks = Sniffer("s0")  # sees the clients' ACKs before nftables drops them
    with inside(lab.ns(CLIENT)):
        rst_wire = Sniffer("c0")  # sees the server's RSTs arrive at the clients
    socks: list[socket.socket] = []
    bursts: list[socket.socket] = []
    rsts = rsts_on_wire = 0
    recv_q = overflows = None
    try:
        listener.bind((SERVER_ADDR, PORT))
        listener.listen(LISTEN_BACKLOG)
        rec.zero()
        _, limit = _queue(listener)
        rec.add("state", f"listen({LISTEN_BACKLOG}) on {SERVER_ADDR}:{PORT}: the kernel caps it at min({LISTEN_BACKLOG}, somaxconn={somax}) = {limit}; "
                f"the queue counts as full only when it holds more than that (sk_ack_backlog > sk_max_ack_backlog), so {limit + 1} fit. Nobody accepts")
        base = _overflows(lab)
        # stage 1: fill all but one place
        for n in range(1, cap):
            if time.monotonic() > deadline:
                raise LabError(f"hard time limit reached after {n - 1} of {cap - 1} clients")
            c, outcome = _one_client(lab, listener, deadline)
            socks.append(c)
            if outcome != "queued":
                rec.add("state", f"client {n}: {outcome} (expected to wait in the accept queue)", client=n)
            elif n <= 3 or n == cap - 1:
                rec.add("state", f"client {n}: handshake done, waits in the accept queue (queue {_queue(listener)[0]})", client=n, queue=_queue(listener)[0])
            elif n == 4:
                rec.add("state", f"clients 4..{cap - 1}: the same")
        # stage 2: a burst of handshakes that finish together
        lab.exec(SERVER, ["nft", "-f", "-"], stdin=NFT_HOLD_ACKS)
        acks.read()
        for _ in range(burst):
            with inside(lab.ns(CLIENT)):
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            c.connect_ex((SERVER_ADDR, PORT))
            bursts.append(c)
        ports = {c.getsockname()[1] for c in bursts}

        held: set[int] = set()

        def half_open(wait: float) -> bool:
            select.select([acks], [], [], min(wait, 0.01))
            held.update(seg.sport for _, seg in acks.read() if seg.sport in ports and seg.flags & 0x17 == 0x10)
            return len(held) == burst and syn_recv_count(read_proc_net(lab.ns(SERVER), "tcp"), PORT) >= burst

        if not wait_until(rec, half_open, deadline=min(deadline, time.monotonic() + PER_CLIENT_S), expected_s=5.0,
                          timeout_note="the burst's handshakes did not all wait half-open"):
            raise LabError("the burst's handshakes did not all wait half-open")
        rec.add("state", f"clients {cap}..{cap + burst - 1}: SYN sent, SYN-ACK answered, but their final ACKs are held: {burst} connections half-open (SYN_RECV) on the server")
        lab.exec(SERVER, ["nft", "delete", "table", "inet", "k8s_tui_lab"])
        rec.add("state", f"ACKs let through; the server sends its SYN-ACKs again after {SYNACK_RTO_S:g} s and the clients' ACKs arrive together")
        acked: set[int] = set()
        last_change = [time.monotonic(), _overflows(lab)]

        def settled(wait: float) -> bool:
            nonlocal rsts_on_wire
            r, _, _ = select.select([acks, rst_wire], [], [], min(wait, 0.02))
            for seen, seg in acks.read():
                if seg.sport in ports and seg.flags & 0x17 == 0x10:
                    acked.add(seg.sport)
            for seen, seg in rst_wire.read():
                if seg.sport == PORT and seg.flags & RST and seg.dport in ports:
                    rsts_on_wire += 1
                    rec.add("counter", f"RST from the server to client port {seg.dport} on the wire: no room in the accept queue", at=seen)
            over = _overflows(lab)
            if over != last_change[1]:
                last_change[:] = [time.monotonic(), over]
            return len(acked) == burst and time.monotonic() - last_change[0] >= QUIET_S

        if not wait_until(rec, settled, deadline=min(deadline, time.monotonic() + 4 * SYNACK_RTO_S), expected_s=5.0,
                          timeout_note="not every client of the burst answered the retransmitted SYN-ACK"):
            raise LabError("not every client of the burst answered the retransmitted SYN-ACK")
        for i, c in enumerate(bursts, start=cap):
            err = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == errno.ECONNRESET:
                rsts += 1
                rec.add("state", f"client {i}: ECONNRESET: the server reset it, the queue was full", client=i)
        queued = _queue(listener)[0]
        rec.add("counter", f"burst: accept queue {queued}, ListenOverflows +{_overflows(lab) - base}, {rsts} clients reset")
        # stage 3: one more client
        n = cap + burst
        c, outcome = _one_client(lab, listener, deadline)
        socks.append(c)
        if outcome == "dropped":
            rec.add("counter", f"client {n}: SYN dropped, accept queue full (ListenOverflows +{_overflows(lab) - base}); no RST: the SYN never got a SYN-ACK", client=n)
        else:
            rec.add("state", f"client {n}: {outcome}", client=n)
        c.close()  # before its SYN is retransmitted: one overflow for it
        recv_q = _ss_recv_q(lab)
        overflows = _overflows(lab) - base
        rec.add("counter", f"ss: listener Recv-Q {recv_q} (connections waiting for accept), ListenOverflows +{overflows}, RSTs {rsts_on_wire} on the wire")
    finally:
        for c in socks + bursts:
            c.close()
        listener.close()
        acks.close()
        rst_wire.close()
    measured = {"accepted_queue": recv_q, "overflows": overflows, "rsts": rsts, "rsts_on_wire": rsts_on_wire, "clients": cap + burst,
                "listen_backlog": LISTEN_BACKLOG}
    tolerance = (f"exact counts; the queue holds min(listen backlog {LISTEN_BACKLOG}, somaxconn {somax}) + 1 = {cap}: the kernel counts it full only when it holds "
                 f"more than its limit (include/net/sock.h sk_acceptq_is_full())")
    return measured, predicted, accept_queue_agree(measured, predicted), tolerance
