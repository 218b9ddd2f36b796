"""The lab without root: KEY=VALUE validation, experiment choice, predictions and tolerances,
packet parsing, the timeline and the JSON shape, and the refusals (no root, too long)."""

from __future__ import annotations

import json
import socket
import struct

import pytest

from k8s_tui.cli import main
from k8s_tui.knowledge import KernelVersion, load_catalogue
from k8s_tui.lab import netns, runner, wire
from k8s_tui.lab.predict import (
    accept_queue_agree,
    accept_queue_capacity,
    connect_ports,
    predict_tw_reuse,
    reuse_applies,
    tw_reuse_agree,
    fin_timeout_agree,
    predict_fin_timeout,
    keepalive_agree,
    predict_keepalive,
    predict_accept_queue,
    predict_ip_forward,
    predict_syn_retries,
    predict_synack_retries,
    syn_retries_agree,
    synack_retries_agree,
)
from k8s_tui.lab.settings import EXPERIMENT_OF, LabInputError, LabRequest, parse_request
from k8s_tui.lab.timeline import Event, Outcome, Recorder, wait_until

CAT = load_catalogue()
K618 = KernelVersion(6, 18)
K61 = KernelVersion(6, 1)


def req(*pairs, kernel=K618):
    return parse_request(list(pairs), CAT, kernel)


# ---- KEY=VALUE -> experiment


def test_keys_pick_their_experiment():
    assert req("net.ipv4.tcp_syn_retries=2") == LabRequest("tcp_syn_retries", {"net.ipv4.tcp_syn_retries": 2})
    assert req("net.ipv4.tcp_syn_retries=2", "net.ipv4.tcp_syn_linear_timeouts=0").experiment == "tcp_syn_retries"
    assert req("net.ipv4.ip_forward=0").experiment == "ip_forward"
    assert req("net.core.somaxconn=128", "net.ipv4.tcp_abort_on_overflow=1").experiment == "somaxconn"
    assert req("net.ipv4.tcp_synack_retries=2").experiment == "tcp_synack_retries"
    assert req("net.ipv4.tcp_keepalive_time=1", "net.ipv4.tcp_keepalive_probes=2").experiment == "tcp_keepalive"
    assert req("net.ipv4.tcp_fin_timeout=1").experiment == "tcp_fin_timeout"
    assert req(" net.core.somaxconn = 256 ").settings == {"net.core.somaxconn": 256}
    assert req("net.ipv4.tcp_tw_reuse=1").experiment == "tcp_tw_reuse"
    assert req("net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=40000 40099").settings == {
        "net.ipv4.tcp_tw_reuse": 1, "net.ipv4.ip_local_port_range": (40000, 40099)}
    assert req("net.ipv4.tcp_timestamps=0", "net.ipv4.tcp_tw_reuse=1").experiment == "tcp_tw_reuse"


def test_somaxconn_takes_small_values_in_the_lab():
    """The wizard's node range starts at 128; the lab's own namespace takes what the kernel takes."""
    assert req("net.core.somaxconn=4", "net.ipv4.tcp_abort_on_overflow=1").settings == {"net.core.somaxconn": 4, "net.ipv4.tcp_abort_on_overflow": 1}
    assert req("net.core.somaxconn=0").settings == {"net.core.somaxconn": 0}
    with pytest.raises(LabInputError, match="0..65535"):
        req("net.core.somaxconn=-1")


def test_tw_reuse_refuses_a_port_range_it_cannot_use_up_in_a_second():
    with pytest.raises(LabInputError, match="28232 ports.*at most 1000"):
        req("net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=32768 60999")


@pytest.mark.parametrize(
    "pairs, words",
    [
        (["net.ipv4.tcp_syn_retries=0"], ["net.ipv4.tcp_syn_retries", "1..127"]),
        (["net.ipv4.tcp_syn_retries=abc"], ["net.ipv4.tcp_syn_retries", "not a whole number", "1..127"]),
        (["net.ipv4.tcp_syn_retries=1; reboot"], ["net.ipv4.tcp_syn_retries", "1..127"]),
        (["net.ipv4.ip_forward=2"], ["net.ipv4.ip_forward", "0..1"]),
        (["net.ipv4.tcp_syn_retrys=2"], ["unknown sysctl key", "net.ipv4.tcp_syn_retries"]),
        (["net.ipv4.tcp_syn_retries"], ["expected KEY=VALUE"]),
        (["=2"], ["expected KEY=VALUE"]),
        (["net.ipv4.tcp_syn_retries=2", "net.ipv4.tcp_syn_retries=3"], ["given twice"]),
        (["net.ipv4.tcp_syn_retries=2", "net.ipv4.ip_forward=1"], ["different experiments", "one at a time"]),
        ([], ["at least one KEY=VALUE"]),
    ],
)
def test_bad_input_is_one_line_naming_the_problem(pairs, words):
    with pytest.raises(LabInputError) as e:
        req(*pairs)
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_linear_timeouts_need_6_5():
    with pytest.raises(LabInputError, match="does not exist before kernel 6.5"):
        req("net.ipv4.tcp_syn_linear_timeouts=2", kernel=K61)


