"""Wrap knowledge text for a terminal, Chinese included.

Rich and Textual break lines only at spaces, so a Chinese sentence (which has none) is one long
"word": the line before it ends early and the sentence is pushed whole onto the next line. Here a
line may break at a space or between any two characters where one is CJK (a wide character), and
never before closing punctuation (，。）…) or after opening punctuation (（《“…), the way Chinese
text is set. Widths are terminal cells: a CJK character takes two.

No UI here: the CLI and the explanation panel both wrap with this, to the width they have.
"""

from __future__ import annotations

import unicodedata

# no line starts with these (Chinese and ASCII closing punctuation)
NO_BREAK_BEFORE = set("，。、；：！？）》」』】〕”’…·,.;:!?)]}%")
# no line ends with these (opening punctuation)
NO_BREAK_AFTER = set("（《「『【〔“‘([{")


def cell_width(ch: str) -> int:
    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    return sum(cell_width(c) for c in text)


def is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _may_break(a: str, b: str) -> bool:
    if b in NO_BREAK_BEFORE or a in NO_BREAK_AFTER:
        return False
    return is_wide(a) or is_wide(b)


def _atoms(text: str) -> list[tuple[int, str]]:
    """(how many spaces came before it, the run of characters that must stay together). The
    spaces are kept as typed inside a line (a caller may map lines back onto styled text)."""
    atoms: list[tuple[int, str]] = []
    cur = ""
    space_before = 0
    pending_space = 0
    for ch in text:
        if ch == " ":
            if cur:
                atoms.append((space_before, cur))
                cur = ""
            pending_space += 1
            continue
        if cur and not pending_space and _may_break(cur[-1], ch):
            atoms.append((space_before, cur))
            cur = ""
            space_before = 0
        if not cur:
            space_before = pending_space
            pending_space = 0
        cur += ch
    if cur:
        atoms.append((space_before, cur))
    return atoms


def _split_long(atom: str, room: int) -> list[str]:
    """An atom wider than a whole line (a long path or URL): cut it by cells."""
    parts, cur, w = [], "", 0
    for ch in atom:
        cw = cell_width(ch)
        if cur and w + cw > room:
            parts.append(cur)
            cur, w = "", 0
        cur += ch
        w += cw
    if cur:
        parts.append(cur)
    return parts


def wrap(text: str, width: int, *, hang: int = 0) -> list[str]:
    """Lines of at most ``width`` cells. The text's own leading spaces indent every line; ``hang``
    more spaces indent the lines after the first (a list item that wraps)."""
    if width <= 0 or text_width(text) <= width:
        return [text]
    lead = len(text) - len(text.lstrip(" "))
    first, rest = " " * lead, " " * (lead + hang)
    if width - len(rest) < 8:  # too narrow to indent: do not
        first, rest = "", ""
    lines: list[str] = []
    line, w = first, len(first)
    fresh = True  # nothing but the indent on this line yet
    for space, atom in _atoms(text[lead:]):
        aw = text_width(atom)
        gap = space if not fresh else 0
        if not fresh and w + gap + aw > width:
            lines.append(line)
            line, w, fresh, gap = rest, len(rest), True, 0
        if fresh and w + aw > width:
            *whole, last = _split_long(atom, width - w)
            for piece in whole:
                lines.append(line + piece)
                line, w = rest, len(rest)
            atom, aw = last, text_width(last)
        line += " " * gap + atom
        w += gap + aw
        fresh = False
    lines.append(line)
    return lines
