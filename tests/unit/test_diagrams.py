"""The TCP diagrams: shape, markers, languages and the characters they may use."""

from __future__ import annotations

import unicodedata

import pytest

from k8s_tui.knowledge import diagrams
from k8s_tui.knowledge.diagrams import DIAGRAMS, WIDTH, cell_width, marks, render

EXPECTED_MARKS = {
    "handshake": {"syn-retries", "synack-retries", "syn-queue", "accept-queue", "local-port"},
    "close": {"fin-wait-2", "time-wait", "orphans"},
    "keepalive": {"keepalive-time", "keepalive-intvl", "keepalive-probes"},
}
LANGS = ("en", "zh")


def _columns(text: str) -> int:
    """Our own count, independent of the module's: wide and full-width characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _allowed(ch: str) -> bool:
    code = ord(ch)
    return (
        0x20 <= code <= 0x7E  # printable ASCII
        or 0x2500 <= code <= 0x257F  # box drawing
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0x3000 <= code <= 0x303F  # CJK symbols and punctuation
        or 0xFF00 <= code <= 0xFFEF  # full-width forms (，：（）)
    )


def test_the_three_diagrams_and_their_markers():
    assert set(DIAGRAMS) == set(EXPECTED_MARKS)
    for name, expected in EXPECTED_MARKS.items():
        assert set(marks(name)) == expected
        assert len(marks(name)) == len(expected)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(EXPECTED_MARKS))
def test_every_mark_highlights_some_lines_but_not_all(name, lang):
    for mark in marks(name):
        flags = [flag for _, flag in render(name, mark, lang)]
        assert any(flags), f"{name}/{mark} highlights nothing"
        assert not all(flags), f"{name}/{mark} highlights everything"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(EXPECTED_MARKS))
def test_no_mark_highlights_nothing(name, lang):
    lines = render(name, None, lang)
    assert lines and not any(flag for _, flag in lines)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(EXPECTED_MARKS))
def test_lines_fit_beside_a_table(name, lang):
    for line, _ in render(name, None, lang):
        assert _columns(line) <= WIDTH == 46, f"{name}/{lang}: {line!r} is {_columns(line)} columns"
        assert cell_width(line) == _columns(line)
        assert line == line.rstrip(), f"trailing spaces in {line!r}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(EXPECTED_MARKS))
def test_only_ascii_box_drawing_and_cjk(name, lang):
    for line, _ in render(name, None, lang):
        bad = [ch for ch in line if not _allowed(ch)]
        assert not bad, f"{name}/{lang}: {bad!r} in {line!r}"


def test_rich_agrees_on_the_width():
    cells = pytest.importorskip("rich.cells")
    for name in DIAGRAMS:
        for lang in LANGS:
            for line, _ in render(name, None, lang):
                assert cells.cell_len(line) == _columns(line), line


@pytest.mark.parametrize("name", sorted(EXPECTED_MARKS))
def test_both_languages_have_the_same_shape(name):
    en, zh = render(name, None, "en"), render(name, None, "zh")
    assert len(en) == len(zh)
    for mark in marks(name):
        assert [f for _, f in render(name, mark, "en")] == [f for _, f in render(name, mark, "zh")]
    # the labels are translated, the arrows are not
    assert [line for line, _ in en] != [line for line, _ in zh]
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in line) for line, _ in zh)
    assert not any(any("\u4e00" <= ch <= "\u9fff" for ch in line) for line, _ in en)
    arrows_en = [line for line, _ in en if "->" in line or "<-" in line]
    arrows_zh = [line for line, _ in zh if "->" in line or "<-" in line]
    assert arrows_en and arrows_en == arrows_zh


def test_state_names_stay_english_in_chinese():
    zh = "\n".join(line for line, _ in render("handshake", None, "zh"))
    for state in ("SYN_SENT", "SYN_RECV", "ESTABLISHED", "LISTEN", "connect()", "accept()"):
        assert state in zh
    zh = "\n".join(line for line, _ in render("close", None, "zh"))
    for state in ("FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK", "60"):
        assert state in zh


def test_the_marks_land_where_they_act():
    def marked(name, mark):
        return "\n".join(line for line, flag in render(name, mark) if flag)

    assert "TIME_WAIT" in marked("close", "time-wait") and "60 s" in marked("close", "time-wait")
    assert "FIN_WAIT_2" in marked("close", "fin-wait-2")
    assert "orphan" in marked("close", "orphans")
    assert "SYN_RECV" in marked("handshake", "syn-queue")
    assert "accept" in marked("handshake", "accept-queue")
    assert "local" in marked("handshake", "local-port")
    assert "resend" in marked("handshake", "syn-retries") and "resend" in marked("handshake", "synack-retries")
    assert "probe" in marked("keepalive", "keepalive-probes")


def test_unknown_name_and_mark():
    with pytest.raises(KeyError):
        render("nope")
    with pytest.raises(KeyError):
        marks("nope")
    with pytest.raises(ValueError):
        render("close", "no-such-mark")
    with pytest.raises(ValueError):  # a marker of another diagram is not one of this diagram's
        render("close", "syn-queue")


def test_unknown_language_falls_back_to_english():
    assert render("close", None, "fr") == render("close", None, "en")


def test_no_textual_import():
    source = open(diagrams.__file__, encoding="utf-8").read()
    for banned in ("import textual", "from textual", "import rich", "from rich"):
        assert banned not in source