@pytest.mark.parametrize("key", ["vm.swappiness=10", "fs.file-max=100000", "kernel.panic=10", "net.netfilter.nf_conntrack_max=262144"])
def test_global_keys_are_refused_with_why_and_the_closest(key):
    with pytest.raises(LabInputError) as e:
        req(key)
    msg = str(e.value)
    assert "global to the machine" in msg and "refuses" in msg
    assert "closest experiment" in msg or "no lab experiment comes close" in msg


def test_netns_key_without_experiment_names_the_closest():
    with pytest.raises(LabInputError) as e:
        req("net.ipv4.tcp_retries2=5")
    assert "cannot show it here" in str(e.value) and "15 minutes" in str(e.value) and "closest experiment is tcp_keepalive" in str(e.value)
    with pytest.raises(LabInputError, match="throughput.*closest experiment is somaxconn"):
        req("net.ipv4.tcp_rmem=4096 131072 6291456")
    with pytest.raises(LabInputError, match="br_netfilter module.*changes the whole machine.*closest experiment is ip_forward"):
        req("net.bridge.bridge-nf-call-iptables=1")


def _a_value(entry):
    if entry.allowed:
        return str(entry.allowed[-1].value)
    if entry.type.value == "ports":
        return "30000-30010"
    n = {"pair": 2, "triple": 3}.get(entry.type.value, 1)
    lo = entry.min if entry.min is not None else 1
    return " ".join(str(lo + i) for i in range(n))


def test_every_key_without_an_experiment_says_why_and_the_closest():
    """Each key of the knowledge base either has an experiment or is refused in one line that
    says why (global to the machine, a module, what the lab would need) and names the closest
    experiment, or that none comes close (a key outside the network stack)."""
    for entry in CAT:
        if entry.key in EXPERIMENT_OF:
            continue
        with pytest.raises(LabInputError) as e:
            req(f"{entry.key}={_a_value(entry)}")
        msg = str(e.value)
        assert "\n" not in msg, msg
        if "removed in kernel" in msg:  # tcp_tw_recycle: gone from this kernel, said so
            continue
        assert ("global to the machine" in msg and "refuses" in msg) or "cannot show it here: " in msg, msg
        assert "the closest experiment is " in msg or "no lab experiment comes close" in msg, msg
        if "cannot show it here" in msg:
            assert "no experiment for it yet" not in msg or entry.key in ("net.ipv4.tcp_timestamps",), msg


