"""Chinese that is Chinese (issue 10, "Chinese"): `explain --lang zh` holds no English prose for any
key, every text a reader sees exists in both languages (the schema refuses one without the other),
Chinese wraps at any CJK character in the CLI and the explanation panel, and the glossary's words
are the only ones used."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from rich.console import Console

from k8s_tui.cli import main
from k8s_tui.cli.knowledge import print_sections
from k8s_tui.knowledge import KernelVersion, load_catalogue
from k8s_tui.knowledge.explain import explain
from k8s_tui.knowledge.schema import Entry, Group
from k8s_tui.knowledge.wrap import NO_BREAK_AFTER, NO_BREAK_BEFORE, is_wide, text_width, wrap
from k8s_tui.model.presets import load_presets

CAT = load_catalogue()
KEYS = CAT.keys()
ROOT = Path(__file__).resolve().parents[2]

# "English prose": a run of three or more English words (a capital only at the start, the rest
# lower-case: "the kernel accepts", not "SYN-ACK", "TCP_RETR2", "tcp_sk_init()" or "CONFIG_SMP").
# Commands, key names, identifiers and numbers are never prose. What is quoted (a kernel log line,
# a commit subject, a command) is a quotation, not our prose, and so is the sources section.
PROSE = re.compile(r"(?<![\w./\-=])[A-Za-z][a-z]+(?:'[a-z]+)?(?:[ ,]+[A-Za-z][a-z]+(?:'[a-z]+)?){2,}(?![\w/\-=(])")
QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|'[^']*'|`[^`]*`|‘[^’]*’|《[^》]*》")
CALL = re.compile(r"\b\w+\((?:[^()]|\([^()]*\))*\)")  # min(listen backlog, somaxconn), code


def english_prose(line: str, names: tuple[str, ...] = ()) -> list[str]:
    text = QUOTED.sub(" ", line)
    text = CALL.sub(" ", text)
    for n in names:
        text = text.replace(n, " ")
    return PROSE.findall(text)


def zh_lines(key: str, kernel: KernelVersion | None = None) -> list[str]:
    """What `explain KEY --lang zh` prints, without the sources section, as printed lines."""
    sections = [s for s in explain(key, "zh", kernel=kernel) if s.kind != "sources"]
    console = Console(file=io.StringIO(), record=True, width=10_000, highlight=False)
    print_sections(sections, console)
    return console.export_text().splitlines()


def test_the_prose_rule_finds_english_and_leaves_code_alone():
    assert english_prose("内核默认值：1 (Needs a kernel built with CONFIG_SYN_COOKIES)")
    assert english_prose("Pod 能否自行设置：only if the kubelet allows it")
    assert not english_prose("tcp_sk_init() 在每个新网络命名空间里把它设为 1。")
    assert not english_prose("半连接队列由 min(listen backlog, somaxconn) 限制")
    assert not english_prose("内核日志出现 “Possible SYN flooding on port”")
    assert not english_prose("需要在 kubelet 上配置 --allowed-unsafe-sysctls=net.core.somaxconn")


@pytest.mark.parametrize("kernel", [None, "4.4", "4.19"])
def test_explain_in_chinese_holds_no_english_prose(kernel):
    k = KernelVersion.parse(kernel) if kernel else None
    bad = []
    for key in KEYS:
        names = tuple(o.component for o in CAT.get(key).overwritten_by)  # "elasticsearch helm chart" is a name
        for line in zh_lines(key, k):
            found = english_prose(line, names)
            if found:
                bad.append(f"{key}: {found} in {line[:90]!r}")
    assert not bad, f"{len(bad)} lines of English prose:\n" + "\n".join(bad[:30])


def test_the_cli_in_chinese_holds_no_english_prose(capsys):
    """The same rule over the commands a Chinese reader runs: explain (one key), presets, catalog."""
    for argv in (["explain", "net.ipv4.tcp_syncookies"], ["presets"], ["presets", "diff", "kubeasz-3.6.5", "datacenter-tcp"], ["catalog"]):
        assert main([*argv, "--lang", "zh"]) == 0
        out, _ = capsys.readouterr()
        text = "\n".join(line for line in out.splitlines() if not line.lstrip().startswith(("默认值：", "行为：", "来源")))
        bad = [f for line in text.splitlines() for f in english_prose(" ".join(line.split()))]
        # the sources (public refs) are cited as written; everything else is Chinese
        bad = [b for b in bad if not any(b in s.ref for e in CAT for s in e.sources)]
        assert not bad, (argv, bad[:10])


def test_every_note_a_reader_sees_has_its_chinese():
    for e in CAT:
        for en, zh in (
            (e.default_note, e.default_note_zh),
            (e.pod_inherits_note, e.pod_inherits_note_zh),
            *((c.note, c.note_zh) for c in e.default_changes),
            *(((e.pod_sysctl.note, e.pod_sysctl.note_zh),) if e.pod_sysctl else ()),
        ):
            assert (en is None) == (zh is None), e.key
            if zh:
                assert re.search(r"[\u4e00-\u9fff]", zh), (e.key, zh)
    for p in load_presets().values():
        assert p.title_zh and p.description_zh
        if re.search(r"[a-z]{3,} [a-z]{3,}", p.title):  # "kernel defaults", not "kubeasz 3.6.5"
            assert re.search(r"[\u4e00-\u9fff]", p.title_zh), p.title_zh
    for g in Group:
        assert re.search(r"[\u4e00-\u9fff]", g.title_in("zh")), g


def _entry(**over):
    base = CAT.get("net.core.somaxconn").model_dump()
    base.update(over)
    return Entry.model_validate(base)


def test_the_schema_refuses_a_note_in_one_language():
    with pytest.raises(ValidationError, match="one language only"):
        _entry(default_note="An English note only.", default_note_zh=None)
    with pytest.raises(ValidationError, match="one language only"):
        _entry(pod_inherits_note=None, pod_inherits_note_zh="只有中文")
    with pytest.raises(ValidationError, match="holds no Chinese"):
        _entry(default_note_zh="English where Chinese belongs.")
    changes = CAT.get("net.core.somaxconn").model_dump()["default_changes"]
    changes[1]["note_zh"] = None
    with pytest.raises(ValidationError, match="one language only"):
        _entry(default_changes=changes)


def test_the_preset_schema_needs_a_chinese_title(tmp_path):
    from k8s_tui.model.presets import load_preset_file
    from k8s_tui.yamlio import InputError

    p = tmp_path / "x.yaml"
    p.write_text("title: my tuning\nversion: '1'\nsource: s\ndescription_en: e\ndescription_zh: 中文说明\n"
                 "values:\n  net.ipv4.ip_forward: 1\n")
    with pytest.raises(InputError, match="title_zh"):
        load_preset_file(p)


def test_no_space_after_chinese_punctuation():
    """YAML folds line breaks into spaces; Chinese has none after its punctuation."""
    bad = []
    for key in KEYS:
        for s in explain(key, "zh"):
            for line in [s.title, *s.lines]:
                if s.kind in ("diagram", "sources"):
                    continue
                if m := re.search(r"[，。、；：！？（）][ ]+\S|[\u4e00-\u9fff] +[\u4e00-\u9fff]", line):
                    bad.append(f"{key}: {line[max(0, m.start() - 10):m.end() + 10]!r}")
    assert not bad, "\n".join(bad[:20])


def _glossary() -> list[tuple[str, list[str]]]:
    rows = []
    for line in (ROOT / "docs" / "glossary-zh.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("English", "---"):
            avoid = [re.sub(r"\s*\(.*\)$", "", a).strip() for a in cells[2].split(",")]
            rows.append((cells[1], [a for a in avoid if a]))
    return rows


def test_the_glossary_words_are_the_only_ones_used():
    rows = _glossary()
    assert len(rows) >= 10
    texts = []
    for key in KEYS:
        texts += [f"{key}: {line}" for s in explain(key, "zh") if s.kind != "sources" for line in [s.title, *s.lines]]
    for p in load_presets().values():
        texts += [f"preset {p.name}: {p.description_zh}"] + [f"preset {p.name}: {r.zh}" for r in p.reasons.values()]
    bad = []
    for word, avoid in rows:
        for a in avoid:
            pattern = re.compile(rf"(?<![\w-]){re.escape(a)}(?![\w(-])" if a.isascii() else re.escape(a))
            for t in texts:
                if a == "宿主机":
                    t = t.replace("虚拟化宿主机", "")
                if pattern.search(t.split(": ", 1)[1]):
                    bad.append(f"{a!r} (use {word!r}) in {t[:100]!r}")
    assert not bad, "\n".join(bad[:20])


# ---- wrapping ---------------------------------------------------------------------------------


def _first_unit(text: str) -> str:
    """What must stay together at the start of a line: a CJK character with the punctuation that
    may not begin a line after it, or an opening bracket with what follows, up to the next CJK."""
    unit = ""
    for ch in text:
        if unit and (ch == " " or (is_wide(ch) or is_wide(unit[-1])) and ch not in NO_BREAK_BEFORE and unit[-1] not in NO_BREAK_AFTER):
            break
        unit += ch
    return unit


def _premature(lines: list[str], width: int) -> list[str]:
    """Lines that end early: the next line starts with Chinese (or a bracket before Chinese) whose
    first unbreakable unit would have fitted on this line. Rich and Textual break only at spaces,
    so without a CJK-aware wrap a line ends before a whole run of Chinese."""
    bad = []
    for a, b in zip(lines, lines[1:]):
        b_text = b.lstrip(" ")
        if not a.strip() or not b_text or not is_wide(b_text[0]):
            continue
        # between a Latin word or a number and Chinese the text has a space ("设为 0 开始")
        gap = 0 if is_wide(a.rstrip()[-1]) else 1
        if text_width(a.rstrip()) + gap + text_width(_first_unit(b_text)) <= width:
            bad.append(f"{a!r} / {b[:20]!r}")
    return bad


def test_wrap_breaks_between_chinese_characters():
    text = "NodePort 和 hostNetwork 上的 ingress 控制器都会暴露在 SYN 洪泛之下，主机上的这个值保护的就是它们。"
    lines = wrap(text, 30)
    assert all(text_width(line) <= 30 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert not _premature(lines, 30)
    assert wrap("（默认）", 4) == ["（默", "认）"] or all(not line.startswith("）") for line in wrap("（默认）", 4))
    assert not any(line.startswith(("，", "。")) for line in wrap("一二三，四五六。七八九", 6))


def _paragraphs(key: str):
    """Each line of knowledge text alone, as a one-line section of its kind: what one printed
    paragraph is."""
    from k8s_tui.knowledge.explain import Section

    for s in explain(key, "zh"):
        if s.kind in ("diagram", "summary"):
            continue
        for line in s.lines:
            yield Section(s.kind, "", [line])


@pytest.mark.parametrize("width", [60, 80])
def test_cli_chinese_fills_the_line(width):
    bad = []
    for key in KEYS:
        for section in _paragraphs(key):
            console = Console(file=io.StringIO(), record=True, width=width, highlight=False)
            print_sections([section], console)
            lines = [line for line in console.export_text().splitlines() if line.strip()]
            assert all(text_width(line) <= width for line in lines), (key, lines)
            bad += [f"{key}: {b}" for b in _premature(lines, width)]
    assert not bad, "\n".join(bad[:10])


@pytest.mark.parametrize("width", [40, 56])
def test_panel_chinese_fills_the_line(width):
    from k8s_tui.widgets.explain_panel import render_sections

    bad = []
    for key in KEYS:
        for section in _paragraphs(key):
            before, _diagram, after = render_sections([section], width=width)
            lines = [c.plain for c in [*before, *after] if c.plain.strip()]
            assert all(text_width(line) <= width for line in lines), (key, lines)
            bad += [f"{key}: {b}" for b in _premature(lines, width)]
    assert not bad, "\n".join(bad[:10])


def test_explain_zh_at_80_columns_through_the_command(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    from k8s_tui.cli import knowledge

    monkeypatch.setattr(knowledge, "console", Console(width=80, highlight=False))
    assert main(["explain", "net.ipv4.tcp_syncookies", "--lang", "zh"]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    what = lines.index("内核如何使用该值")
    paragraph = lines[what + 1 : lines.index("", what)]
    assert len(paragraph) > 1 and all(text_width(line) <= 80 for line in paragraph)
    assert not _premature(paragraph, 80), _premature(paragraph, 80)[:3]


def test_styled_chinese_wraps_and_keeps_its_styles():
    """The Tool screen's recommendation: styled Content, wrapped at CJK characters."""
    from textual.content import Content

    from k8s_tui.widgets.explain_panel import wrap_content

    c = Content.assemble(("推荐：", "bold"), ("kubeadm", "green"),
                         "。自己的主机、不用 Ansible：由这个向导通过 SSH 运行 kubeadm，本机无需其他软件，每一步都看得见。",
                         ("  同样合适：kubespray：以后改用 Ansible 时。", "dim"))
    out = wrap_content(c, 40)
    lines = out.plain.split("\n")
    assert len(lines) > 2 and all(text_width(line) <= 40 for line in lines)
    assert not _premature(lines, 40)
    assert out.plain.replace("\n", "").replace(" ", "") == c.plain.replace(" ", "")
    styles = {str(s.style) for s in out.spans}
    assert {"bold", "green", "dim"} <= styles


def test_types_and_units_are_chinese():
    from k8s_tui.knowledge.explain import fact_lines

    for e in CAT:
        first = fact_lines(e, "zh")[0]
        assert first.startswith("类型：") and re.search(r"[\u4e00-\u9fff]", first.split("：", 1)[1]), (e.key, first)
        assert e.type.value not in first and (not e.unit or e.unit not in first), (e.key, first)
