"""The knowledge base: every key the product promises, complete facts, both languages, sources."""

import re

import pytest

from k8s_tui.knowledge import Group, KernelVersion, ValueType, check_value, load_catalogue, parse_value
from k8s_tui.knowledge.explain import explain
from k8s_tui.model.presets import load_presets

CAT = load_catalogue()

# issue 2: the seed article, kubeasz 3.6.5 and 3.7.0, kubespray, kops, plus these two
REQUIRED = {
    # seed article
    "net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
    "net.bridge.bridge-nf-call-arptables", "net.ipv4.tcp_tw_reuse", "net.core.somaxconn",
    "net.netfilter.nf_conntrack_max", "vm.swappiness", "vm.max_map_count", "fs.file-max",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_abort_on_overflow", "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_tw_recycle",
    # kubeasz 3.7.0
    "net.ipv4.tcp_timestamps", "net.core.netdev_max_backlog", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
    "fs.inotify.max_user_instances", "fs.inotify.max_user_watches", "vm.overcommit_memory",
    "vm.panic_on_oom", "kernel.panic", "kernel.pid_max", "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.default.rp_filter", "kernel.softlockup_panic", "fs.may_detach_mounts",
    # kubespray (incl. the kubelet's protect-kernel-defaults keys and the proposed floors)
    "net.ipv6.conf.all.forwarding", "kernel.keys.root_maxbytes", "kernel.keys.root_maxkeys",
    "kernel.panic_on_oops", "net.ipv4.ip_local_reserved_ports", "fs.aio-max-nr",
    "net.ipv4.neigh.default.gc_thresh1", "net.ipv4.neigh.default.gc_thresh2", "net.ipv4.neigh.default.gc_thresh3",
    # kops
    "kernel.softlockup_all_cpu_backtrace", "net.core.rmem_max", "net.core.wmem_max",
    "net.ipv4.tcp_window_scaling", "net.ipv4.tcp_slow_start_after_idle",
    # named in the issue
    "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syn_linear_timeouts",
}

PROTECT_KERNEL_DEFAULTS = {
    "vm.overcommit_memory", "vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes",
}


def test_every_required_key_is_known():
    missing = sorted(REQUIRED - set(CAT.keys()))
    assert not missing, f"missing from the knowledge base: {missing}"


def test_every_preset_key_is_known_and_every_preset_value_is_valid():
    for p in load_presets().values():
        for mode in ("iptables", "ipvs", "nftables"):
            for key, value in p.resolve(mode).values.items():
                entry = CAT.get(key)
                assert check_value(entry, value) == [], (p.name, key, value)


@pytest.mark.parametrize("entry", list(CAT), ids=lambda e: e.key)
def test_entry_is_complete(entry):
    for lang in ("en", "zh"):
        w = entry.words(lang)
        for field in ("summary", "what", "why", "tradeoff", "when"):
            assert getattr(w, field).strip(), (lang, field)
    # the Chinese really is Chinese
    assert re.search(r"[\u4e00-\u9fff]", entry.text.zh.what)
    assert not re.search(r"[\u4e00-\u9fff]", entry.text.en.what)
    facts = {s.fact for s in entry.sources}
    assert "default" in facts and "behaviour" in facts, facts
    # the kernel default is a valid value of the key's type, or (for defaults the kernel
    # computes at boot from memory) a sentence saying how it is computed
    if isinstance(entry.default, str) and entry.type is not ValueType.ports:
        assert "comput" in entry.default or entry.default_note, entry.default
    else:
        parsed = parse_value(entry, entry.default)
        if entry.type is not ValueType.ports:
            assert not [p for p in check_value(entry, parsed) if "range" in p], entry.default
        if entry.type is ValueType.enum:
            assert parsed in entry.allowed_values()
    if not entry.netns:
        assert entry.pod_sysctl is None or not entry.pod_sysctl.safe


def test_protect_kernel_defaults_keys():
    flagged = {e.key for e in CAT if e.protect_kernel_defaults}
    assert flagged == PROTECT_KERNEL_DEFAULTS
    for k in flagged:
        assert any(o.component == "kubelet" for o in CAT.get(k).overwritten_by), k