def test_cli_bad_input_exits_2_with_one_line(capsys):
    assert main(["lab", "net.ipv4.tcp_syn_retries=0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "net.ipv4.tcp_syn_retries" in err and "1..127" in err
    assert main(["lab", "vm.swappiness=1"]) == 2
    assert "global" in capsys.readouterr().err


def test_without_root_it_says_what_to_run_and_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(runner.os, "geteuid", lambda: 1000)
    assert main(["lab", "net.ipv4.tcp_syn_retries=1"]) == 2
    err = capsys.readouterr().err
    assert "needs root" in err and "sudo k8s-tui lab" in err


# ---- time limits


def test_quick_refuses_what_the_kernel_would_take_long_for():
    with pytest.raises(LabInputError, match="131 s.*--quick"):
        runner.plan_time(req("net.ipv4.tcp_syn_retries=6"), K618, quick=True)
    limit, notes = runner.plan_time(req("net.ipv4.tcp_syn_retries=6"), K618, quick=False)
    assert limit > 131
    limit, notes = runner.plan_time(req("net.ipv4.tcp_syn_retries=2"), K618, quick=True)
    assert limit > 7 and notes
    with pytest.raises(LabInputError, match="over the lab's limit"):
        runner.plan_time(req("net.ipv4.tcp_syn_retries=20"), K618, quick=False)


# ---- predictions and agreement


def test_syn_prediction_comes_from_the_knowledge_base():
    p = predict_syn_retries(2, 4, K618)
    assert p == {"give_up_s": 7.0, "syns": 6, "syn_times_s": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]}
    assert predict_syn_retries(2, 4, K61) == {"give_up_s": 7.0, "syns": 3, "syn_times_s": [0.0, 1.0, 3.0]}
    assert predict_syn_retries(1, 4, K618)["syns"] == 3


def test_syn_agreement_tolerance():
    p = predict_syn_retries(2, 4, K618)
    assert syn_retries_agree({"give_up_s": 7.13, "syns": 6}, p)
    assert syn_retries_agree({"give_up_s": 6.8, "syns": 6}, p)
    assert syn_retries_agree({"give_up_s": 8.1, "syns": 6}, p)  # timers fire late by up to 1/8
    assert not syn_retries_agree({"give_up_s": 8.2, "syns": 6}, p)  # beyond 0.25 s + 7/8 s late
    assert not syn_retries_agree({"give_up_s": 6.7, "syns": 6}, p)  # timers never fire early
    assert not syn_retries_agree({"give_up_s": 7.0, "syns": 5}, p)
    assert not syn_retries_agree({"give_up_s": None, "syns": 6}, p)


def test_synack_prediction_and_agreement():
    p = predict_synack_retries(2)
    assert p == {"give_up_s": 7.0, "synacks": 3, "synack_times_s": [0.0, 1.0, 3.0]}
    assert synack_retries_agree({"give_up_s": 7.3, "synacks": 3}, p)
    assert not synack_retries_agree({"give_up_s": 7.3, "synacks": 4}, p)
    assert not synack_retries_agree({"give_up_s": 15.0, "synacks": 3}, p)


def test_accept_queue_holds_backlog_plus_one():
    assert accept_queue_capacity(128) == 129  # min(511, 128) + 1
    assert accept_queue_capacity(4) == 5  # sk_acceptq_is_full(): full only when it holds MORE than 4
    assert accept_queue_capacity(4096) == 512  # the listener's own 511 wins
    assert accept_queue_capacity(4096, backlog=4) == 5
    assert accept_queue_capacity(0) == 1
    p = predict_accept_queue(128, abort=1)
    assert p == {"accepted_queue": 129, "overflows": 4, "rsts": 3, "rsts_on_wire": 3, "clients": 133}
    assert predict_accept_queue(4, abort=1) == {"accepted_queue": 5, "overflows": 4, "rsts": 3, "rsts_on_wire": 3, "clients": 9}
    assert predict_accept_queue(4, abort=0)["rsts"] == 0 and predict_accept_queue(4, abort=0)["overflows"] == 4
    assert predict_accept_queue(0, abort=1) == {"accepted_queue": 1, "overflows": 1, "rsts": 0, "rsts_on_wire": 0, "clients": 2}  # no room for a burst
    assert accept_queue_agree({"accepted_queue": 129, "overflows": 4, "rsts": 3, "rsts_on_wire": 3}, p)
    assert not accept_queue_agree({"accepted_queue": 128, "overflows": 5, "rsts": 3, "rsts_on_wire": 3}, p)
    assert not accept_queue_agree({"accepted_queue": 129, "overflows": 4, "rsts": 0, "rsts_on_wire": 0}, p)


def test_tw_reuse_prediction_and_agreement():
    assert connect_ports(40000, 40099) == 100
    assert connect_ports(40000, 40100) == 100  # __inet_hash_connect(): an odd count loses one port
    assert connect_ports(40000, 40000) == 1
    assert reuse_applies(1, 1) and not reuse_applies(1, 0) and not reuse_applies(0, 1)
    assert not reuse_applies(2, 1) and reuse_applies(2, 1, loopback=True)
    on = predict_tw_reuse(100, True, 1.0, 4.5)
    assert on == {"ports": 100, "connections_until_eaddrnotavail": 100, "first_reuse_s": 1.0, "connections": 500,
                  "rate_per_s": 111.1, "tw_recycled": 400}
    off = predict_tw_reuse(100, False, 1.0, 4.5)
    assert off == {"ports": 100, "connections_until_eaddrnotavail": 100, "first_reuse_s": None, "connections": 100,
                   "rate_per_s": 22.2, "tw_recycled": 0}
    assert tw_reuse_agree({**on, "first_reuse_s": 1.002, "connections": 480, "tw_recycled": 380}, on)
    assert not tw_reuse_agree({**on, "first_reuse_s": 0.9}, on)  # the kernel never reuses early
    assert not tw_reuse_agree({**on, "first_reuse_s": None}, on)
    assert not tw_reuse_agree({**on, "connections_until_eaddrnotavail": 99}, on)
    assert not tw_reuse_agree({**on, "connections": 300}, on)
    assert tw_reuse_agree(dict(off), off) and not tw_reuse_agree({**off, "first_reuse_s": 1.0}, off)


def test_keepalive_prediction_and_agreement():
    p = predict_keepalive(2, 1, 3)
    assert p == {"give_up_s": 5.0, "probes": 3, "probe_times_s": [2.0, 3.0, 4.0]}
    assert keepalive_agree({"give_up_s": 5.1, "probes": 3}, p)
    assert not keepalive_agree({"give_up_s": 5.1, "probes": 2}, p)
    with pytest.raises(LabInputError, match="7350 s.*over the lab's limit"):
        runner.plan_time(req("net.ipv4.tcp_keepalive_probes=2"), K618, quick=False)


def test_fin_timeout_prediction():
    assert predict_fin_timeout(5) == {"fin_wait2_s": 5.0}
    assert fin_timeout_agree({"fin_wait2_s": 5.2}, predict_fin_timeout(5))
    assert not fin_timeout_agree({"fin_wait2_s": None}, predict_fin_timeout(5))


def test_ip_forward_prediction():
    assert predict_ip_forward(1) == {"passes": True}
    assert predict_ip_forward(0) == {"passes": False}


# ---- the wire


def _frame(flags: int, sport=40000, dport=7, proto=6) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, proto, 0, socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.2"))
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 65535, 0, 0)
    return b"\x00" * 12 + b"\x08\x00" + ip + tcp


