"""The wizard's sessions on disk, so quitting mid-wizard (or a kill) loses nothing.

``<state>/wizard/`` holds the plan being edited (plan.yaml, so no secret is ever in it) and
session.json (its step, when it was saved, the tool questions' answers). It is saved as a draft:
a plan that could not run yet (say, only workers) is kept exactly as typed, and checked host by
host when it is read back. Each wizard session has an id; when a different session is saved over
it, the old one moves to ``wizard/history/`` first, and the last ``KEEP`` are kept there, so
``k8s-tui --new`` never silently loses a plan (``k8s-tui --restore`` lists and brings them back).
The demo is never saved. No Textual here.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..backends.catalog import Answers
from ..engine.state import state_dir
from ..model.hosts import Host
from ..model.plan import ClusterPlan, plan_from_doc, save_plan
from ..yamlio import InputError, load_yaml, plain
from .state import WizardState, pydantic_messages

KEEP = 5  # saved plans kept in history besides the current one


@dataclass
class Session:
    plan: ClusterPlan  # hosts checked one by one; the plan as a whole may not be runnable yet
    step: str
    saved: float
    id: str = ""
    answers: Answers | None = None
    tool_chosen: bool | None = None
    path: Path | None = None  # the folder it was read from

    def describe(self) -> str:
        """One line: the plan's name, hosts, step and when it was saved."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved))
        n = len(self.plan.hosts)
        return f"'{self.plan.name}' ({n} host{'s' if n != 1 else ''}, at step '{self.step}', saved {when})"

    def to_state(self) -> WizardState:
        state = WizardState(self.plan)
        state.session_id = self.id or state.session_id
        if self.answers is not None:
            state.answers = self.answers
        if self.tool_chosen is not None:
            state.tool_chosen = self.tool_chosen
        return state


def wizard_dir() -> Path:
    return state_dir() / "wizard"


def history_dir() -> Path:
    return wizard_dir() / "history"


def _meta(state: WizardState, step: str) -> dict[str, Any]:
    a = state.answers
    return {"id": state.session_id, "step": step, "saved": round(time.time(), 1), "name": state.base.name,
            "hosts": len(state.hosts), "problem": state.run_problem(),
            "answers": {"platform": a.platform, "ansible": a.ansible, "ha": a.ha}, "tool_chosen": state.tool_chosen}


def _read_meta(folder: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _to_history(folder: Path, meta: dict[str, Any]) -> Path | None:
    """Move a saved session into the history (newest first by name), keeping the last KEEP."""
    if not (folder / "plan.yaml").exists():
        return None
    now = time.time()  # named by when it was replaced, to the microsecond: names sort by age
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f".{int(now % 1 * 1e6):06d}"
    hist = history_dir()
    hist.mkdir(parents=True, exist_ok=True)
    dest = hist / f"{stamp}-{str(meta.get('id') or 'old')[:24]}"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir()
    for name in ("plan.yaml", "session.json"):
        if (folder / name).exists():
            shutil.copy2(folder / name, dest / name)
    for old in sorted((p for p in hist.iterdir() if p.is_dir()), reverse=True)[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
    return dest


def save_session(state: WizardState, step: str | None) -> Path | None:
    """Save the plan being edited, valid or not, and the step it is at. A different session saved
    before moves to the history first; returns where it went then, else None. Raises OSError."""
    if state.demo or not step:
        return None
    d = wizard_dir()
    d.mkdir(parents=True, exist_ok=True)
    moved = None
    old = _read_meta(d)
    if old is not None and old.get("id") != state.session_id:
        moved = _to_history(d, old)
    save_plan(state.draft_plan(), d / "plan.yaml")
    tmp = d / ".session.json.tmp"
    tmp.write_text(json.dumps(_meta(state, step)), encoding="utf-8")
    tmp.replace(d / "session.json")
    return moved


def load_draft(path: Path) -> ClusterPlan:
    """A saved plan.yaml, which may be a draft: every field checked, each host checked on its own,
    but no rule across hosts (a control plane, unique addresses) is required yet."""
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a mapping at the top level of a plan")
    data = plain(doc)
    raw_hosts = data.pop("hosts", None) or []
    if not isinstance(raw_hosts, list):
        raise InputError(f"{path}: hosts: expected a list")
    plan = plan_from_doc(data, str(path))
    hosts: list[Host] = []
    for i, h in enumerate(raw_hosts):
        try:
            hosts.append(Host.model_validate(h))
        except ValidationError as e:
            raise InputError(f"{path}: hosts.{i}: " + "; ".join(pydantic_messages(e).values())) from None
    return plan.model_copy(update={"hosts": hosts})


def _load(folder: Path) -> Session | None:
    meta = _read_meta(folder)
    if meta is None:
        return None
    try:
        plan = load_draft(folder / "plan.yaml")
    except (OSError, InputError):
        return None
    answers = None
    raw = meta.get("answers")
    if isinstance(raw, dict):
        try:
            answers = Answers(platform=str(raw.get("platform") or "bare-metal"), ansible=bool(raw.get("ansible")),
                              ha=bool(raw.get("ha")))
        except TypeError:
            answers = None
    chosen = meta.get("tool_chosen")
    return Session(plan, str(meta.get("step") or "tool"), float(meta.get("saved") or 0), id=str(meta.get("id") or ""),
                   answers=answers, tool_chosen=chosen if isinstance(chosen, bool) else None, path=folder)


def load_session() -> Session | None:
    """The session saved last (None when there is none or it cannot be read)."""
    return _load(wizard_dir())


def saved_sessions() -> list[Session]:
    """The current saved session, then the history, newest first."""
    out = []
    current = load_session()
    if current is not None:
        out.append(current)
    try:
        folders = sorted((p for p in history_dir().iterdir() if p.is_dir()), reverse=True)
    except OSError:
        folders = []
    for f in folders:
        s = _load(f)
        if s is not None:
            out.append(s)
    return out


def restore_session(number: int) -> Session:
    """Make saved plan ``number`` (1 = the current one, as ``saved_sessions`` lists them) the
    current session again; the current one goes to the history first. Raises InputError."""
    sessions = saved_sessions()
    if not 1 <= number <= len(sessions):
        raise InputError(f"--restore: there is no saved plan {number} (k8s-tui --restore lists {len(sessions)})")
    chosen = sessions[number - 1]
    if number == 1:
        return chosen
    assert chosen.path is not None
    # read first: moving the current one to the history may prune the oldest, which may be this
    files = {name: (chosen.path / name).read_bytes() for name in ("plan.yaml", "session.json")}
    shutil.rmtree(chosen.path, ignore_errors=True)  # it becomes the current one, not history
    d = wizard_dir()
    old = _read_meta(d)
    if old is not None:
        _to_history(d, old)
    d.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (d / name).write_bytes(data)
    return _load(d) or chosen


def clear_session() -> None:
    for name in ("session.json", "plan.yaml"):
        (wizard_dir() / name).unlink(missing_ok=True)
