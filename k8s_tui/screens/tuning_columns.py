"""The tuning table's columns: their titles, how wide each gets, and how a cell is cut to fit.
Pure functions (no Textual), so the widths are tested without a screen."""

from __future__ import annotations

from ..session.state import TableRow

COLS = [("key", "Key"), ("now", "Now"), ("default", "Default"), ("preset", "Preset"), ("yours", "Yours")]
KEY_MIN, KEY_MAX = 20, 52  # the longest key (…nf_conntrack_tcp_timeout_established) fits whole
VAL_MIN, VAL_FLOOR, VAL_MAX = 6, 7, 14  # "mixed"; "at boot" and "Default"; a port range


def fit(text: str, width: int) -> str:
    """Cut to width with an ASCII marker, so nothing hides that it was cut."""
    return text if len(text) <= width else text[: max(1, width - 1)] + "~"


def fit_key(text: str, width: int) -> str:
    """Cut a key at its dots, keeping its end whole: the leaf is the name people look for and
    tells sibling keys apart. First the parts after the family go (net.ipv4.~.gc_thresh1, which
    keeps ipv4 apart from ipv6), then the family too (~.bridge-nf-call-ip6tables); a leaf longer
    than the width is cut in its middle instead."""
    if len(text) <= width:
        return text
    parts = text.split(".")
    tails = [(parts[:2] + ["~"] + parts[i:]) for i in range(3, len(parts))]  # after the family
    tails += [(["~"] + parts[i:]) for i in range(1, len(parts))]
    for cand in (".".join(t) for t in tails):  # each list runs from the longest tail
        if len(cand) <= width:
            return cand
    head = max(4, width // 3)
    tail = width - head - 1
    return text[:head] + "~" + text[-tail:]


def fit_widths(rows: list[TableRow], budget: int) -> tuple[int, ...]:
    """Column widths that fit the budget. The key is what a reader scans for, so the values give
    up their spare room first (down to 7: "at boot", "Default"), then the key (down to 20), then the values
    (down to 6)."""
    need = [len(label) for _, label in COLS]
    for r in rows:
        if r.key is None:
            continue
        assert r.now is not None
        texts = (r.key + "  ", r.now.text, r.default, r.preset, ("* " + r.yours) if r.changed else "")
        need = [max(n, len(t)) for n, t in zip(need, texts)]
    widths = [max(KEY_MIN, min(KEY_MAX, need[0]))] + [max(VAL_MIN, min(VAL_MAX, n)) for n in need[1:]]

    def shrink_values(floor: int) -> None:
        while sum(widths) > budget:
            i = max((1, 2, 3, 4), key=lambda j: widths[j])  # the widest value column gives first
            if widths[i] <= floor:
                return
            widths[i] -= 1

    shrink_values(VAL_FLOOR)
    while sum(widths) > budget and widths[0] > KEY_MIN:
        widths[0] -= 1
    shrink_values(VAL_MIN)
    return tuple(widths)