def test_parse_tcp_finds_syns():
    seg = wire.parse_tcp(_frame(0x02))
    assert seg == wire.Segment("198.18.0.1", "198.18.0.2", 40000, 7, 0x02)
    assert seg.is_syn and not seg.is_synack and seg.flag_names() == "SYN"
    assert wire.parse_tcp(_frame(0x12)).is_synack
    assert not wire.parse_tcp(_frame(0x10)).is_syn
    assert wire.parse_tcp(_frame(0x02, proto=17)) is None
    assert wire.parse_tcp(_frame(0x02)[:30]) is None
    assert wire.parse_tcp(b"\x00" * 12 + b"\x86\xdd" + b"\x00" * 60) is None


def test_echo_request_checksum_and_reply_parsing():
    pkt = wire.echo_request(0x1234, 7)
    assert wire.checksum(pkt) == 0  # a correct checksum sums to zero
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(pkt), 0, 0, 64, 1, 0, socket.inet_aton("198.18.2.2"), socket.inet_aton("198.18.1.2"))
    reply = ip + b"\x00" + pkt[1:]
    assert wire.parse_echo_reply(reply) == ("198.18.2.2", 0x1234, 7)
    assert wire.parse_echo_reply(ip + pkt) is None  # a request, not a reply


# ---- namespaces, counters


def test_lab_namespace_names():
    lab = netns.Lab(id="a1b2c3")
    assert lab.ns("client") == "k8s-tui-lab-a1b2c3-client"
    assert netns.lab_id_of("k8s-tui-lab-a1b2c3-client") == "a1b2c3"
    assert netns.lab_id_of("k8stb1-th-1") is None
    assert netns.lab_id_of("k8s-tui-lab-") is None


def test_lab_refuses_keys_and_addresses_outside_its_own():
    lab = netns.Lab(id="x")
    with pytest.raises(netns.LabError, match="not a network-namespace key"):
        lab.sysctl("client", "vm.swappiness", "1")
    with pytest.raises(netns.LabError, match="not one of this lab's namespaces"):
        lab.sysctl("client", "net.ipv4.ip_forward", "1")
    with pytest.raises(netns.LabError, match="outside 198.18.0.0/15"):
        lab.link("a", "a0", "10.0.0.1/30", "b", "b0", "198.18.0.2/30")
    with pytest.raises(netns.LabError, match="outside 198.18.0.0/15"):
        lab.route("a", "0.0.0.0/0", "198.18.0.1")