def test_known_facts():
    somax = CAT.get("net.core.somaxconn")
    assert somax.default == 4096 and somax.netns
    assert [(c.since_kernel, c.value) for c in somax.default_changes][-2:] == [("0", 128), ("5.4", 4096)]
    assert CAT.get("net.ipv4.tcp_tw_recycle").removed_in == "4.12"
    assert CAT.get("net.netfilter.nf_conntrack_max").requires_module == "nf_conntrack"
    assert not CAT.get("net.netfilter.nf_conntrack_max").netns
    assert any(o.component == "kube-proxy" for o in CAT.get("net.netfilter.nf_conntrack_max").overwritten_by)
    assert CAT.get("net.bridge.bridge-nf-call-iptables").requires_module == "br_netfilter"
    assert CAT.get("net.ipv4.tcp_syn_linear_timeouts").added_in == "6.5"
    assert CAT.get("net.ipv4.ip_local_port_range").type is ValueType.pair
    assert CAT.get("net.ipv4.ip_local_port_range").pod_sysctl.safe
    assert CAT.get("vm.swappiness").netns is False


def test_kernel_version_rules():
    recycle = CAT.get("net.ipv4.tcp_tw_recycle")
    assert "removed in kernel 4.12" in check_value(recycle, 0, KernelVersion.parse("5.15.0-91-generic"))[0]
    assert check_value(recycle, 0, KernelVersion.parse("4.9")) == []
    linear = CAT.get("net.ipv4.tcp_syn_linear_timeouts")
    assert "does not exist before kernel 6.5" in check_value(linear, 4, KernelVersion.parse("6.1"))[0]


def test_groups_cover_the_tuning_screen():
    groups = CAT.by_group()
    for g in (Group.forwarding, Group.setup, Group.teardown, Group.keepalive, Group.conntrack, Group.memory, Group.files):
        assert groups.get(g), g


def test_suggest_nearest():
    assert CAT.suggest("net.ipv4.tcp_tw_reus")[0] == "net.ipv4.tcp_tw_reuse"
    assert "net.core.somaxconn" in CAT.suggest("somaxconn")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_explain_has_every_part(lang):
    sections = explain("net.ipv4.tcp_syn_retries", lang, value=2)
    kinds = [s.kind for s in sections]
    for k in ("summary", "text", "facts", "presets", "sources", "consequences", "diagram"):
        assert k in kinds, k
    diagram = next(s for s in sections if s.kind == "diagram")
    assert any(diagram.marked) and not all(diagram.marked)


def test_kernel_defaults_preset_matches_the_catalogue():
    """The preset is the catalogue's defaults; it must not drift from them."""
    from k8s_tui.model.presets import get_preset

    preset = get_preset("kernel-defaults")
    assert len(preset.values.values) >= 35
    for key, value in preset.values.values.items():
        default = CAT.get(key).default
        assert value == (tuple(default) if isinstance(default, list) else default), key


def test_a_bad_preset_names_file_line_key_and_rule(tmp_path):
    from k8s_tui.model.presets import load_preset_file
    from k8s_tui.yamlio import InputError

    p = tmp_path / "mine.yaml"
    p.write_text("title: t\ntitle_zh: t\nversion: '1'\nsource: s\ndescription_en: e\ndescription_zh: 中文\n"
                 "values:\n  net.ipv4.tcp_tw_reuse: 7\n")
    with pytest.raises(InputError) as e:
        load_preset_file(p)
    msg = str(e.value)
    assert str(p) in msg and "line 7" in msg and "net.ipv4.tcp_tw_reuse" in msg and "0..2" in msg


def test_every_source_is_one_a_reader_can_open():
    """No ref names a path of the machine the data was written on or its research notes, and the
    article the wizard grew from is named by its title, never as "the seed"."""
    import re

    from k8s_tui.model.presets import load_presets

    private = re.compile(r"/work/|shared/|\bseed\b|种子")
    bad = [f"{e.key}: {s.ref}" for e in load_catalogue() for s in e.sources if private.search(s.ref)]
    for p in load_presets().values():
        for text in (p.source, p.version, p.description_en, p.description_zh):
            if private.search(text or ""):
                bad.append(f"preset {p.name}: {text}")
    assert not bad, "\n".join(bad)
