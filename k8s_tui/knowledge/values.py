"""Parse, check and format sysctl values against the knowledge base.

Every value that may one day reach a remote shell passes through ``parse_value`` first: it only
ever returns ints, tuples of ints, or a port list made of digits, commas and dashes, so a value
like ``1; reboot`` or ``$(id)`` is rejected by its type before anything else sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .schema import Entry, ValueType

SysctlValue = int | tuple[int, ...] | str

_INT_RE = re.compile(r"^-?\d+$")
_PORTS_RE = re.compile(r"^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$")


class ValueError_(ValueError):
    """A value that breaks a rule; the message names the rule."""


@dataclass(frozen=True, order=True)
class KernelVersion:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> KernelVersion:
        """Accept "6.1", "6.1.0" and `uname -r` output such as "6.1.0-18-amd64"."""
        m = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", str(text))
        if not m:
            raise ValueError(f"not a kernel version: {text!r} (expected something like 6.1 or 6.1.0-18-amd64)")
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}" + (f".{self.patch}" if self.patch else "")


def _as_int(raw: object, key: str) -> int:
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and _INT_RE.match(raw.strip()):
        return int(raw.strip())
    raise ValueError_(f"{key}: {raw!r} is not a whole number")


def parse_value(entry: Entry, raw: object) -> SysctlValue:
    """Turn what a user or a YAML file gave into a value of the entry's type, or raise.

    Range and kernel rules are checked by ``check_value``; this only checks the shape.
    """
    key = entry.key
    t = entry.type
    if t is ValueType.ports:
        text = str(raw).strip().replace(" ", "") if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
        if text == "":
            return ""  # nothing reserved
        if text is None or not _PORTS_RE.match(text):
            raise ValueError_(f"{key}: {raw!r} is not a port list (like 30000-32767 or 8080,9000-9100)")
        return text
    if t.arity == 1:
        return _as_int(raw, key)
    if isinstance(raw, (list, tuple)):
        parts = list(raw)
    elif isinstance(raw, str):
        parts = raw.split()
    else:
        parts = [raw]
    if len(parts) != t.arity:
        raise ValueError_(f"{key}: needs {t.arity} whole numbers separated by spaces, got {raw!r}")
    return tuple(_as_int(p, key) for p in parts)


def check_value(entry: Entry, value: SysctlValue, kernel: KernelVersion | None = None) -> list[str]:
    """The rules this value breaks, each as a sentence naming the rule; empty when it is fine."""
    problems: list[str] = []
    key = entry.key
    if kernel is not None:
        if entry.added_in and kernel < KernelVersion.parse(entry.added_in):
            problems.append(f"{key} does not exist before kernel {entry.added_in} (host has {kernel})")
        if entry.removed_in and kernel >= KernelVersion.parse(entry.removed_in):
            problems.append(f"{key} was removed in kernel {entry.removed_in} (host has {kernel})")
    if entry.type is ValueType.ports:
        for part in filter(None, str(value).split(",")):
            lo, _, hi = part.partition("-")
            a, b = int(lo), int(hi or lo)
            if not (1 <= a <= 65535 and 1 <= b <= 65535) or a > b:
                problems.append(f"{key}: {part} is not a port or an ascending range within 1-65535")
        return problems
    numbers = list(value) if isinstance(value, tuple) else [value]
    lo, hi = entry.min, entry.max
    for n in numbers:
        if lo is not None and n < lo or hi is not None and n > hi:
            problems.append(f"{key}: {n} is outside the allowed range {lo}..{hi}")
    if entry.type is ValueType.enum and entry.allowed:
        allowed = {a.value: a for a in entry.allowed}
        if value not in allowed:
            problems.append(f"{key}: {value} is not one of {', '.join(str(v) for v in allowed)}")
        elif kernel is not None and allowed[value].since_kernel and kernel < KernelVersion.parse(allowed[value].since_kernel):
            problems.append(f"{key}: value {value} needs kernel {allowed[value].since_kernel} or newer (host has {kernel})")
    if entry.type in (ValueType.pair, ValueType.triple) and list(numbers) != sorted(numbers):
        problems.append(f"{key}: the numbers must not decrease ({format_value(value)})")
    return problems


def format_value(value: SysctlValue) -> str:
    """The text form sysctl.d files and /proc/sys use."""
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def parse_proc_value(entry: Entry, text: str) -> SysctlValue:
    """Parse what `sysctl -n` or /proc/sys printed (tabs between numbers, trailing newline)."""
    return parse_value(entry, " ".join(text.split()))
