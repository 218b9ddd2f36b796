"""KEY=VALUE arguments -> the experiment to run and its checked settings, or one clear refusal.

Every value is parsed and range-checked by the knowledge base before anything runs. A key that
is global to the machine (vm.*, fs.*, kernel.*, the net.* keys the kernel keeps global) is
refused: setting it "in the lab" would change this machine. A per-namespace key without an
experiment yet says so and names the closest one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..knowledge import Catalogue, KernelVersion, check_value, format_value, parse_value
from ..knowledge.consequences import KEY_ABORT, KEY_SOMAXCONN, KEY_SYN_BACKLOG, KEY_SYN_LINEAR, KEY_SYN_RETRIES, KEY_SYNACK_RETRIES, KEY_KA_TIME, KEY_KA_INTVL, KEY_KA_PROBES, KEY_FIN_TIMEOUT
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
}
EXPERIMENT_OF = {key: name for name, keys in EXPERIMENTS.items() for key in keys}

# for keys without an experiment: the closest one, and why, by the key's group
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
            raise LabInputError(f"{key}: no lab experiment for it yet; {_closest(entry.group)}")
        settings[key] = value
        experiments[key] = EXPERIMENT_OF[key]
    names = sorted(set(experiments.values()))
    if len(names) > 1:
        raise LabInputError(
            "these keys belong to different experiments (" + ", ".join(f"{k}: {n}" for k, n in experiments.items()) + "); run them one at a time"
        )
    return LabRequest(names[0], settings)
