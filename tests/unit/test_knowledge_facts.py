"""Facts that must be right for the reader's kernel (issue 10, "Facts"): u8 ranges, namespace notes,
per-kernel defaults, computed defaults, guarded removed keys, and knowledge text printed as text."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from k8s_tui.cli import main
from k8s_tui.cli.knowledge import print_sections
from k8s_tui.hostprep.sysctl_conf import render_sysctl_conf
from k8s_tui.knowledge import KernelVersion, load_catalogue
from k8s_tui.knowledge.explain import LABELS, explain, fact_lines

CAT = load_catalogue()
KEYS = CAT.keys()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def facts(key: str, kernel: str | None = None, lang: str = "en") -> list[str]:
    return fact_lines(CAT.get(key), lang, KernelVersion.parse(kernel) if kernel else None)


# ---- u8 sysctls -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["net.ipv4.tcp_syncookies", "net.ipv4.tcp_abort_on_overflow", "net.ipv4.tcp_timestamps"])
def test_u8_keys_say_0_to_255_since_5_13_and_cite_the_conversion(key):
    e = CAT.get(key)
    note = e.default_note or ""
    assert "0-255" in note and "256" in note and "5.13" in note
    assert "stores any int" not in note.replace("before 5.13 it stored any int", "")
    refs = [s.ref for s in e.sources if s.fact == "range"]
    assert any("4ecc1baf362c" in r and "proc_dou8vec_minmax" in r for r in refs), refs


# ---- namespace notes --------------------------------------------------------------------------


def test_pid_max_explains_its_pid_namespace_since_6_14():
    lines = facts("kernel.pid_max")
    assert any("6.14" in line and "PID namespace" in line for line in lines), lines
    zh = facts("kernel.pid_max", lang="zh")
    assert any(line.startswith(LABELS["zh"]["namespaces"]) for line in zh)


def test_every_pod_inherits_note_is_printed():
    for e in CAT:
        if e.pod_inherits_note:
            assert any(e.pod_inherits_note in line for line in facts(e.key)), e.key


def test_tcp_tw_recycle_was_per_netns_in_4_11_only():
    e = CAT.get("net.ipv4.tcp_tw_recycle")
    assert "4.11" in (e.pod_inherits_note or "") and "unverified" not in (e.pod_inherits_note or "")
    assert any(s.fact == "netns" and "v4.11" in s.ref for s in e.sources)


# ---- per-kernel defaults ----------------------------------------------------------------------


def test_somaxconn_on_4_19_was_128(capsys):
    code, out, _ = run(capsys, "explain", "net.core.somaxconn", "--kernel", "4.19")
    assert code == 0
    default = next(line for line in out.splitlines() if line.startswith("Kernel default"))
    assert "4.19" in default and ": 128" in default and "4096" not in default


def test_tcp_syn_retries_on_3_2_was_5():
    line = next(x for x in facts("net.ipv4.tcp_syn_retries", "3.2") if x.startswith("Kernel default"))
    assert line.startswith("Kernel default (on kernel 3.2): 5")
    line = next(x for x in facts("net.ipv4.tcp_syn_retries", "3.7") if x.startswith("Kernel default"))
    assert line.startswith("Kernel default: 6") or ": 6" in line


def test_every_default_change_is_what_explain_shows_on_that_kernel():
    for e in CAT:
        for i, change in enumerate(e.default_changes):
            if change.since_kernel == "0":
                # one kernel before the first change
                nxt = e.default_changes[1].since_kernel if len(e.default_changes) > 1 else None
                if nxt is None:
                    continue
                k = KernelVersion.parse(nxt)
                k = KernelVersion(k.major, k.minor - 1) if k.minor else KernelVersion(k.major - 1, 99)
            else:
                k = KernelVersion.parse(change.since_kernel)
            assert e.default_for(k) == change.value, (e.key, str(k))
            text = " ".join(fact_lines(e, "en", k))
            shown = " ".join(str(x) for x in change.value) if isinstance(change.value, list) else str(change.value)
            if i < len(e.default_changes) - 1 or not e.default_formula:
                assert shown in text, (e.key, str(k))


def test_default_for_without_kernel_is_the_current_default():
    for e in CAT:
        assert e.default_for(None) == e.default


def test_the_tuning_table_default_is_the_oldest_host_kernels():
    from k8s_tui.session.demo import demo_state

    state = demo_state()
    assert min(state.kernels().values()) == KernelVersion(4, 19)  # worker-3
    row = next(r for r in state.rows() if r.key == "net.core.somaxconn")
    assert row.default == "128"


# ---- computed defaults ------------------------------------------------------------------------

COMPUTED = [
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.tcp_max_tw_buckets",
    "net.ipv4.tcp_max_orphans",
    "net.netfilter.nf_conntrack_max",
    "net.nf_conntrack_max",
    "fs.file-max",
    "fs.inotify.max_user_watches",
    "kernel.pid_max",
]


@pytest.mark.parametrize("key", COMPUTED)
def test_defaults_computed_at_boot_are_a_formula_with_examples(key):
    e = CAT.get(key)
    assert e.default_formula is not None and e.default_formula.examples
    assert any(s.fact == "default" and re.search(r"\bv\d+\.\d+\b", s.ref) for s in e.sources), "cite the source at a tag"
    for lang in ("en", "zh"):
        text = "\n".join(facts(key, lang=lang))
        assert e.default_formula.expr in text
        for ex in e.default_formula.examples:
            shown = " ".join(map(str, ex.value)) if isinstance(ex.value, list) else str(ex.value)
            assert shown in text


def test_catalog_json_exports_the_formula_never_a_bare_number(capsys):
    code, out, _ = run(capsys, "catalog", "--json")
    assert code == 0
    rows = {r["key"]: r for r in json.loads(out)}
    for key in COMPUTED:
        assert rows[key]["default"] is None
        assert rows[key]["default_formula"]["expr"]
        assert rows[key]["default_formula"]["examples"]
    assert rows["net.core.somaxconn"]["default"] == 4096
    assert rows["net.core.somaxconn"]["default_formula"] is None


# ---- removed keys -----------------------------------------------------------------------------

REMOVED = [e for e in CAT if e.removed_in]


@pytest.mark.parametrize("entry", REMOVED, ids=[e.key for e in REMOVED])
def test_a_removed_key_is_never_written_unguarded(entry):
    key = entry.key
    text = render_sysctl_conf({key: entry.default})
    assert not [line for line in text.splitlines() if line.startswith(key)], text
    assert f"# {key} left out: removed in kernel {entry.removed_in}" in text
    text = render_sysctl_conf({key: entry.default}, kernel=KernelVersion.parse(entry.removed_in))
    assert not [line for line in text.splitlines() if line.startswith(key)]
    assert f"# {key} left out" in text
    old = KernelVersion.parse(entry.removed_in)
    text = render_sysctl_conf({key: entry.default}, kernel=KernelVersion(old.major, old.minor - 1))
    assert f"{key} = " in text  # a kernel that still has it gets it


def test_render_sysctl_datacenter_tcp_without_kernel_leaves_tw_recycle_out(capsys):
    code, out, _ = run(capsys, "render-sysctl", "datacenter-tcp")
    assert code == 0
    assert "\nnet.ipv4.tcp_tw_recycle" not in out
    assert "# net.ipv4.tcp_tw_recycle left out" in out


# ---- knowledge text is printed as text --------------------------------------------------------


def _words(lines: list[str]) -> list[str]:
    return [w for line in lines for w in line.split()]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cli_prints_every_word_of_every_entry(lang):
    for key in KEYS:
        sections = explain(key, lang)
        console = Console(file=io.StringIO(), record=True, width=100_000, highlight=False)
        print_sections(sections, console)
        out = console.export_text()
        printed = set(out.split())
        source = [s.title for s in sections] + _words([line for s in sections for line in s.lines])
        missing = [w for w in _words(source) if w not in printed]
        assert not missing, (key, lang, missing[:5])


def test_since_in_brackets_survives_explain(capsys):
    code, out, _ = run(capsys, "explain", "net.ipv4.tcp_tw_reuse")
    assert code == 0
    assert "[since 4.18]" in " ".join(out.split())


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tui_panel_shows_every_word_of_every_entry(lang):
    from k8s_tui.widgets.explain_panel import render_sections

    for key in KEYS:
        sections = explain(key, lang)
        before, diagram, after = render_sections(sections, width=10_000)  # no folding: this is about markup
        printed = set(" ".join(c.plain for c in [*before, *diagram, *after]).split())
        source = [s.title for s in sections] + [line for s in sections for line in s.lines]
        missing = [w for w in _words(source) if w not in printed]
        assert not missing, (key, lang, missing[:5])