def test_tcp_syn_header_and_syn_recv_lines():
    hdr = wire.tcp_syn("198.18.0.1", "198.18.0.2", 40000, 8080)
    pseudo = socket.inet_aton("198.18.0.1") + socket.inet_aton("198.18.0.2") + struct.pack("!BBH", 0, 6, 20)
    assert len(hdr) == 20 and wire.checksum(pseudo + hdr) == 0
    assert wire.parse_tcp(b"\x00" * 12 + b"\x08\x00" + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0, socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.2")) + hdr).is_syn
    tcp = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 020012C6:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n"
        "   1: 020012C6:1F90 010012C6:9C40 03 00000000:00000000 02:00000044 00000002     0        0 0\n"
    )
    assert wire.syn_recv_count(tcp, 8080) == 1 and wire.syn_recv_count(tcp, 7) == 0
    fw2 = tcp + "   2: 010012C6:9C41 020012C6:1F92 05 00000000:00000000 03:000001F4 00000000     0        0 0\n"
    assert wire.tcp_state_count(fw2, "05", remote_port=8082) == 1 and wire.tcp_state_count(fw2, "05", remote_port=8080) == 0


def test_proc_counters():
    text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 3 3\nIpExt: InNoRoutes\nIpExt: 1\n"
    assert netns.proc_counters(text) == {"TcpExt.SyncookiesSent": 0, "TcpExt.ListenOverflows": 3, "TcpExt.ListenDrops": 3, "IpExt.InNoRoutes": 1}


# ---- timeline and JSON


def test_recorder_streams_and_rebases_setup_events():
    now = [100.0]
    seen = []
    rec = Recorder(seen.append, clock=lambda: now[0])
    now[0] = 100.5
    rec.add("setup", "namespaces made")
    now[0] = 101.0
    rec.zero()
    now[0] = 102.0
    rec.add("syn", "SYN #1", at=101.25, n=1)
    assert [e.text for e in seen] == ["namespaces made", "SYN #1"]
    assert seen[0].before_start and not seen[1].before_start
    assert [e.t for e in rec.events] == [-0.5, 0.25]


def test_outcome_json_shape():
    rec = Recorder()
    rec.zero()
    rec.add("syn", "SYN #1", n=1)
    o = Outcome("tcp_syn_retries", {"net.ipv4.tcp_syn_retries": "2"}, "6.18", {"give_up_s": 7.1, "syns": 6}, {"give_up_s": 7.0, "syns": 6}, True, "0.6 s", rec.events)
    d = json.loads(json.dumps(o.to_json()))
    assert list(d)[:7] == ["experiment", "settings", "kernel", "measured", "predicted", "agrees", "timeline"]
    assert d["agrees"] is True and d["timeline"][0]["kind"] == "syn" and d["timeline"][0]["data"] == {"n": 1}
    assert set(d["timeline"][0]) == {"t", "kind", "text", "data"}


# ---- waiting with progress, the JSON of a failed run, the CLI's bar


def test_wait_until_reports_progress_every_second_and_stops_at_the_deadline():
    now = [0.0]
    rec = Recorder(clock=lambda: now[0])
    rec.zero()

    def step(wait: float) -> bool:
        now[0] += wait
        return now[0] >= 3.4

    assert wait_until(rec, step, deadline=10.0, expected_s=7.0, timeout_note="limit") is True
    progress = [e for e in rec.events if e.kind == "progress"]
    assert [e.data["elapsed"] for e in progress] == [1.0, 2.0, 3.0]
    assert all(e.data["total"] == 7.0 and "of about 7 s" in e.text for e in progress)
    assert wait_until(rec, lambda w: now.__setitem__(0, now[0] + w) or False, deadline=5.0, expected_s=7.0, timeout_note="limit") is False
    assert rec.events[-1].kind == "note" and rec.events[-1].text == "limit"


def test_json_is_the_last_line_also_when_the_run_fails(monkeypatch, capsys):
    from k8s_tui.cli import lab as cli_lab

    def failing_run(request, kernel, emit=None, quick=False, rec=None):
        rec.zero()
        rec.add("syn", "SYN #1 on the wire", n=1)
        raise netns.LabError("ip netns exec k8s-tui-lab-x-client sysctl: permission denied")

    monkeypatch.setattr(cli_lab, "run_request", failing_run)
    assert main(["lab", "net.ipv4.tcp_syn_retries=2", "--json"]) == 1
    out = capsys.readouterr()
    d = json.loads(out.out.strip().splitlines()[-1])
    assert d["agrees"] is None and "permission denied" in d["error"]
    assert d["experiment"] == "tcp_syn_retries" and d["predicted"]["syns"] == 6 and d["measured"] == {}
    assert [e["text"] for e in d["timeline"]] == ["SYN #1 on the wire"]
    assert "lab failed" in out.err


