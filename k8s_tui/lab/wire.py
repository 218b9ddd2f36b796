"""What the lab sees on the wire: a packet socket that records TCP segments on one interface,
and ICMP echo (our own ping, so the lab needs no ping binary). Parsing is pure and tested
without root; the sockets need CAP_NET_RAW in the namespace they are made in."""

from __future__ import annotations

import os
import socket
import struct
import time
from dataclasses import dataclass

ETH_P_IP = 0x0800
ETH_HLEN = 14
TCP_FLAGS = {"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10}


@dataclass(frozen=True)
class Segment:
    src: str
    dst: str
    sport: int
    dport: int
    flags: int

    @property
    def is_syn(self) -> bool:
        return self.flags & 0x12 == 0x02  # SYN without ACK: a connection attempt

    @property
    def is_synack(self) -> bool:
        return self.flags & 0x12 == 0x12

    def flag_names(self) -> str:
        return ",".join(n for n, bit in TCP_FLAGS.items() if self.flags & bit)


def parse_tcp(frame: bytes) -> Segment | None:
    """An Ethernet frame -> its IPv4 TCP header fields; None for anything else or a short frame."""
    if len(frame) < ETH_HLEN + 20 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ip = frame[ETH_HLEN:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_TCP or len(ip) < ihl + 14:
        return None
    sport, dport = struct.unpack("!HH", ip[ihl : ihl + 4])
    return Segment(socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), sport, dport, ip[ihl + 13])


class Sniffer:
    """A packet socket on one interface of the namespace it is created in (see netns.inside).

    It sees frames before netfilter or tc drop them, so a SYN dropped in the server namespace is
    still recorded, with the time it arrived.
    """

    def __init__(self, ifname: str):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        self.sock.bind((ifname, ETH_P_IP))
        self.sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> list[tuple[float, Segment]]:
        """Every waiting TCP segment with the monotonic time it was read."""
        out = []
        while True:
            try:
                frame, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                return out
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            seg = parse_tcp(frame)
            if seg:
                out.append((time.monotonic(), seg))

    def close(self) -> None:
        self.sock.close()


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int, payload: bytes = b"k8s-tui lab") -> bytes:
    head = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, checksum(head + payload), ident, seq) + payload


def parse_echo_reply(packet: bytes) -> tuple[str, int, int] | None:
    """An IPv4 packet from a raw ICMP socket -> (source, ident, seq) of an echo reply, else None."""
    if len(packet) < 20:
        return None
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8 or icmp[0] != 0:
        return None
    _, _, _, ident, seq = struct.unpack("!BBHHH", icmp[:8])
    return socket.inet_ntoa(packet[12:16]), ident, seq


class Pinger:
    """ICMP echo from the namespace it is created in."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.ident = os.getpid() & 0xFFFF
        self.seq = 0

    def ping(self, dst: str, wait: float) -> float | None:
        """Seconds until the echo reply, or None when none came within ``wait``."""
        self.seq = (self.seq + 1) & 0xFFFF
        start = time.monotonic()
        self.sock.sendto(echo_request(self.ident, self.seq), (dst, 0))
        while (left := start + wait - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                packet = self.sock.recv(65535)
            except TimeoutError:
                return None
            if parse_echo_reply(packet) == (dst, self.ident, self.seq):
                return time.monotonic() - start
        return None

    def close(self) -> None:
        self.sock.close()


def tcp_syn(src: str, dst: str, sport: int, dport: int, seq: int = 1) -> bytes:
    """A bare TCP SYN header with its checksum (RFC 793 pseudo-header), for a raw IPPROTO_TCP socket."""

    def header(csum: int) -> bytes:
        return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, TCP_FLAGS["SYN"], 64240, csum, 0)

    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_TCP, 20)
    return header(checksum(pseudo + header(0)))


def syn_recv_count(proc_net_tcp: str, local_port: int) -> int:
    """Half-open connections (state 03, SYN_RECV) on ``local_port`` in /proc/net/tcp text."""
    n = 0
    for line in proc_net_tcp.splitlines()[1:]:
        parts = line.split()
        if len(parts) > 3 and parts[3] == "03" and parts[1].endswith(f":{local_port:04X}"):
            n += 1
    return n


def tcp_state_count(proc_net_tcp: str, state: str, remote_port: int) -> int:
    """Connections in ``state`` (two hex digits, e.g. "05" FIN_WAIT2) towards ``remote_port``."""
    n = 0
    for line in proc_net_tcp.splitlines()[1:]:
        parts = line.split()
        if len(parts) > 3 and parts[3] == state and parts[2].endswith(f":{remote_port:04X}"):
            n += 1
    return n
