"""Small text diagrams of a TCP connection's life, with markers where a sysctl acts.

Pure text, no UI: the tuning screen shows them beside its table and highlights the lines a key's
marker names; a headless ``explain`` prints them with a ``>`` in the margin. Every line fits in
``WIDTH`` terminal columns (a CJK character takes two), so a diagram fits beside a table at 120
columns. Labels are translated for ``lang="zh"``; arrows, state names (SYN_RECV, TIME_WAIT ...),
packet names and function names stay as they are.

Layout of a row: a left label (11 columns), the client's bar, a 21-column gap for arrows and
notes, the server's bar, then a right label (up to 11 columns).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

WIDTH = 46

_LEFT = 11  # left label column: "ESTABLISHED" fits exactly
_GAP = 21  # between the two bars
_BAR = "|"


def cell_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int, align: str = "l") -> str:
    room = width - cell_width(text)
    if room < 0:
        raise ValueError(f"{text!r} is wider than {width} columns")
    if align == "r":
        return " " * room + text
    if align == "c":
        left = room // 2
        return " " * left + text + " " * (room - left)
    return text + " " * room


class _Arrow(str):
    """A packet crossing the gap, drawn edge to edge."""


def _arrow(label: str, direction: str) -> _Arrow:
    """A 21-column arrow: ``-------- SYN -------->`` (">"), its mirror ("<"), or both ("<>")."""
    text = f" {label} "
    dashes = _GAP - 2 - cell_width(text)
    left = dashes // 2
    head = "<" if "<" in direction else "-"
    tail = ">" if ">" in direction else "-"
    return _Arrow(head + "-" * left + text + "-" * (dashes - left) + tail)


@dataclass(frozen=True)
class Row:
    """One line of a diagram in both languages, and the markers whose lines it belongs to."""

    en: str
    zh: str
    marks: frozenset[str] = frozenset()


def _line(left: str = "", mid: str = "", right: str = "", align: str = "l") -> str:
    """Left label, bar, gap (an arrow, or a note on the client's side "l" or the server's "r"), bar, right label."""
    if isinstance(mid, _Arrow):
        gap = str(mid)
    elif mid:
        gap = _pad(" " + mid, _GAP) if align == "l" else _pad(mid + " ", _GAP, "r")
    else:
        gap = " " * _GAP
    text = _pad(left, _LEFT) + _BAR + gap + _BAR + (" " + right if right else "")
    return text.rstrip()


def _header(left: str, right: str) -> str:
    return (" " + _pad(left, _LEFT + _GAP) + right).rstrip()


def _row(left: str = "", en: str = "", zh: str | None = None, right: str = "", align: str = "l", marks: tuple[str, ...] = ()) -> Row:
    """A row whose middle is ``en`` / ``zh``; the labels at the sides (state and function names) stay English."""
    return Row(_line(left, en, right, align), _line(left, en if zh is None else zh, right, align), frozenset(marks))


def _plain(en: str, zh: str, marks: tuple[str, ...] = ()) -> Row:
    return Row(en, zh, frozenset(marks))


@dataclass(frozen=True)
class Diagram:
    name: str
    title_en: str
    title_zh: str
    marks: tuple[str, ...]  # marker ids, in the order they first act
    rows: tuple[Row, ...]

    def title(self, lang: str = "en") -> str:
        return self.title_zh if lang == "zh" else self.title_en


_HANDSHAKE = Diagram(
    name="handshake",
    title_en="Opening a connection (three-way handshake)",
    title_zh="建立连接（三次握手）",
    marks=("local-port", "syn-retries", "syn-queue", "synack-retries", "accept-queue"),
    rows=(
        _plain(_header("client", "server"), _header("客户端", "服务端")),
        _row(right="listen()"),
        _row(right="LISTEN"),
        _row("connect()"),
        _row(en="takes a free local", zh="从本地端口范围里", marks=("local-port",)),
        _row(en="port from the range", zh="取一个空闲端口", marks=("local-port",)),
        _row("SYN_SENT", _arrow("SYN", ">")),
        _row(en="no SYN-ACK: resend", zh="收不到 SYN-ACK 就", marks=("syn-retries",)),
        _row(en="SYN, waits growing", zh="重发 SYN，间隔递增", marks=("syn-retries",)),
        _row(en="request waits in", zh="请求进入 SYN 队列", right="SYN_RECV", align="r", marks=("syn-queue",)),
        _row(en="the SYN queue", zh="（半连接队列）", align="r", marks=("syn-queue",)),
        _row(en=_arrow("SYN-ACK", "<")),
        _row(en="no ACK: resend", zh="收不到 ACK 就重发", align="r", marks=("synack-retries",)),
        _row(en="the SYN-ACK", zh="SYN-ACK", align="r", marks=("synack-retries",)),
        _row("ESTABLISHED", _arrow("ACK", ">")),
        _row(en="moved to the", zh="移入 accept 队列", right="ESTABLISHED", align="r", marks=("accept-queue",)),
        _row(en="accept queue", zh="（全连接队列）", align="r", marks=("accept-queue",)),
        _row(en="app takes it", zh="应用取走连接", right="accept()", align="r", marks=("accept-queue",)),
    ),
)

_CLOSE = Diagram(
    name="close",
    title_en="Closing a connection (FIN, ACK, FIN, ACK)",
    title_zh="关闭连接（四次挥手）",
    marks=("orphans", "fin-wait-2", "time-wait"),
    rows=(
        _plain(_header("closes first", "peer"), _header("主动关闭方", "被动关闭方")),
        _row("ESTABLISHED", right="ESTABLISHED"),
        _row("close()"),
        _row("FIN_WAIT_1", _arrow("FIN", ">"), right="CLOSE_WAIT", marks=("orphans",)),
        _row(en="no app owns it now:", zh="应用已不再持有：", marks=("orphans",)),
        _row(en="an orphan socket", zh="成为孤儿套接字", marks=("orphans",)),
        _row(en=_arrow("ACK", "<")),
        _row("FIN_WAIT_2", "waits for peer's FIN", "等待对端的 FIN", marks=("fin-wait-2", "orphans")),
        _row(en="orphan: at most", zh="孤儿连接最多等", marks=("fin-wait-2",)),
        _row(en="tcp_fin_timeout", zh="tcp_fin_timeout", marks=("fin-wait-2",)),
        _row(en="until app close()", zh="等应用调用 close()", align="r"),
        _row(right="close()"),
        _row(en=_arrow("FIN", "<"), right="LAST_ACK"),
        _row("TIME_WAIT", _arrow("ACK", ">"), right="CLOSED", marks=("time-wait",)),
        _row(en="2MSL = 60 s, fixed", zh="2MSL = 60 秒，固定", marks=("time-wait",)),
        _row(en="holds the 4-tuple", zh="四元组仍被占用", marks=("time-wait",)),
        _row("CLOSED"),
    ),
)

_KEEPALIVE = Diagram(
    name="keepalive",
    title_en="Keepalive on an idle connection",
    title_zh="空闲连接上的保活探测",
    marks=("keepalive-time", "keepalive-intvl", "keepalive-probes"),
    rows=(
        _plain(_header("host A", "host B"), _header("主机 A", "主机 B")),
        _row("ESTABLISHED", _arrow("data", "<>"), right="ESTABLISHED"),
        _row(en="app set SO_KEEPALIVE", zh="需开启 SO_KEEPALIVE"),
        _row(en="no traffic: idle", zh="没有流量，开始计时", marks=("keepalive-time",)),
        _row(en="(2 h by default)", zh="（默认 2 小时）", marks=("keepalive-time",)),
        _row(en=_arrow("probe 1", ">"), marks=("keepalive-probes",)),
        _row(en="no ACK: wait", zh="没有 ACK，等待间隔", marks=("keepalive-intvl",)),
        _row(en="(75 s by default)", zh="（默认 75 秒）", marks=("keepalive-intvl",)),
        _row(en=_arrow("probe 2", ">"), marks=("keepalive-probes",)),
        _row(en="no ACK: wait again", zh="仍没有 ACK，再等待", marks=("keepalive-intvl",)),
        _row(en="..."),
        _row(en=_arrow("probe 9", ">"), marks=("keepalive-probes",)),
        _row(en="all unanswered:", zh="全部无应答：", marks=("keepalive-probes",)),
        _row("CLOSED", "give up, ETIMEDOUT", "放弃，报 ETIMEDOUT", marks=("keepalive-probes",)),
        _plain("", ""),
        _plain(" An ACK to any probe restarts the idle", " 任何一个探测得到 ACK，空闲计时就"),
        _plain(" timer; the connection stays up.", " 重新开始，连接保持不变。"),
    ),
)

DIAGRAMS: dict[str, Diagram] = {d.name: d for d in (_HANDSHAKE, _CLOSE, _KEEPALIVE)}


def _get(name: str) -> Diagram:
    try:
        return DIAGRAMS[name]
    except KeyError:
        raise KeyError(f"unknown diagram {name!r}; known: {', '.join(DIAGRAMS)}") from None


def marks(name: str) -> list[str]:
    """The marker ids of a diagram, in the order they act."""
    return list(_get(name).marks)


def render(name: str, mark: str | None = None, lang: str = "en") -> list[tuple[str, bool]]:
    """The diagram's lines, each with True where ``mark`` acts (always False when ``mark`` is None)."""
    diagram = _get(name)
    if mark is not None and mark not in diagram.marks:
        raise ValueError(f"diagram {name!r} has no marker {mark!r}; its markers: {', '.join(diagram.marks)}")
    zh = lang == "zh"
    return [(row.zh if zh else row.en, mark is not None and mark in row.marks) for row in diagram.rows]
