"""TIME_WAIT reuse, the accept queue and timestamp offsets: the facts corrected on 2026-12-05.

tcp_tw_reuse waits tcp_tw_reuse_delay ms since TIME_WAIT began (6.14+, commits 19ce8cd30465 and
ca6a6f93867a), not "about a second"; the accept queue holds backlog + 1 (sk_acceptq_is_full());
the tcp_timestamps offset is per address pair since 4.11 (commit 28ee1b746f49)."""

from __future__ import annotations

import pytest

from k8s_tui.knowledge import KernelVersion, load_catalogue
from k8s_tui.knowledge.consequences import describe
from k8s_tui.knowledge.explain import fact_lines
from k8s_tui.lab.settings import EXPERIMENT_OF, LabInputError, parse_request

CAT = load_catalogue()
DELAY = "net.ipv4.tcp_tw_reuse_delay"


def test_tw_reuse_delay_is_a_per_namespace_millisecond_key_from_6_14():
    e = CAT.get(DELAY)
    assert (e.type.value, e.unit, e.min, e.max, e.default) == ("int", "milliseconds", 1, 60000, 1000)
    assert e.netns and not e.pod_inherits and e.added_in == "6.14" and e.group.value == "teardown"
    assert e.default_for(KernelVersion(6, 13)) is None and e.default_for(KernelVersion(6, 14)) == 1000
    refs = " ".join(s.ref for s in e.sources)
    assert "ca6a6f93867a" in refs and "19ce8cd30465" in refs and "v6.14" in refs
    assert DELAY in CAT.get("net.ipv4.tcp_tw_reuse").related


@pytest.mark.parametrize("lang, unit", [("en", "milliseconds"), ("zh", "毫秒")])
def test_tw_reuse_delay_unit_is_named_in_each_language(lang, unit):
    assert unit in fact_lines(CAT.get(DELAY), lang)[0]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tw_reuse_no_longer_says_about_one_second(lang):
    w = CAT.get("net.ipv4.tcp_tw_reuse").words(lang)
    assert "about one second" not in w.what and "大约一秒" not in w.what
    assert "tcp_tw_reuse_delay" in w.what and "6.14" in w.what and "cca9bab1b72c" in w.what


def test_tw_reuse_delay_in_the_lab_names_the_tw_reuse_experiment():
    assert DELAY not in EXPERIMENT_OF
    with pytest.raises(LabInputError) as e:
        parse_request([f"{DELAY}=100"], CAT, KernelVersion(6, 18))
    msg = str(e.value)
    assert "cannot show it here" in msg and "the closest experiment is tcp_tw_reuse (" in msg and "\n" not in msg
    with pytest.raises(LabInputError, match="does not exist before kernel 6.14"):
        parse_request([f"{DELAY}=100"], CAT, KernelVersion(6, 13))


@pytest.mark.parametrize("lang, words", [("en", ["backlog + 1", "sk_acceptq_is_full()", "five"]),
                                         ("zh", ["backlog + 1", "sk_acceptq_is_full()", "5 个"])])
def test_somaxconn_accept_queue_holds_backlog_plus_one(lang, words):
    what = CAT.get("net.core.somaxconn").words(lang).what
    assert all(w in what for w in words), what
    assert any("sk_acceptq_is_full" in s.ref for s in CAT.get("net.core.somaxconn").sources)


@pytest.mark.parametrize("value", [1, 2])
def test_timestamps_consequence_never_says_per_connection_offset(value):
    en = " ".join(describe("net.ipv4.tcp_timestamps", value, {}, None, "en"))
    zh = " ".join(describe("net.ipv4.tcp_timestamps", value, {}, None, "zh"))
    assert "offset per connection" not in en and "per-connection offset" not in en
    assert "对每个连接使用随机偏移" not in zh and "每连接的随机偏移" not in zh
    if value == 1:
        assert "source and destination addresses" in en and "源、目的地址" in zh
