"""Cleaning a raw output line for display."""

import pytest

from k8s_tui.engine.text import clean_line, strip_ansi


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("\x1b[1;32mok\x1b[0m done", "ok done"),
        ("\x1b[38;5;196mred\x1b[39m", "red"),
        ("\x1b[2K\x1b[1Gprogress", "progress"),
        ("\x1b]0;window title\x07after", "after"),
        ("\x1b]8;;https://example.org\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1b(Bcharset", "charset"),
        ("10%\r50%\r100%", "100%"),
        ("line with crlf\r\n", "line with crlf"),
        ("trailing cr\r", "trailing cr"),
        ("\x1b[32m 10%\x1b[0m\r\x1b[32m 20%\x1b[0m", " 20%"),
        ("tab\tkept", "tab\tkept"),
        ("bell\x07 and nul\x00 gone", "bell and nul gone"),
        ("", ""),
    ],
)
def test_clean_line(raw, shown):
    assert clean_line(raw) == shown


def test_strip_ansi_keeps_carriage_returns():
    assert strip_ansi("\x1b[1ma\x1b[0m\rb") == "a\rb"


def test_clean_line_is_fast_for_plain_lines(monkeypatch):
    """What keeps plain lines cheap, checked without a stopwatch: a line with no escape, no CR and
    no control character never reaches the escape-stripping regex nor a substitution; it costs one
    scan for control characters and comes back as it was."""
    from k8s_tui.engine import text

    class Spy:
        def __init__(self, real):
            self.real, self.calls = real, []

        def sub(self, *a):
            self.calls.append("sub")
            return self.real.sub(*a)

        def search(self, *a):
            self.calls.append("search")
            return self.real.search(*a)

    ansi, ctrl = Spy(text._ANSI_RE), Spy(text._CTRL_RE)
    monkeypatch.setattr(text, "_ANSI_RE", ansi)
    monkeypatch.setattr(text, "_CTRL_RE", ctrl)
    lines = [f"Get:{i} http://deb.debian.org/debian bookworm/main amd64 Packages [8,786 kB]" for i in range(100_000)]
    assert [clean_line(ln) for ln in lines] == lines
    assert ansi.calls == [] and ctrl.calls == ["search"] * len(lines)
    # the slow path is still there for lines that need it
    assert clean_line("\x1b[1mbold\x1b[0m\x07") == "bold"
    assert ansi.calls == ["sub"] and ctrl.calls[-2:] == ["search", "sub"]
