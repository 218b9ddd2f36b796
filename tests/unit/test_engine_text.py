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


def test_clean_line_is_fast_for_plain_lines():
    import time

    lines = [f"Get:{i} http://deb.debian.org/debian bookworm/main amd64 Packages [8,786 kB]" for i in range(100_000)]
    t0 = time.perf_counter()
    for ln in lines:
        clean_line(ln)
    assert time.perf_counter() - t0 < 1.0
