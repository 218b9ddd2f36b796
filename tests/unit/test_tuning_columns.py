"""How the tuning table cuts a key that does not fit its column: whole dotted parts, so the end of
the name (what people look for, and what tells sibling keys apart) stays whole, and no two keys of
the catalogue look the same at the width the table has at 120x40."""

from __future__ import annotations

import pytest

from k8s_tui.knowledge import load_catalogue
from k8s_tui.screens.tuning_columns import fit_key


@pytest.mark.parametrize("key, width, shown", [
    ("net.ipv4.ip_forward", 30, "net.ipv4.ip_forward"),
    ("net.bridge.bridge-nf-call-iptables", 28, "~.bridge-nf-call-iptables"),
    ("net.bridge.bridge-nf-call-ip6tables", 28, "~.bridge-nf-call-ip6tables"),
    ("net.ipv4.conf.default.rp_filter", 28, "net.ipv4.~.default.rp_filter"),
    ("net.ipv6.neigh.default.gc_thresh3", 28, "net.ipv6.~.gc_thresh3"),
    ("net.ipv4.tcp_syn_linear_timeouts", 28, "~.tcp_syn_linear_timeouts"),
    # a leaf longer than the column: cut in its middle, both ends kept
    ("net.netfilter.nf_conntrack_tcp_timeout_established", 28, "net.netfi~imeout_established"),
])
def test_cut_keys(key, width, shown):
    assert fit_key(key, width) == shown


@pytest.mark.parametrize("width", [12, 20, 28, 36])
def test_every_key_fits_and_stays_apart(width):
    keys = load_catalogue().keys()
    shown = {k: fit_key(k, width) for k in keys}
    assert all(len(s) <= width for s in shown.values())
    if width >= 28:  # the table's key column at 120x40 and wider: no two keys look the same
        assert len(set(shown.values())) == len(keys), [k for k in keys if list(shown.values()).count(shown[k]) > 1]
