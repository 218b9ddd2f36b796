"""``--quick``: scale an experiment's own durations down when the kernel's rule is linear in them.

Keepalive and FIN_WAIT_2 timers are the values themselves (seconds), so a run with every duration
divided by the same factor shows the same rule, only sooner; the experiment then predicts and
measures the values it ran and says so. The SYN and SYN-ACK timers start at the kernel's fixed
initial RTO of 1 s (TCP_TIMEOUT_INIT) and cannot be scaled: those run at full length or not at all.
"""

from __future__ import annotations

import math

QUICK_TARGET_S = 10.0  # what a scaled run aims at


def factor(total_s: float, target_s: float = QUICK_TARGET_S) -> int:
    """The whole number every duration is divided by (1: short enough already)."""
    return max(1, math.ceil(total_s / target_s))


def scaled(seconds: int, by: int) -> int:
    """A duration divided by ``by``, at least 1 s (the sysctls take whole seconds from 1)."""
    return max(1, round(seconds / by))


def note(ran: dict[str, int], given: dict[str, int], by: int, full_s: float) -> str:
    """The one line a scaled run adds to its outcome."""
    pairs = ", ".join(f"{k.rsplit('.', 1)[-1]}={ran[k]} instead of {given[k]}" for k in ran if ran[k] != given[k])
    return f"--quick: ran {pairs} (durations / {by}); measured and predicted are for the values run; at full length it takes {full_s:g} s"
