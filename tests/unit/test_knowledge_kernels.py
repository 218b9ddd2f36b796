"""Facts for the reader's kernel (issue 10, "Facts"): keys a kernel does not have, u8 ranges,
per-kernel defaults through the command line, boot-computed defaults with the host's value,
`presets diff` at 80 columns, and kubeadm phase subcommands in `diagnose`."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from k8s_tui.cli import main
from k8s_tui.knowledge import KernelVersion, check_value, load_catalogue
from k8s_tui.knowledge.explain import explain, fact_lines

CAT = load_catalogue()
K = KernelVersion.parse


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---- keys a kernel does not have --------------------------------------------------------------


@pytest.mark.parametrize(
    "key,kernel",
    [
        ("net.ipv4.tcp_tw_recycle", "4.12"),
        ("net.ipv4.tcp_tw_recycle", "6.1"),
        ("net.ipv4.tcp_syn_linear_timeouts", "6.4"),
        ("kernel.softlockup_all_cpu_backtrace", "3.10"),
    ],
)
def test_default_for_a_kernel_without_the_key_is_none(key, kernel):
    e = CAT.get(key)
    assert e.default_for(K(kernel)) is None
    assert not e.exists_on(K(kernel))
    line = next(x for x in fact_lines(e, "en", K(kernel)) if x.startswith("Kernel default"))
    assert "no such key" in line and str(e.default) not in line.split(":", 1)[1].replace("no such key", "")
    zh = next(x for x in fact_lines(e, "zh", K(kernel)) if x.startswith("内核默认值"))
    assert "没有这个参数" in zh


def test_default_for_a_kernel_with_the_key():
    assert CAT.get("net.ipv4.tcp_tw_recycle").default_for(K("4.11")) == 0
    assert CAT.get("net.ipv4.tcp_syn_linear_timeouts").default_for(K("6.5")) == 4
    for e in CAT:  # no kernel: today's default, every key (the tuning table without probes)
        assert e.default_for(None) == e.default


def test_explain_a_removed_key_on_a_new_kernel_still_explains_it(capsys):
    code, out, _ = run(capsys, "explain", "net.ipv4.tcp_tw_recycle", "--kernel", "6.1")
    assert code == 0
    assert "Kernel default (on kernel 6.1): none: this kernel has no such key" in out
    assert "Removed in kernel: 4.12" in out


def test_catalog_json_gives_each_kernels_default(capsys):
    code, out, _ = run(capsys, "catalog", "--json", "--kernel", "4.19")
    assert code == 0
    rows = {r["key"]: r for r in json.loads(out)}
    assert rows["net.core.somaxconn"]["default_on_kernel"] == 128
    assert rows["net.core.somaxconn"]["default"] == 4096
    assert rows["net.ipv4.tcp_tw_recycle"]["default_on_kernel"] is None
    assert rows["net.ipv4.tcp_tw_recycle"]["exists_on_kernel"] is False
    assert rows["net.ipv4.tcp_syn_retries"]["default_on_kernel"] == 6
    assert rows["fs.file-max"]["default_on_kernel"] is None  # computed at boot: the formula, never a number
    assert rows["fs.file-max"]["default_formula"]["examples"]
    assert rows["net.core.somaxconn"]["default_note_zh"] and rows["net.core.somaxconn"]["pod_inherits_note_zh"]


# ---- u8 sysctls -------------------------------------------------------------------------------

# linux net/ipv4/sysctl_net_ipv4.c ipv4_net_table, v5.13 and later: .maxlen = sizeof(u8),
# .proc_handler = proc_dou8vec_minmax (commit 4ecc1baf362c "tcp: convert elligible sysctls to u8")
U8_KEYS = [
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_abort_on_overflow",
    "net.ipv4.tcp_timestamps",
    "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_synack_retries",
    "net.ipv4.tcp_retries2",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_tw_reuse",
    "net.ipv4.tcp_window_scaling",
    "net.ipv4.tcp_slow_start_after_idle",
]


@pytest.mark.parametrize("key", U8_KEYS)
def test_u8_keys_refuse_256_and_never_offer_more_than_255(key):
    e = CAT.get(key)
    hi = e.max if e.max is not None else max(e.allowed_values() or [1])
    assert hi <= 255, f"{key}: the wizard accepts {hi}, the kernel refuses anything above 255"
    assert check_value(e, 256), f"{key}: 256 must be refused"
    assert check_value(e, -1), f"{key}: a negative value must be refused"


@pytest.mark.parametrize("key", ["net.ipv4.tcp_syncookies", "net.ipv4.tcp_abort_on_overflow"])
@pytest.mark.parametrize("lang,words", [("en", ("0-255", "256")), ("zh", ("0-255", "256"))])
def test_explain_says_u8_in_both_languages(key, lang, words):
    text = "\n".join(fact_lines(CAT.get(key), lang))
    assert "u8" in text and all(w in text for w in words)


# ---- namespace notes for every key ------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_namespace_note_is_printed_in_its_language(lang):
    for e in CAT:
        note = e.pod_inherits_note_in(lang)
        if note:
            assert any(note in line for line in fact_lines(e, lang)), (e.key, lang)


def test_pid_max_per_pid_namespace_since_6_14_in_both_languages(capsys):
    for lang, words in (("en", ("6.14", "PID namespace")), ("zh", ("6.14", "PID 命名空间"))):
        code, out, _ = run(capsys, "explain", "kernel.pid_max", "--lang", lang)
        flat = " ".join(out.split())
        assert code == 0 and all(w in flat for w in words), lang


# ---- per-kernel defaults through the command line ---------------------------------------------

HISTORY = [e for e in CAT if len(e.default_changes) > 1]


def test_keys_known_to_have_changed_default_have_a_history():
    have = {e.key for e in HISTORY}
    for key in ("net.core.somaxconn", "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range",
                "net.ipv4.tcp_rmem", "net.core.rmem_max", "net.core.wmem_max", "net.ipv4.tcp_max_syn_backlog",
                "fs.inotify.max_user_watches", "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes"):
        assert key in have, key


@pytest.mark.parametrize("entry", HISTORY, ids=[e.key for e in HISTORY])
def test_explain_kernel_gives_that_kernels_default(capsys, entry):
    for before, change in zip(entry.default_changes, entry.default_changes[1:]):
        since = K(change.since_kernel)
        older = KernelVersion(since.major, since.minor - 1) if since.minor else KernelVersion(since.major - 1, 99)
        for kernel, expected in ((older, before.value), (since, change.value)):
            code, out, _ = run(capsys, "explain", entry.key, "--kernel", str(kernel))
            assert code == 0
            flat = " ".join(out.split())
            line = flat.split("Kernel default", 1)[1].split("Default history", 1)[0]
            shown = " ".join(map(str, expected)) if isinstance(expected, list) else str(expected)
            assert shown in line, (entry.key, str(kernel), shown, line[:120])


@pytest.mark.parametrize("key,kernel,value", [("net.core.somaxconn", "4.19", 128), ("net.core.somaxconn", "5.4", 4096),
                                              ("net.ipv4.tcp_syn_retries", "3.2", 5), ("net.ipv4.tcp_syn_retries", "3.7", 6)])
def test_issue_examples(capsys, key, kernel, value):
    code, out, _ = run(capsys, "explain", key, "--kernel", kernel)
    line = next(x for x in out.splitlines() if x.startswith("Kernel default"))
    assert line.split(":", 1)[1].split()[0].strip() == str(value), line


# ---- computed at boot -------------------------------------------------------------------------


@pytest.mark.parametrize("lang,label", [("en", "on this host"), ("zh", "本机实际值")])
def test_a_computed_default_shows_the_hosts_value_beside_the_formula(lang, label):
    sections = explain("net.netfilter.nf_conntrack_max", lang, host_value=524288)
    facts = next(s for s in sections if s.kind == "facts").lines
    text = "\n".join(facts)
    assert CAT.get("net.netfilter.nf_conntrack_max").default_formula.expr in text
    assert any(label in line and "524288" in line for line in facts)
    # a plain default is not "computed": the host's value is the tuning table's Now column there
    plain = next(s for s in explain("net.core.somaxconn", lang, host_value=1) if s.kind == "facts").lines
    assert not any(label in line for line in plain)


def test_formula_expressions_are_code_not_prose():
    import re

    for e in CAT:
        if e.default_formula:
            assert not re.search(r"\b[a-z]{3,} [a-z]{3,} [a-z]{3,}\b", e.default_formula.expr), (e.key, e.default_formula.expr)


# ---- presets diff at 80 columns ---------------------------------------------------------------


def test_presets_diff_why_wraps_at_80_columns(capsys, monkeypatch):
    from k8s_tui.cli import knowledge
    from k8s_tui.model.presets import get_preset

    console = Console(file=io.StringIO(), width=80, highlight=False, record=True)
    monkeypatch.setattr(knowledge, "console", console)
    assert main(["presets", "diff", "kubeasz-3.6.5", "datacenter-tcp"]) == 0
    out = console.export_text()
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "…" not in out
    flat = " ".join(out.split())
    for name in ("kubeasz-3.6.5", "datacenter-tcp"):
        for key, reason in get_preset(name).reasons.items():
            if key in flat:
                assert " ".join(reason.en.split()) in flat, (name, key)


# ---- diagnose: phase subcommands --------------------------------------------------------------

KEY = "9555b74008f24687eb964bd90a164ecb5760a89481d9c55a77c129b7db438168"


@pytest.mark.parametrize(
    "text",
    [
        f'[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n'
        f"[upload-certs] Using certificate key:\n{KEY}\n",
        f"{KEY}\n",
        f"I1204 10:00:00.000000    1234 version.go:256] remote version is much newer\n{KEY}\n",
    ],
    ids=["upload-certs", "key-only", "klog-and-key"],
)
def test_diagnose_takes_a_phase_subcommand_as_finished(tmp_path, capsys, text):
    f = tmp_path / "out.txt"
    f.write_text(text)
    code, out, _ = run(capsys, "diagnose", str(f))
    assert code == 0, out
    assert "kubeadm init phase upload-certs finished" in out
    assert "did not finish" not in out and "not reached" not in out
    assert KEY in out
    code, out, _ = run(capsys, "diagnose", str(f), "--json")
    j = json.loads(out)
    assert j["status"] == "succeeded" and j["phase_command"] == "upload-certs" and j["certificate_key"] == KEY


def test_diagnose_still_calls_a_cut_off_init_unfinished(tmp_path, capsys):
    f = tmp_path / "out.txt"
    f.write_text("[init] Using Kubernetes version: v1.32.1\n[preflight] Running pre-flight checks\n"
                 '[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n')
    code, out, _ = run(capsys, "diagnose", str(f))
    assert code == 1 and "did not finish" in out


# ---- scope on an older kernel -----------------------------------------------------------------


@pytest.mark.parametrize("key,old,new", [("net.ipv4.tcp_syncookies", "4.4", "4.6"), ("net.ipv4.tcp_keepalive_time", "4.4", "4.5"),
                                         ("net.bridge.bridge-nf-call-iptables", "4.19", "5.3"), ("net.ipv4.tcp_rmem", "4.14", "4.15")])
def test_scope_is_that_kernels(key, old, new):
    e = CAT.get(key)
    old_lines, new_lines = fact_lines(e, "en", K(old)), fact_lines(e, "en", K(new))
    assert next(x for x in old_lines if x.startswith("Scope")).startswith("Scope: global to the host")
    assert not any(x.startswith("New pod network namespace") for x in old_lines)  # global there: no per-pod copy
    assert next(x for x in new_lines if x.startswith("Scope")).startswith("Scope: per network namespace")
    assert any(x.startswith("New pod network namespace") for x in new_lines)
    zh = next(x for x in fact_lines(e, "zh", K(old)) if x.startswith("作用域"))
    assert zh.startswith("作用域：整台主机共享")


def test_tw_recycle_was_per_netns_in_4_11_only():
    e = CAT.get("net.ipv4.tcp_tw_recycle")
    assert not e.netns_on(K("4.10")) and e.netns_on(K("4.11")) and not e.netns_on(K("4.12"))
