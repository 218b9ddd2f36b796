"""The wizard's last session on disk, so quitting mid-wizard and starting again can resume.

A plan being edited is saved (as a plan.yaml, so no secret is ever in it) each time the user moves
to another step and when they quit; the demo is never saved. No Textual here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..engine.state import state_dir
from ..model.plan import ClusterPlan, load_plan, save_plan
from ..yamlio import InputError
from .state import WizardState


@dataclass
class Session:
    plan: ClusterPlan
    step: str
    saved: float


def _dir() -> Path:
    return state_dir() / "wizard"


def save_session(state: WizardState, step: str | None) -> bool:
    """Save the plan being edited and the step it is at; False when there is nothing to save."""
    if state.demo or not step:
        return False
    try:
        plan = state.to_plan()
    except InputError:
        return False  # not a valid plan yet (say, no control plane): keep the last good one
    d = _dir()
    d.mkdir(parents=True, exist_ok=True)
    save_plan(plan, d / "plan.yaml")
    (d / "session.json").write_text(json.dumps({"step": step, "saved": round(time.time(), 1)}))
    return True


def load_session() -> Session | None:
    d = _dir()
    try:
        meta = json.loads((d / "session.json").read_text())
        return Session(load_plan(d / "plan.yaml"), str(meta.get("step") or "tool"), float(meta.get("saved") or 0))
    except (OSError, ValueError, InputError):
        return None


def clear_session() -> None:
    for name in ("session.json", "plan.yaml"):
        (_dir() / name).unlink(missing_ok=True)
