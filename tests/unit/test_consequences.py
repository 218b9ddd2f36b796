"""The numbers behind the tuning screen's "what this means" lines, checked against hand-derived cases.

SYN cases follow net/ipv4/tcp_timer.c: waits start at 1 s and double after each retransmission
(capped at 120 s); from 6.5 the first tcp_syn_linear_timeouts retransmissions don't double, the
retransmission budget is retries + linear, and the old time budget ((2 << retries) - 1 s for
retries <= 6) still ends the attempt. The 6.5+ cases were also measured on linux 6.18.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from k8s_tui.knowledge.consequences import (
    describe,
    ephemeral_ports,
    keepalive_detect_seconds,
    model_timeout,
    parse_port_list,
    reserved_in_range,
    syn_connect_timeout,
    syn_schedule,
    synack_lifetime,
    synack_schedule,
)
from k8s_tui.knowledge.values import KernelVersion

OLD = KernelVersion(6, 1)
NEW = KernelVersion(6, 5)
CJK = re.compile(r"[\u4e00-\u9fff]")


# ---- connect() on kernels before 6.5: pure exponential backoff from 1 s


def test_default_six_retries_on_6_1_is_127_seconds():
    assert syn_connect_timeout(6, 4, OLD) == 127
    assert syn_schedule(6, 4, OLD) == [0, 1, 3, 7, 15, 31, 63]


def test_two_retries_on_old_kernel_is_7_seconds():
    assert syn_connect_timeout(2, 4, OLD) == 7
    assert syn_schedule(2, 4, OLD) == [0, 1, 3]


def test_linear_is_ignored_before_6_5():
    for linear in (0, 4, 10):
        assert syn_connect_timeout(3, linear, KernelVersion(5, 15)) == 15


def test_old_kernel_caps_waits_at_120_seconds():
    # 0,1,3,7,15,31,63,127 then waits of 120: last SYN at 247, give up at 367
    assert syn_schedule(8, 0, OLD)[-1] == 247
    assert syn_connect_timeout(8, 0, OLD) == 127 + 2 * 120


# ---- connect() on 6.5 and later


def test_default_on_6_5_is_131_seconds_with_11_syns():
    assert syn_connect_timeout(6, 4, NEW) == 131
    assert syn_schedule(6, 4, NEW) == [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]


def test_two_retries_on_6_5_still_gives_up_at_7_seconds_but_sends_6_syns():
    assert syn_connect_timeout(2, 4, NEW) == 7
    assert syn_schedule(2, 4, NEW) == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("retries", "linear", "seconds"),
    [(1, 4, 3), (3, 4, 19), (4, 4, 35), (5, 4, 67), (2, 2, 9), (6, 0, 127), (10, 4, 611)],
)
def test_6_5_give_up_times(retries, linear, seconds):
    assert syn_connect_timeout(retries, linear, NEW) == seconds


def test_kernel_none_means_current_rule():
    assert syn_connect_timeout(6, 4, None) == 131
    assert syn_schedule(2, 2, None) == [0, 1, 2, 3, 5]


def test_model_timeout_matches_tcp_model_timeout():
    assert model_timeout(6) == 127
    assert model_timeout(2) == 7
    assert model_timeout(7) == 247
    assert model_timeout(15, 0.2) == pytest.approx(924.6)  # ip-sysctl.rst's tcp_retries2 figure


def test_syn_retries_below_one_is_refused():
    with pytest.raises(ValueError):
        syn_connect_timeout(0, 4, NEW)


# ---- SYN-ACK, keepalive, ports


def test_synack_lifetime():
    assert synack_lifetime(5) == 63
    assert synack_schedule(5) == [0, 1, 3, 7, 15, 31]
    assert synack_lifetime(2) == 7
    assert synack_lifetime(8) == 127 + 2 * 120  # waits 128 and 256 are capped at 120 s


def test_keepalive_detection():
    assert keepalive_detect_seconds(600, 30, 10) == 900
    assert keepalive_detect_seconds(7200, 75, 9) == 7875


def test_ephemeral_ports():
    assert ephemeral_ports(32768, 60999) == 28232
    assert ephemeral_ports(1024, 65535) == 64512
    assert ephemeral_ports(5, 4) == 0


def test_port_list_parsing():
    assert parse_port_list("30000-32767,8080") == [(30000, 32767), (8080, 8080)]
    assert parse_port_list("") == []
    assert reserved_in_range("30000-32767,10250", 1024, 65535) == 2769
    assert reserved_in_range("30000-32767", 32768, 60999) == 0


# ---- describe()


def test_unknown_key_gives_nothing():
    assert describe("net.ipv4.nope", 1, {}, None) == []


def test_syn_retries_with_unknown_kernel_shows_both_rules():
    lines = describe("net.ipv4.tcp_syn_retries", 2, {"net.ipv4.tcp_syn_linear_timeouts": 4}, None)
    text = " ".join(lines)
    assert "before 6.5" in text and "6.5 and later" in text
    assert "3 SYNs" in text and "6 SYNs" in text and "7 s" in text


def test_syn_retries_on_new_kernel_uses_context_linear():
    text = " ".join(describe("net.ipv4.tcp_syn_retries", 6, {"net.ipv4.tcp_syn_linear_timeouts": 0}, KernelVersion(6, 18)))
    assert "127 s" in text
    text = " ".join(describe("net.ipv4.tcp_syn_retries", 6, {"net.ipv4.tcp_syn_linear_timeouts": 4}, KernelVersion(6, 18)))
    assert "131 s" in text


def test_linear_timeouts_absent_before_6_5():
    text = " ".join(describe("net.ipv4.tcp_syn_linear_timeouts", 4, {}, KernelVersion(5, 15)))
    assert "does not exist" in text


def test_keepalive_uses_all_three():
    ctx = {"net.ipv4.tcp_keepalive_time": 600, "net.ipv4.tcp_keepalive_intvl": 30, "net.ipv4.tcp_keepalive_probes": 10}
    text = " ".join(describe("net.ipv4.tcp_keepalive_probes", 10, ctx, None))
    assert "900 s" in text and "before IPVS" in text
    text = " ".join(describe("net.ipv4.tcp_keepalive_time", 7200, ctx, None))
    assert "7500 s" in text and "after IPVS" in text


def test_port_range_warns_about_nodeports_unless_reserved():
    text = " ".join(describe("net.ipv4.ip_local_port_range", (1024, 65535), {}, None))
    assert "64512 ephemeral ports" in text and "NodePort" in text and "10250 (kubelet)" in text
    ctx = {"net.ipv4.ip_local_reserved_ports": "30000-32767"}
    text = " ".join(describe("net.ipv4.ip_local_port_range", (1024, 65535), ctx, None))
    assert "NodePort numbers" not in text and "leaving 61744" in text


def test_default_port_range_parity():
    text = " ".join(describe("net.ipv4.ip_local_port_range", (32768, 60999), {}, None))
    assert "28232" in text and "different parity" in text and "NodePort" not in text


def test_syn_backlog_ignored_with_cookies():
    assert "does not read" in " ".join(describe("net.ipv4.tcp_max_syn_backlog", 65536, {}, None))
    text = " ".join(describe("net.ipv4.tcp_max_syn_backlog", 16384, {"net.ipv4.tcp_syncookies": 0}, None))
    assert "12288" in text


def test_somaxconn_pod_default_follows_kernel():
    assert "(128)" in " ".join(describe("net.core.somaxconn", 32768, {}, KernelVersion(4, 19)))
    assert "(4096)" in " ".join(describe("net.core.somaxconn", 32768, {}, KernelVersion(5, 4)))


KEYS_AND_VALUES = [
    ("net.core.somaxconn", 4096),
    ("net.ipv4.tcp_max_syn_backlog", 2048),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.tcp_syncookies", 1),
    ("net.ipv4.tcp_syncookies", 2),
    ("net.ipv4.tcp_syn_retries", 6),
    ("net.ipv4.tcp_synack_retries", 5),
    ("net.ipv4.tcp_syn_linear_timeouts", 4),
    ("net.ipv4.tcp_abort_on_overflow", 0),
    ("net.ipv4.tcp_abort_on_overflow", 1),
    ("net.ipv4.ip_local_port_range", (32768, 60999)),
    ("net.ipv4.ip_local_reserved_ports", ""),
    ("net.ipv4.ip_local_reserved_ports", "30000-32767"),
    ("net.ipv4.tcp_timestamps", 0),
    ("net.ipv4.tcp_timestamps", 1),
    ("net.ipv4.tcp_timestamps", 2),
    ("net.ipv4.tcp_keepalive_time", 7200),
    ("net.ipv4.tcp_keepalive_intvl", 75),
    ("net.ipv4.tcp_keepalive_probes", 9),
    ("net.ipv4.tcp_fin_timeout", 60),
]


@pytest.mark.parametrize(("key", "value"), KEYS_AND_VALUES)
@pytest.mark.parametrize("kernel", [None, KernelVersion(4, 19), KernelVersion(6, 18)])
def test_every_key_speaks_both_languages(key, value, kernel):
    en = describe(key, value, {}, kernel, "en")
    zh = describe(key, value, {}, kernel, "zh")
    assert en and zh and len(en) == len(zh)
    assert all(isinstance(s, str) and s.strip() for s in en + zh)
    assert not any(CJK.search(s) for s in en)
    assert all(CJK.search(s) for s in zh)


DATA = Path(__file__).resolve().parents[2] / "k8s_tui" / "knowledge" / "data"


@pytest.mark.parametrize("name", ["setup.yaml", "keepalive.yaml"])
def test_every_key_in_our_data_files_is_described(name):
    from k8s_tui.knowledge.catalogue import load_file

    path = DATA / name
    if not path.exists():
        pytest.skip(f"{name} not written yet")
    for entry in load_file(path):
        default = tuple(entry.default) if isinstance(entry.default, list) else entry.default
        assert describe(entry.key, default, {}, None), entry.key
