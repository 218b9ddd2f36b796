"""One truth between the probe and the tuning table (issue 13): a host the probe calls ok has a
value (or "absent") for every key the table lists, on the demo's hosts and on a host the demo
does not know (it is answered by the dry run's facts transcript and simulated sysctls)."""

from __future__ import annotations

import asyncio

from k8s_tui.engine.dryrun import DryRunExecutor
from k8s_tui.model.hosts import Host
from k8s_tui.session.demo import demo_executor, demo_state
from k8s_tui.session.hosts import probe_from_facts, run_probe


def probe_into(state, hosts, executor) -> None:
    facts = asyncio.run(run_probe(hosts, executor, state.catalogue.keys(), lambda *a: None))
    assert set(facts) == {h.name for h in hosts}  # every host probed ok
    for name, f in facts.items():
        state.probes[name] = probe_from_facts(f, state.catalogue)


def unread(state) -> dict[str, list[str]]:
    """host -> keys the table would call "not read"."""
    out: dict[str, list[str]] = {}
    for key in state.catalogue.keys():
        for host, text in state.now(key).per_host.items():
            if text in ("not read", "not probed"):
                out.setdefault(host, []).append(key)
    return out


def test_a_host_the_demo_does_not_know_is_read_whole():
    s = demo_state()
    s.hosts.append(Host(name="worker-9", address="192.0.2.29"))
    probe_into(s, s.hosts, demo_executor(speed=0))
    assert unread(s) == {}
    # what was read is what the dry run's host holds: the kernel default of a plain key
    assert s.now("net.ipv4.tcp_fin_timeout").per_host["worker-9"] == "60"


def test_the_demo_hosts_have_every_key_read():
    s = demo_state()
    assert unread(s) == {}, "the demo's own probe results"
    probe_into(s, list(s.hosts), demo_executor(speed=0))
    assert unread(s) == {}, "a probe of the demo's hosts"


def test_a_dry_run_probe_reads_the_keys_it_was_asked_for():
    s = demo_state()
    hosts = [Host(name="node-a", address="192.0.2.40")]
    s.hosts, s.probes = hosts, {}
    probe_into(s, hosts, DryRunExecutor(speed=0, kernels={"node-a": "4.19.0-26-amd64"}))
    assert unread(s) == {}
    # a key the 4.19 kernel lacks (tcp_syn_linear_timeouts came in 6.x) reads as absent, not unread
    assert s.now("net.ipv4.tcp_syn_linear_timeouts").per_host["node-a"] == "absent"
