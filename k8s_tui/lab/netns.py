"""Throwaway network namespaces for the lab: create, enter, configure, remove, and clean up after
runs that died.

Every lab run has an id; its namespaces are ``k8s-tui-lab-<id>-<role>`` and its pid file
``/run/k8s-tui-lab/<id>.pid`` (pid and process start time) is written *before* the first
namespace exists, so a namespace without a live owner is always a leftover. Nothing here writes a
value outside the lab's own namespaces: sysctls go through ``ip netns exec NS sysctl -w`` and
only keys of the ``net.`` tree are accepted. Commands are argv lists, never shell text.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import secrets
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "k8s-tui-lab-"
STATE_DIR = Path("/run/k8s-tui-lab")
NETNS_DIR = Path("/run/netns")
LAB_RANGE = ipaddress.ip_network("198.18.0.0/15")  # RFC 2544 benchmarking range, never routed
CLONE_NEWNET = 0x40000000
COMMAND_TIMEOUT = 15.0

_libc = ctypes.CDLL(None, use_errno=True)


class LabError(RuntimeError):
    """Setting up or running the lab failed; the message says which command and why."""


def run(argv: Sequence[str], *, timeout: float = COMMAND_TIMEOUT, check: bool = True, stdin: str | None = None) -> str:
    """Run one command (argv list, no shell); its stdout, or LabError with its stderr."""
    try:
        p = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise LabError(f"{argv[0]}: not installed") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)}: no answer within {timeout:.0f} s") from None
    if check and p.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {(p.stderr or p.stdout).strip() or f'exit {p.returncode}'}")
    return p.stdout


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _owner_alive(lab_id: str) -> bool:
    try:
        pid_text, start = (STATE_DIR / f"{lab_id}.pid").read_text().split()
    except (OSError, ValueError):
        return False
    return _start_time(int(pid_text)) == start


def lab_id_of(ns: str) -> str | None:
    """``k8s-tui-lab-<id>-<role>`` -> id; None for a namespace that is not the lab's."""
    if not ns.startswith(PREFIX):
        return None
    rest = ns[len(PREFIX):]
    lab_id, sep, role = rest.rpartition("-")
    return lab_id if sep and lab_id and role else None


def lab_namespaces() -> list[str]:
    try:
        return sorted(n for n in os.listdir(NETNS_DIR) if lab_id_of(n))
    except FileNotFoundError:
        return []


def clean_leftovers() -> list[str]:
    """Remove namespaces and pid files of lab runs whose process is gone; the names removed."""
    removed = []
    for ns in lab_namespaces():
        lab_id = lab_id_of(ns)
        if lab_id and not _owner_alive(lab_id):
            run(["ip", "netns", "delete", ns], check=False)
            removed.append(ns)
    if STATE_DIR.is_dir():
        for pid_file in STATE_DIR.glob("*.pid"):
            if not _owner_alive(pid_file.stem):
                pid_file.unlink(missing_ok=True)
    return removed


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise LabError(f"setns: {os.strerror(err)}")


@contextmanager
def inside(ns: str) -> Iterator[None]:
    """Run the block in network namespace ``ns`` (this thread only); sockets made here stay there."""
    with open("/proc/thread-self/ns/net") as home, open(NETNS_DIR / ns) as target:
        _setns(target.fileno())
        try:
            yield
        finally:
            _setns(home.fileno())


def read_proc_net(ns: str, name: str) -> str:
    """/proc/net/<name> as seen in namespace ``ns`` (snmp, netstat)."""
    with inside(ns), open(f"/proc/thread-self/net/{name}") as f:
        return f.read()


def proc_counters(text: str) -> dict[str, int]:
    """/proc/net/snmp or netstat text -> {"TcpExt.ListenOverflows": n, "Ip.ForwDatagrams": n, ...}."""
    out: dict[str, int] = {}
    lines = text.splitlines()
    for head, values in zip(lines[::2], lines[1::2]):
        prefix, _, names = head.partition(":")
        _, _, nums = values.partition(":")
        for name, num in zip(names.split(), nums.split()):
            if num.lstrip("-").isdigit():
                out[f"{prefix}.{name}"] = int(num)
    return out


@dataclass
class Lab:
    """One run's namespaces. Use as a context manager: everything it made goes at the end."""

    id: str = field(default_factory=lambda: secrets.token_hex(3))
    namespaces: list[str] = field(default_factory=list)

    def ns(self, role: str) -> str:
        return f"{PREFIX}{self.id}-{role}"

    def __enter__(self) -> Lab:
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        (STATE_DIR / f"{self.id}.pid").write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def add(self, role: str) -> str:
        name = self.ns(role)
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        run(["ip", "-n", name, "link", "set", "lo", "up"])
        return name

    def link(self, a: str, a_if: str, a_addr: str, b: str, b_if: str, b_addr: str) -> None:
        """A veth pair straight between two lab namespaces (nothing in the root namespace)."""
        for addr in (a_addr, b_addr):
            if not ipaddress.ip_interface(addr).network.subnet_of(LAB_RANGE):
                raise LabError(f"{addr} is outside {LAB_RANGE}")
        run(["ip", "-n", self.ns(a), "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", self.ns(b)])
        for role, ifname, addr in ((a, a_if, a_addr), (b, b_if, b_addr)):
            run(["ip", "-n", self.ns(role), "addr", "add", addr, "dev", ifname])
            run(["ip", "-n", self.ns(role), "link", "set", ifname, "up"])

    def route(self, role: str, prefix: str, via: str) -> None:
        for a in (prefix, via):
            if not ipaddress.ip_network(a).subnet_of(LAB_RANGE):
                raise LabError(f"{a} is outside {LAB_RANGE}")
        run(["ip", "-n", self.ns(role), "route", "add", prefix, "via", via])

    def _own(self, role: str) -> str:
        name = self.ns(role)
        if name not in self.namespaces:
            raise LabError(f"{name} is not one of this lab's namespaces")
        return name

    def sysctl(self, role: str, key: str, value: str) -> None:
        """Set a per-namespace key in one of this lab's namespaces (never the machine's)."""
        if not key.startswith("net."):
            raise LabError(f"{key} is not a network-namespace key; the lab never sets it")
        run(["ip", "netns", "exec", self._own(role), "sysctl", "-q", "-w", f"{key}={value}"])

    def read_sysctl(self, role: str, key: str) -> str:
        return " ".join(run(["ip", "netns", "exec", self._own(role), "sysctl", "-n", key]).split())

    def exec(self, role: str, argv: Sequence[str], stdin: str | None = None) -> str:
        return run(["ip", "netns", "exec", self._own(role), *argv], stdin=stdin)

    def remove(self) -> None:
        for name in reversed(self.namespaces):
            run(["ip", "netns", "delete", name], check=False)
        self.namespaces.clear()
        (STATE_DIR / f"{self.id}.pid").unlink(missing_ok=True)
