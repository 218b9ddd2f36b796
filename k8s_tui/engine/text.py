"""Clean one line of command output for display.

Output arrives raw (the executors keep ``\\r`` and ANSI escapes); the on-disk host log keeps it raw,
screens and the headless printer show it cleaned: escapes removed, and a carriage return handled
the way a terminal shows it, by keeping only what was written after the last one (progress bars
redraw themselves with ``\\r``).
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-byte escapes (ESC x), and the 8-bit CSI
_ANSI_RE = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]          # CSI: colours, cursor moves, erase line
  | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\) # OSC: window titles, hyperlinks (ended by BEL or ST)
  | \x1b[PX^_][^\x1b]*\x1b\\          # DCS, SOS, PM, APC strings
  | \x1b[@-Z\\-_]                     # other 7-bit C1 escapes (ESC M, ESC 7, ...)
  | \x1b[ -/][ -~]                    # ESC ( B and friends (charset selection)
  | \x9b[0-?]*[ -/]*[@-~]             # 8-bit CSI
    """,
    re.VERBOSE,
)
# control characters other than tab (a stray ESC left by a cut sequence, BEL, backspace, NUL ...)
_CTRL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_ansi(text: str) -> str:
    return _ANSI_RE.sub("", text)


def clean_line(text: str) -> str:
    """The text a terminal would show for this raw line: no escapes, no trailing newline, and only
    the part after the last carriage return (a CR-LF ending or trailing CRs count as no CR)."""
    if "\x1b" in text or "\x9b" in text:
        text = _ANSI_RE.sub("", text)
    text = text.rstrip("\r\n")
    if "\r" in text:
        text = text.rsplit("\r", 1)[1]
    if _CTRL_RE.search(text):
        text = _CTRL_RE.sub("", text)
    return text


# user:password@ in a URL (a proxy with credentials) is shown with the password starred: the
# command lines a step echoes are kept in journals and logs
_URL_PASSWORD_RE = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'\"]+:)[^/\s@'\"]+@")


def redact_url_passwords(text: str) -> str:
    """``http://user:secret@proxy:3128`` -> ``http://user:***@proxy:3128``, anywhere in ``text``."""
    return _URL_PASSWORD_RE.sub(lambda m: m.group("head") + "***@", text)
