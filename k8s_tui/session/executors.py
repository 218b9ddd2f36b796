"""The one place executors are made: for ``apply``, ``resume``, ``rollback``, ``run-tool``, the
wizard's probe and the wizard's run alike, from the options the command line was given.

``ExecutorFactory(options, mode=...)`` is built once (by the CLI, or by the app for its demo) and
handed down; nothing below asks whether a run is a dry one. Faults for the demo and the tests come
from an explicit ``FaultPlan``, never from host names. Questions an executor has to ask (an
unknown host key, a sudo password) go to the ``Prompts`` of whoever drives the session.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from ..engine.executor import ExecOptions, Executor, HostKeyInfo
from ..engine.faults import FaultPlan

Mode = Literal["ssh", "dry-run", "demo"]


class Prompts(Protocol):
    """How a front end answers the questions an SSH connection asks."""

    async def host_key(self, info: HostKeyInfo) -> bool:
        """Trust (and remember) a host key that is not in known_hosts?"""
        ...

    async def secret(self, prompt: str) -> str | None:
        """A secret (sudo password, key passphrase); None when the person declines."""
        ...


@dataclass
class ExecutorFactory:
    options: ExecOptions = field(default_factory=ExecOptions)
    mode: Mode = "ssh"
    faults: FaultPlan | None = None
    speed: float = 0.0  # dry run and demo: scale of the simulated pauses (0 = none)
    # tests: a callable ``(plan, host_key_prompt=, secret_prompt=) -> Executor`` used for ssh mode
    custom: Callable[..., Executor] | None = None
    _local_dry: Any = field(default=None, init=False, repr=False)

    @classmethod
    def demo(cls, options: ExecOptions | None = None) -> ExecutorFactory:
        """The demo's factory: its dry run with its stated faults; ``K8S_TUI_DEMO_SPEED`` scales
        its pauses (0 = none, for tests and recordings)."""
        from .demo import DEMO_FAULTS

        try:
            speed = float(os.environ.get("K8S_TUI_DEMO_SPEED", "1"))
        except ValueError:
            speed = 1.0  # a typo in a tuning variable must not stop the demo
        return cls(options or ExecOptions(), mode="demo", faults=DEMO_FAULTS, speed=max(0.0, speed))

    @property
    def dry_run(self) -> bool:
        """True when nothing made here touches a host."""
        return self.mode != "ssh"

    def outcome_note(self) -> str:
        """What a finished run's verdict adds about its effect: nothing for a real run."""
        return " (dry run: nothing was written or run)" if self.dry_run else ""

    def local_base(self, record: Path, state_base: Path | None) -> Path | None:
        """Where a run's steps keep what they leave on this machine (the kubeconfig): the user's
        state dir, or for a run that touches no host its own record, so it writes nothing else."""
        return record if self.dry_run else state_base

    def record_meta(self) -> dict[str, Any]:
        """What the run's meta.json says of how it ran (a dry run is never resumed for real; a demo
        run's dry resume or rollback sees the demo's made-up hosts again, faults included)."""
        if not self.dry_run:
            return {}
        return {"dry_run": True, **({"demo": True} if self.mode == "demo" else {})}

    def locks(self, plan_name: str, run_id: str, *, state_base: Path | None = None, break_lock: bool = False) -> Any:
        """What a run takes before it changes anything (engine/locks.py): the plan's lock on this
        machine and each host's lock; nothing for a run that touches no host."""
        from ..engine.locks import NoLocks, RunLocks

        if self.dry_run:
            return NoLocks()
        return RunLocks(plan_name, run_id, base=state_base, break_lock=break_lock)

    def make(self, plan: Any = None, prompts: Prompts | None = None, *, done: dict[str, Any] | None = None) -> Executor:
        """An executor for the hosts of ``plan``. ``done``: a resume's steps finished before
        (engine.journal.done_steps); a dry run's blank simulated hosts are given what they left."""
        if self.mode in ("demo", "dry-run"):
            if self.mode == "demo":
                from .demo import demo_executor

                ex = demo_executor(self.speed, faults=self.faults)
            else:
                # simulates the kubeadm tools too (packages it installs, files kubeadm writes), so a
                # dry run of the whole kubeadm path gets as far as a real one would
                from ..backends.kubeadm.dryrun import KubeadmDryRunExecutor

                ex = KubeadmDryRunExecutor(speed=self.speed, faults=self.faults)
            if done and plan is not None:
                ex.assume_done(plan, done)
            return ex
        host_key = prompts.host_key if prompts is not None else None
        secret = prompts.secret if prompts is not None else None
        if self.custom is not None:
            return _call_custom(self.custom, plan, host_key, secret)
        from ..engine.ssh import SshExecutor

        return SshExecutor(self.options, host_key_prompt=host_key, secret_prompt=secret)

    def local(self, cwd: str, env: dict[str, str]) -> Executor:
        """An executor for commands on this machine (ansible-playbook, ezctl, kops)."""
        if self.dry_run:
            from ..engine.dryrun import DryRunExecutor

            if self._local_dry is None:  # one for the whole tool run, so its record is complete
                self._local_dry = DryRunExecutor(speed=0, transcripts_dir=None, faults=self.faults)
            return self._local_dry
        from ..engine.local import LocalExecutor

        return LocalExecutor(cwd=cwd, env=env)


def _call_custom(fn: Callable[..., Executor], plan: Any, host_key: Any, secret: Any) -> Executor:
    """Call a test's factory with the prompts it names; an executor it made without prompts
    gets ours."""
    try:
        names = set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = set()
    kw = {k: v for k, v in (("host_key_prompt", host_key), ("secret_prompt", secret)) if k in names}
    ex = fn(plan, **kw)
    for k, v in (("host_key_prompt", host_key), ("secret_prompt", secret)):
        if hasattr(ex, k) and getattr(ex, k) is None:
            setattr(ex, k, v)
    return ex