def test_json_is_the_last_line_for_bad_input_and_no_root(monkeypatch, capsys):
    assert main(["lab", "net.ipv4.tcp_syn_retries=0", "--json"]) == 2
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert d["agrees"] is None and d["experiment"] is None and "1..127" in d["error"]
    monkeypatch.setattr(runner.os, "geteuid", lambda: 1000)
    assert main(["lab", "net.ipv4.tcp_syn_retries=1", "--json"]) == 2
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert d["agrees"] is None and "needs root" in d["error"] and d["timeline"] == []


def test_cli_progress_bar_on_a_terminal_shows_elapsed_and_the_estimate():
    import io

    from rich.console import Console

    from k8s_tui.cli.lab import ProgressBar

    buf = io.StringIO()
    bar = ProgressBar(Console(file=buf, force_terminal=True, width=100))
    bar.emit(Event(1.0, "progress", "waiting: 1 s of about 7 s", {"elapsed": 1.0, "total": 7.0}))
    bar.emit(Event(3.0, "progress", "waiting: 3 s of about 7 s", {"elapsed": 3.0, "total": 7.0}))
    bar.stop()
    text = buf.getvalue()
    assert "3 s of about 7 s, about 4 s left" in text and "━" in text
    plain = io.StringIO()
    lines = ProgressBar(Console(file=plain, force_terminal=False, width=100))
    lines.emit(Event(1.0, "progress", "waiting: 1 s of about 7 s", {"elapsed": 1.0, "total": 7.0}))
    assert "waiting: 1 s of about 7 s" in plain.getvalue()  # piped: a line per event, no bar


def test_lab_view_draws_a_text_bar_for_a_running_side():
    from k8s_tui.session.lab_try import TrySide
    from k8s_tui.widgets.lab_view import progress_bar

    assert progress_bar(3.5, 7.0) == "[##########----------] 4 s of about 7 s, about 4 s left"
    side = TrySide("editing", "2", "sudo k8s-tui lab net.ipv4.tcp_syn_retries=2", status="running", expected_s=7.0)
    assert side.progress() == (0.0, 7.0)
    side.events.append(Event(2.0, "progress", "waiting: 2 s of about 7 s", {"elapsed": 2.0, "total": 7.0}))
    assert side.progress() == (2.0, 7.0)
    side.status = "done"
    assert side.progress() is None


def test_quick_scales_keepalive_and_fin_timeout_and_says_so():
    limit, notes = runner.plan_time(req("net.ipv4.tcp_fin_timeout=60"), K618, quick=True)
    assert runner.expected_seconds(req("net.ipv4.tcp_fin_timeout=60"), K618, quick=True) == 10.0
    assert notes == ["--quick: ran tcp_fin_timeout=10 instead of 60 (durations / 6); measured and predicted are for the values run; "
                     "at full length it takes 60 s"]
    assert runner.predict_request(req("net.ipv4.tcp_fin_timeout=60"), K618, quick=True) == {"fin_wait2_s": 10.0}
    ka = req("net.ipv4.tcp_keepalive_time=7200")
    with pytest.raises(LabInputError, match="over the lab's limit.*--quick runs it with its durations scaled down"):
        runner.plan_time(ka, K618, quick=False)
    assert runner.predict_request(ka, K618, quick=True) == {"give_up_s": 18.0, "probes": 9, "probe_times_s": [float(9 + n) for n in range(9)]}
    assert "tcp_keepalive_time=9 instead of 7200, tcp_keepalive_intvl=1 instead of 75" in runner.plan_time(ka, K618, quick=True)[1][0]
    # short enough: nothing scaled, and it says so; SYN timers never scale
    assert runner.plan_time(req("net.ipv4.tcp_fin_timeout=5"), K618, quick=True)[1] == ["--quick: short enough to run at full length"]
    assert "cannot be scaled" in runner.plan_time(req("net.ipv4.tcp_syn_retries=2"), K618, quick=True)[1][0]
    assert runner.plan_time(req("net.ipv4.tcp_tw_reuse=1"), K618, quick=True)[1][0].startswith("--quick: each side opens connections for 2.5")
