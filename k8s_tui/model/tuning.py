"""A set of sysctl values, each checked against the knowledge base."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from ..knowledge import KernelVersion, SysctlValue, check_value, format_value, load_catalogue, parse_value
from ..knowledge.values import ValueError_


MAX_VALUE_CHARS = 4096  # the kernel takes at most a page per sysctl write
MAX_NUMBER_DIGITS = 100  # the largest sysctl number is 20 digits (u64)
_LONG_NUMBER_RE = re.compile(r"[0-9]{%d,}" % (MAX_NUMBER_DIGITS + 1), re.ASCII)


def _text_problem(val: Any) -> str | None:
    """What is wrong with a value given as text before it is parsed: sysctl values are ASCII
    (Python's int() would read full-width digits such as "３００００" and keep them in the file)."""
    if not isinstance(val, str):
        return None
    if len(val) > MAX_VALUE_CHARS:
        return f"a value of {len(val)} characters; a sysctl value is at most {MAX_VALUE_CHARS}"
    odd = next((c for c in val if not c.isascii()), None)
    if odd is not None:
        return (f"{val[:40]!r} has the character {odd!r} (U+{ord(odd):04X}); sysctl values are written with ASCII "
                "digits and letters only")
    m = _LONG_NUMBER_RE.search(val)
    if m:
        return f"a number of {len(m.group())} digits; a number here has at most {MAX_NUMBER_DIGITS}"
    return None


def parse_tuning(raw: dict) -> tuple[dict[str, SysctlValue], list[tuple[str, str]]]:
    """Parse and check every key -> value; return the good values and (key, problem) pairs.

    Problems do not repeat the key, so a caller can put it in front as the field name."""
    cat = load_catalogue()
    out: dict[str, SysctlValue] = {}
    problems: list[tuple[str, str]] = []
    for key, val in raw.items():
        if not isinstance(key, str) or key not in cat:
            hint = cat.suggest(str(key))
            more = f"; did you mean {', '.join(hint)}?" if hint else ""
            problems.append((str(key), f"unknown sysctl key {key!r}{more}"))
            continue
        entry = cat.get(key)
        bad_text = _text_problem(val)
        if bad_text:
            problems.append((key, bad_text))
            continue
        try:
            value = parse_value(entry, val)
        except ValueError_ as e:
            problems.append((key, str(e).removeprefix(f"{key}: ")))
            continue
        except (ValueError, TypeError, OverflowError) as e:  # anything else the parser meets is still the value's fault
            problems.append((key, f"{str(val)[:40]!r} is not a value for this key ({e})"))
            continue
        bad = check_value(entry, value)
        if bad:
            problems.append((key, "; ".join(b.removeprefix(f"{key}: ") for b in bad)))
            continue
        out[key] = value
    return out, problems


class TuningProfile(BaseModel):
    """key -> value, in the order given. Unknown keys and bad values are refused with the rule broken."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, Any] = Field(default_factory=dict)

    @field_validator("values", mode="before")
    @classmethod
    def _check(cls, raw: Any) -> dict[str, SysctlValue]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise ValueError("expected a mapping of sysctl key -> value")
        values, problems = parse_tuning(raw)
        if problems:
            key, msg = problems[0]
            raise ValueError(f"{key}: {msg}")
        return values

    @field_serializer("values")
    def _dump(self, values: dict[str, SysctlValue]) -> dict[str, int | str]:
        return {k: v if isinstance(v, int) else format_value(v) for k, v in values.items()}

    def problems_for_kernel(self, kernel: KernelVersion) -> dict[str, list[str]]:
        cat = load_catalogue()
        out = {}
        for k, v in self.values.items():
            p = check_value(cat.get(k), v, kernel)
            if p:
                out[k] = p
        return out

    def merged(self, other: TuningProfile) -> TuningProfile:
        """This profile with ``other``'s values on top (other wins)."""
        return TuningProfile.model_construct(values={**self.values, **other.values})
