"""KEY=VALUE arguments -> the experiment to run and its checked settings, or one clear refusal.

Every value is parsed and range-checked by the knowledge base before anything runs. A key that
is global to the machine (vm.*, fs.*, kernel.*, the net.* keys the kernel keeps global) is
refused: setting it "in the lab" would change this machine. A per-namespace key without an
experiment yet says so and names the closest one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..knowledge import Catalogue, KernelVersion, check_value, format_value, parse_value
from ..knowledge.consequences import (
    KEY_ABORT,
    KEY_FIN_TIMEOUT,
    KEY_KA_INTVL,
    KEY_KA_PROBES,
    KEY_KA_TIME,
    KEY_PORT_RANGE,
    KEY_SOMAXCONN,
    KEY_SYN_BACKLOG,
    KEY_SYN_LINEAR,
    KEY_SYN_RETRIES,
    KEY_SYNACK_RETRIES,
    KEY_SYNCOOKIES,
    KEY_TIMESTAMPS,
    KEY_TW_REUSE,
)
from ..knowledge.schema import Group
from ..knowledge.values import SysctlValue

KEY_IP_FORWARD = "net.ipv4.ip_forward"

# experiment name -> the keys it takes (the first one picks it)
EXPERIMENTS: dict[str, tuple[str, ...]] = {
    "tcp_syn_retries": (KEY_SYN_RETRIES, KEY_SYN_LINEAR),
    "ip_forward": (KEY_IP_FORWARD,),
    "somaxconn": (KEY_SOMAXCONN, KEY_SYN_BACKLOG, KEY_ABORT),
    "tcp_synack_retries": (KEY_SYNACK_RETRIES,),
    "tcp_keepalive": (KEY_KA_TIME, KEY_KA_INTVL, KEY_KA_PROBES),
    "tcp_fin_timeout": (KEY_FIN_TIMEOUT,),
    "tcp_tw_reuse": (KEY_TW_REUSE, KEY_PORT_RANGE, KEY_TIMESTAMPS),
}
TW_REUSE_MAX_PORTS = 1000  # tw_reuse.MAX_PORTS: the burst must stay shorter than the reuse delay

# The wizard's range for a node is narrower than what the kernel takes; in its own namespace the
# lab accepts what the kernel accepts, so small values can be watched: key -> (min, max, why).
LAB_RANGES: dict[str, tuple[int, int]] = {
    KEY_SOMAXCONN: (0, 65535),  # net/core/sysctl_net_core.c: somaxconn >= 0; 4 shows an overflow with 5 clients
}
EXPERIMENT_OF = {key: name for name, keys in EXPERIMENTS.items() for key in keys}

# per-namespace keys without an experiment: why the lab cannot show it here, and the closest one
WHY_NOT: dict[str, tuple[str, str, str]] = {
    "net.ipv6.conf.all.forwarding": ("the router experiment builds an IPv4 path only", "ip_forward", "the same router namespace, for IPv4"),
    "net.ipv4.conf.all.rp_filter": ("showing it needs asymmetric routes (a reply leaving by another interface), which the lab does not build",
                                    "ip_forward", "it routes packets through a namespace with two interfaces"),
    "net.ipv4.conf.default.rp_filter": ("it only seeds interfaces made later, and rp_filter itself needs asymmetric routes the lab does not build",
                                        "ip_forward", "it routes packets through a namespace with two interfaces"),
    KEY_SYNCOOKIES: ("it acts only under a SYN flood beyond the SYN queue, which the somaxconn experiment deliberately stays below",
                     "somaxconn", "it fills the accept queue and shows what happens to the next handshakes"),
    "net.ipv4.tcp_max_tw_buckets": ("a limit on TIME_WAIT sockets, reached only after tens of thousands of closes",
                                    "tcp_tw_reuse", "it fills a port range with TIME_WAIT sockets"),
    "net.ipv4.tcp_retries2": ("a dead peer of a connection with data in flight takes about 15 minutes at the default to give up",
                              "tcp_keepalive", "it shows a TCP timer giving up on a peer that vanished"),
    "net.ipv4.tcp_rmem": ("buffer sizes show as throughput over a link with delay, which the lab does not measure",
                          "somaxconn", "it shows a kernel queue with a size limit filling up"),
    "net.ipv4.tcp_wmem": ("buffer sizes show as throughput over a link with delay, which the lab does not measure",
                          "somaxconn", "it shows a kernel queue with a size limit filling up"),
    "net.ipv4.tcp_window_scaling": ("it shows as throughput over a link with delay, which the lab does not measure",
                                    "somaxconn", "it shows a kernel queue with a size limit filling up"),
    "net.ipv4.tcp_slow_start_after_idle": ("it shows as throughput after an idle pause, which the lab does not measure",
                                           "tcp_keepalive", "it shows what the kernel does with an idle connection"),
    "net.ipv4.tcp_tw_reuse_delay": ("the tcp_tw_reuse experiment runs at the default delay of 1000 ms: its prediction and its burst of at most "
                                    f"{TW_REUSE_MAX_PORTS} connections are sized for that delay",
                                    "tcp_tw_reuse", "it measures when TIME_WAIT ports are taken over, which is this delay after TIME_WAIT began"),
    "net.ipv4.ip_local_reserved_ports": ("reserved ports only narrow the range connect() picks from; set a narrower ip_local_port_range instead",
                                         "tcp_tw_reuse", "it shows connect() running out of ports in ip_local_port_range"),
}

# for keys without an experiment and without an entry above: the closest one, and why, by the key's group
CLOSEST: dict[Group, tuple[str, str]] = {
    Group.forwarding: ("ip_forward", "it routes packets between namespaces"),
    Group.setup: ("tcp_syn_retries", "it shows a connection attempt's timers on the wire"),
    Group.teardown: ("tcp_fin_timeout", "it shows a closing connection's timer on a silent peer"),
    Group.keepalive: ("tcp_keepalive", "it shows a TCP timer giving up on a silent peer"),
    Group.buffers: ("somaxconn", "it shows a kernel queue filling up and overflowing"),
    Group.conntrack: ("ip_forward", "it shows packets passing through a router namespace"),
    Group.neighbour: ("ip_forward", "it shows packets passing through a router namespace"),
}


class LabInputError(ValueError):
    """Bad or unsupported input; the message is one line naming the key."""


@dataclass(frozen=True)
class LabRequest:
    experiment: str
    settings: dict[str, SysctlValue]  # key -> checked value, in the order given

    def text_settings(self) -> dict[str, str]:
        return {k: format_value(v) for k, v in self.settings.items()}


def _why_not(entry) -> str:
    """Why a per-namespace key has no experiment here, and the closest one."""
    key = entry.key
    if key in WHY_NOT:
        why, name, how = WHY_NOT[key]
        return f"{why}; the closest experiment is {name} ({', '.join(EXPERIMENTS[name])}): {how}"
    if entry.requires_module:
        why = (f"it needs the {entry.requires_module} module, and loading a module changes the whole machine "
               "(the lab never loads one)")
    else:
        why = "the lab has no experiment for it yet"
    return f"{why}; {_closest(entry.group)}"


def _closest(group: Group) -> str:
    if group in CLOSEST:
        name, why = CLOSEST[group]
        return f"the closest experiment is {name} ({', '.join(EXPERIMENTS[name])}): {why}"
    return "no lab experiment comes close: the lab only shows keys of a network namespace"


def _range(entry) -> str:
    if entry.allowed:
        return "one of " + ", ".join(str(a.value) for a in entry.allowed)
    return f"{entry.min}..{entry.max}"


def parse_request(pairs: list[str], catalogue: Catalogue, kernel: KernelVersion | None) -> LabRequest:
    if not pairs:
        raise LabInputError("give at least one KEY=VALUE, e.g. net.ipv4.tcp_syn_retries=2")
    settings: dict[str, SysctlValue] = {}
    experiments: dict[str, str] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key or not raw:
            raise LabInputError(f"{pair!r}: expected KEY=VALUE, e.g. net.ipv4.tcp_syn_retries=2")
        try:
            entry = catalogue.get(key)
        except KeyError as e:
            raise LabInputError(str(e.args[0])) from None
        if key in settings:
            raise LabInputError(f"{key}: given twice")
        if key in LAB_RANGES:
            lo, hi = LAB_RANGES[key]
            entry = entry.model_copy(update={"min": lo, "max": hi})
        try:
            value = parse_value(entry, raw)
        except ValueError as e:
            raise LabInputError(f"{e}; allowed: {_range(entry)}") from None
        problems = check_value(entry, value, kernel)
        if problems:
            allowed = _range(entry)
            raise LabInputError(problems[0] if allowed in problems[0] else f"{problems[0]} (allowed: {allowed})")
        if not entry.netns:
            raise LabInputError(
                f"{key} is global to the machine, not per network namespace: the lab would change this "
                f"machine's value, so it refuses; {_closest(entry.group)}"
            )
        if key not in EXPERIMENT_OF:
            raise LabInputError(f"{key}: the lab cannot show it here: {_why_not(entry)}")
        settings[key] = value
        experiments[key] = EXPERIMENT_OF[key]
    names = sorted(set(experiments.values()))
    if len(names) > 1:
        raise LabInputError(
            "these keys belong to different experiments (" + ", ".join(f"{k}: {n}" for k, n in experiments.items()) + "); run them one at a time"
        )
    if names[0] == "tcp_tw_reuse" and KEY_PORT_RANGE in settings:
        lo, hi = settings[KEY_PORT_RANGE]  # type: ignore[misc]
        if hi - lo + 1 > TW_REUSE_MAX_PORTS:
            raise LabInputError(
                f"{KEY_PORT_RANGE}: {lo} {hi} holds {hi - lo + 1} ports; the lab opens connections as fast as it can and needs "
                f"the range used up well within a second (tcp_tw_reuse_delay), so it takes at most {TW_REUSE_MAX_PORTS}, e.g. 40000 40099"
            )
    return LabRequest(names[0], settings)
