"""An explicit, opt-in plan of faults for the dry-run executor: which host fails, is slow or never
answers. The demo and the tests name their hosts here; nothing is ever read from a host's name.

A fault file (``k8s-tui apply plan.yaml --dry-run --faults faults.yaml``) maps host names to one
fault each::

    worker-2: fail                 # every command and write of a changing step fails (read-only /)
    worker-4: {fail: sysctl}       # only in the sysctl step
    worker-3: {slow: 10}           # every simulated delay ten times longer
    db-1: unreachable              # every call fails as a host that never answers
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..yamlio import InputError, load_yaml

KINDS = ("fail", "slow", "unreachable")


class Fault(BaseModel):
    """What goes wrong on one host."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fail: bool = False
    fail_step: str | None = None  # None: every step that changes the host
    slow: float = Field(default=1.0, ge=1.0, le=1000.0)  # factor on every simulated delay
    unreachable: bool = False


class FaultPlan:
    """host name -> Fault. Empty by default: a dry run then invents no outcome."""

    def __init__(self, faults: dict[str, Fault] | None = None) -> None:
        self.faults: dict[str, Fault] = dict(faults or {})

    def __bool__(self) -> bool:
        return bool(self.faults)

    def __repr__(self) -> str:
        return f"FaultPlan({self.faults!r})"

    def get(self, host: str) -> Fault | None:
        return self.faults.get(host)

    def unreachable(self, host: str) -> bool:
        f = self.faults.get(host)
        return f is not None and f.unreachable

    def slow_factor(self, host: str) -> float:
        f = self.faults.get(host)
        return f.slow if f is not None else 1.0

    def fails(self, host: str, step_id: str | None, phase: str | None) -> bool:
        """True when a call in this step and phase fails on the host (only "apply": reading
        facts and checking still work, as on a host whose root file system went read-only)."""
        f = self.faults.get(host)
        if f is None or not f.fail or phase != "apply":
            return False
        return f.fail_step is None or f.fail_step == step_id

    @classmethod
    def from_doc(cls, doc: Any, source: str = "<faults>") -> FaultPlan:
        if doc is None:
            return cls()
        if not isinstance(doc, dict):
            raise InputError(f"{source}: expected a mapping of host name -> fault ({', '.join(KINDS)})")
        out: dict[str, Fault] = {}
        for host, spec in doc.items():
            out[str(host)] = _fault(str(host), spec, source)
        return cls(out)

    @classmethod
    def load(cls, path: str | Path) -> FaultPlan:
        return cls.from_doc(load_yaml(path), str(path))


def _fault(host: str, spec: Any, source: str) -> Fault:
    where = f"{source}: {host}"
    if isinstance(spec, str):
        if spec not in KINDS:
            raise InputError(f"{where}: unknown fault {spec!r}; one of {', '.join(KINDS)}")
        spec = {spec: True}
    if not isinstance(spec, dict) or len(spec) != 1:
        raise InputError(f"{where}: a fault is one of {', '.join(KINDS)}, or {{fail: STEP}} / {{slow: FACTOR}}")
    ((kind, arg),) = spec.items()
    try:
        if kind == "fail":
            if arg is True or arg is None:  # `fail:` with nothing after it: every step
                return Fault(fail=True)
            if not isinstance(arg, str) or not arg:
                raise InputError(f"{where}: fail takes a step id (e.g. sysctl), or nothing for every step")
            return Fault(fail=True, fail_step=arg)
        if kind == "slow":
            return Fault(slow=10.0 if arg is True else arg)
        if kind == "unreachable":
            if arg is not True and arg is not None:
                raise InputError(f"{where}: unreachable takes no argument")
            return Fault(unreachable=True)
    except ValidationError as e:
        err = e.errors()[0]
        raise InputError(f"{where}: {kind}: {err['msg']}") from None
    raise InputError(f"{where}: unknown fault {kind!r}; one of {', '.join(KINDS)}")
