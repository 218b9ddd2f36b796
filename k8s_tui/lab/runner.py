"""Run one lab request: clean leftovers of dead runs, check the time it will take, make the
namespaces, run the experiment under a hard time limit, and remove everything it made whatever
happens (exception, Ctrl+C, the limit). A run that fails mid-way still has its timeline: the
caller passes its own Recorder and builds the outcome with ``failed_outcome``."""

from __future__ import annotations

import os
import shutil
import time
from types import ModuleType
from typing import Any

from ..knowledge.values import KernelVersion
from . import fin_timeout, ip_forward, keepalive, somaxconn, syn_retries, synack_retries, tw_reuse
from .netns import Lab, LabError, clean_leftovers
from .settings import LabInputError, LabRequest
from .timeline import Emit, Outcome, Recorder

EXPERIMENT_MODULES: dict[str, ModuleType] = {m.NAME: m for m in (syn_retries, ip_forward, somaxconn, synack_retries, keepalive, fin_timeout, tw_reuse)}
QUICK_MAX_S = 60.0  # --quick refuses experiments the kernel would take longer than this for
MAX_S = 15 * 60.0  # the longest experiment the lab runs at all
SETUP_ALLOWANCE_S = 20.0  # making namespaces and links, on top of the experiment's own time
TOOLS = ("ip", "nft", "sysctl", "ss")


class LabUnavailable(RuntimeError):
    """The lab cannot run here (no root, a tool missing); the message says what to do instead."""


def check_can_run() -> None:
    if os.geteuid() != 0:
        raise LabUnavailable(
            "the lab makes network namespaces, which needs root: run it as root, e.g. "
            "`sudo k8s-tui lab KEY=VALUE`, or read what the knowledge base predicts with `k8s-tui explain KEY`"
        )
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise LabUnavailable(f"the lab needs {', '.join(missing)}: install them (Debian: apt-get install iproute2 nftables procps)")


def _takes_quick(mod: ModuleType, quick: bool) -> dict[str, bool]:
    return {"quick": quick} if getattr(mod, "TAKES_QUICK", False) else {}


def expected_seconds(request: LabRequest, kernel: KernelVersion | None, quick: bool = False) -> float:
    """How long the kernel will take for this request (what the progress bar counts towards)."""
    mod = EXPERIMENT_MODULES[request.experiment]
    return float(mod.expected_seconds(request.settings, kernel, **_takes_quick(mod, quick)))


def predict_request(request: LabRequest, kernel: KernelVersion | None, quick: bool = False) -> dict[str, Any]:
    """What the knowledge base predicts, without running anything (for a run that is not made or
    that failed before it measured)."""
    mod = EXPERIMENT_MODULES[request.experiment]
    return dict(mod.predict(request.settings, kernel, **_takes_quick(mod, quick)))


def plan_time(request: LabRequest, kernel: KernelVersion | None, quick: bool) -> tuple[float, list[str]]:
    """(the hard time limit in seconds, notes); LabInputError when the run would be too long."""
    mod = EXPERIMENT_MODULES[request.experiment]
    expected = expected_seconds(request, kernel, quick)
    notes = []
    if quick and expected > QUICK_MAX_S:
        raise LabInputError(
            f"{request.experiment}: the kernel would take {expected:g} s with these values and its timers cannot be "
            f"sped up; --quick runs only experiments under {QUICK_MAX_S:g} s: drop --quick to watch it at full length"
        )
    if expected > MAX_S:
        scalable = hasattr(mod, "quick_note")
        raise LabInputError(f"{request.experiment}: the kernel would take {expected:g} s with these values, over the lab's limit of {MAX_S:g} s"
                            + ("; --quick runs it with its durations scaled down" if scalable else ""))
    if quick:
        if hasattr(mod, "quick_note"):
            notes.append(mod.quick_note(request.settings))
        else:
            notes.append(getattr(mod, "QUICK_NOTE", "--quick: the kernel's timers cannot be scaled; this experiment is short enough to run at full length"))
    return expected * 1.25 + SETUP_ALLOWANCE_S, notes


def run_request(request: LabRequest, kernel: KernelVersion | None, emit: Emit | None = None, quick: bool = False,
                rec: Recorder | None = None) -> Outcome:
    """Run it; ``rec`` (made here when not given) holds the timeline also when this raises."""
    check_can_run()
    limit, notes = plan_time(request, kernel, quick)
    rec = rec if rec is not None else Recorder(emit)
    for ns in clean_leftovers():
        rec.add("setup", f"removed {ns}, left over from a lab run that died")
    mod = EXPERIMENT_MODULES[request.experiment]
    deadline = time.monotonic() + limit
    with Lab() as lab:
        try:
            measured, predicted, agrees, tolerance = mod.run(lab, request.settings, kernel, rec, deadline, **_takes_quick(mod, quick))
        finally:
            names = list(lab.namespaces)
            lab.remove()
            if names:
                rec.add("setup", f"removed {', '.join(names)}")
    return Outcome(
        experiment=request.experiment,
        settings=request.text_settings(),
        kernel=str(kernel) if kernel else "unknown",
        measured=measured,
        predicted=predicted,
        agrees=agrees,
        tolerance=tolerance,
        timeline=rec.events,
        notes=notes,
    )


def failed_outcome(request: LabRequest, kernel: KernelVersion | None, rec: Recorder | None, error: str, quick: bool = False) -> Outcome:
    """The outcome of a run that stopped before its end: the timeline so far, the prediction, no
    measurement, ``agrees`` None and ``error`` saying why."""
    try:
        predicted = predict_request(request, kernel, quick)
    except Exception:  # the prediction itself must not hide the error being reported
        predicted = {}
    return Outcome(
        experiment=request.experiment,
        settings=request.text_settings(),
        kernel=str(kernel) if kernel else "unknown",
        measured={},
        predicted=predicted,
        agrees=None,
        tolerance="",
        timeline=list(rec.events) if rec is not None else [],
        error=error,
    )


__all__ = ["EXPERIMENT_MODULES", "LabError", "LabUnavailable", "check_can_run", "expected_seconds", "failed_outcome", "plan_time",
           "predict_request", "run_request"]
