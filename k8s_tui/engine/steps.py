"""A step: one idempotent change on a host, with a read-only check and a verification.

The runner calls, per host: ``check`` (read-only; True means the host is already as wanted, the
step ends "unchanged"), then ``apply``, then ``verify`` (raise ``StepFailed`` on any mismatch). A
step never talks to the executor around the context: ``ctx.run`` streams every line as an event
and turns a non-zero exit into ``StepFailed`` with the command's last error lines.

``CURRENT`` tells whoever is interested (the dry-run executor, for its fault plan and its
recording) which step and phase a command belongs to; it is set by the runner per task.
"""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..model.hosts import Host
from .events import EventBus, OutputLine, StepStatus
from .executor import CommandResult, ExecError, Executor, WriteResult
from .text import redact_url_passwords

if TYPE_CHECKING:
    from ..model.plan import ClusterPlan

BACKUP_ROOT = "/var/lib/k8s-tui/backup"

Phase = Literal["check", "apply", "gather", "verify"]
TargetName = Literal["all", "first-control-plane", "control-planes", "workers"]
# a predicate gets the host and the plan (None when the runner has no plan)
TargetPredicate = Callable[[Host, "ClusterPlan | None"], bool]
Targets = TargetName | TargetPredicate


@dataclass(frozen=True)
class StepPhase:
    step_id: str
    phase: str  # check | apply | gather (apply of a read-only step) | verify


# which step and phase the running task is in (None outside a step)
CURRENT: ContextVar[StepPhase | None] = ContextVar("k8s_tui_step_phase", default=None)


class StepFailed(Exception):
    """The step could not reach its desired state on this host; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint


# ExecError kinds that mean the host itself is gone or unusable, not that one command failed
HOST_LEVEL_KINDS = frozenset({"unreachable", "refused", "auth", "hostkey-unknown", "hostkey-changed", "sudo-password", "lost"})


@dataclass(frozen=True)
class StepResult:
    """How a phase of a step ended, and the one line the grid, the log and the summary show.

    ``check`` returns one (status UNCHANGED) when the host is already as wanted; ``apply``
    returns one with CHANGED (the default), OK (read-only work) or UNCHANGED; ``verify`` may
    return one to replace apply's message. Plain returns still work: ``check`` True/False,
    ``apply`` None (changed) or a status, ``verify`` None."""

    status: StepStatus = StepStatus.CHANGED
    message: str = ""

    @classmethod
    def changed(cls, message: str = "") -> StepResult:
        return cls(StepStatus.CHANGED, message)

    @classmethod
    def unchanged(cls, message: str = "") -> StepResult:
        return cls(StepStatus.UNCHANGED, message)

    @classmethod
    def ok(cls, message: str = "") -> StepResult:
        return cls(StepStatus.OK, message)


def quote_argv(argv: list[str]) -> str:
    """The command as a shell would read it, for display: a URL's password is starred."""
    return redact_url_passwords(shlex.join(argv))


@dataclass
class StepContext:
    """What a step sees of the run, for one host."""

    host: Host
    executor: Executor
    run_id: str
    plan: ClusterPlan | None
    facts: dict[str, Any]  # per host, shared by every step of the run on that host
    step_id: str
    bus: EventBus
    # per host and step attempt, what check found for apply and verify (never the result message:
    # a phase returns that as a StepResult)
    scratch: dict[str, Any] = field(default_factory=dict)
    command_timeout: float | None = None
    # the hosts the user has skipped in this run so far (asked live: a skip can come while a step
    # waits); a run-wide step such as verify leaves them out of what it expects
    skipped_hosts: Callable[[], frozenset[str]] = frozenset

    @property
    def backup_dir(self) -> str:
        """Where this run saves what it replaces on the host: /var/lib/k8s-tui/backup/<run_id>."""
        return f"{BACKUP_ROOT}/{self.run_id}"

    def log(self, text: str) -> None:
        """A line of the step's own narration, shown with the host's output and kept in its log."""
        for line in str(text).splitlines() or [""]:
            self.bus.publish(OutputLine(self.host.name, self.step_id, "info", line))

    def _sink(self, stream: str, line: str) -> None:
        self.bus.publish(OutputLine(self.host.name, self.step_id, stream, line))

    async def run(
        self,
        argv: list[str],
        *,
        sudo: bool = True,
        timeout: float | None = None,
        stdin: bytes | None = None,
        check: bool = True,
        echo: bool = True,
        hint: str = "",
    ) -> CommandResult:
        """Run argv on the host, streaming its lines as events. With check (the default) a non-zero
        exit raises StepFailed naming the command and its last error lines."""
        if echo:
            self.bus.publish(OutputLine(self.host.name, self.step_id, "cmd", "$ " + quote_argv(argv)))
        res = await self.executor.run(
            self.host,
            argv,
            sudo=sudo,
            timeout=timeout if timeout is not None else self.command_timeout,
            on_line=self._sink,
            stdin=stdin,
            check=False,
        )
        if check and not res.ok:
            raise StepFailed(command_failure(res), hint)
        return res

    async def read_file(self, path: str, *, sudo: bool = True) -> bytes | None:
        return await self.executor.read_file(self.host, path, sudo=sudo)

    async def write_file(
        self,
        path: str,
        content: bytes | str,
        *,
        mode: int = 0o644,
        owner: str = "root",
        group: str = "root",
        backup: bool | str = True,
    ) -> WriteResult:
        """Write atomically. The old content is saved first: backup=True saves it in this run's backup
        dir, a string names another directory (under it, preferably), False saves nothing."""
        data = content.encode() if isinstance(content, str) else content
        bdir = backup if isinstance(backup, str) else (self.backup_dir if backup else None)
        res = await self.executor.write_file(self.host, path, data, mode=mode, owner=owner, group=group, backup_dir=bdir)
        if res.changed:
            saved = f" (previous content saved to {res.backup})" if res.backup else ""
            self.log(f"wrote {path}{saved}")
        else:
            self.log(f"{path} already has the wanted content")
        return res

    async def upload_file(self, path: str, source: str, *, mode: int = 0o644, owner: str = "root", group: str = "root",
                          sha256: str | None = None) -> WriteResult:
        """Copy a local file to the host, streamed (large files: bundle tarballs); no backup."""
        res = await self.executor.upload_file(self.host, path, str(source), mode=mode, owner=owner, group=group, sha256=sha256)
        self.log(f"copied {source} to {path}" if res.changed else f"{path} already has the content of {source}")
        return res


def command_failure(res: CommandResult, max_lines: int = 3) -> str:
    tail = [ln for ln in (res.stderr or res.stdout).splitlines() if ln.strip()][-max_lines:]
    detail = (": " + " | ".join(tail)) if tail else ""
    return f"`{quote_argv(res.argv)}` exited with status {res.exit_status}{detail}"


class Step(ABC):
    """Subclasses set ``id``, ``title``, ``why`` (one line: what and why), and may set ``targets``
    and ``serial``. Each phase tells the runner how it ended by what it returns (``StepResult``):
    ``check`` a ``StepResult.unchanged(msg)`` (or True) when nothing is to do; ``apply`` a
    ``StepResult`` (``.ok`` for read-only work such as gathering facts, ``.unchanged`` when it found
    nothing to do, ``.changed``), or None for "changed" with no message."""

    id: str = ""
    title: str = ""
    why: str = ""
    targets: Targets = "all"
    serial: bool = False  # one host at a time (kubeadm join of control planes, ...)
    # read-only steps whose results later steps need (facts): rerun on resume instead of skipped
    always_run: bool = False
    # False for steps that only read (facts, probes): their apply runs in phase "gather", not
    # "apply", so a host the dry run's fault plan fails still gets past them
    changes_host: bool = True

    async def check(self, ctx: StepContext) -> bool | StepResult:
        """Read-only. ``StepResult.unchanged(why)`` (or True) when the host is already as wanted."""
        return False

    @abstractmethod
    async def apply(self, ctx: StepContext) -> StepResult | StepStatus | str | None: ...

    async def verify(self, ctx: StepContext) -> StepResult | None:
        """Raise StepFailed when the host is not in the desired state after apply; a StepResult
        returned here replaces apply's message."""
        return None

    def wants(self, host: Host, hosts: list[Host], plan: ClusterPlan | None) -> bool:
        t = self.targets
        if callable(t):
            return bool(t(host, plan))
        if t == "all":
            return True
        if t == "control-planes":
            return host.is_control_plane
        if t == "workers":
            return host.is_worker and not host.is_control_plane
        if t == "first-control-plane":
            first = next((h for h in hosts if h.is_control_plane), None)
            return first is not None and first.name == host.name
        raise ValueError(f"step {self.id}: unknown targets {t!r}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


__all__ = [
    "BACKUP_ROOT",
    "CURRENT",
    "HOST_LEVEL_KINDS",
    "ExecError",
    "Step",
    "StepContext",
    "StepFailed",
    "StepPhase",
    "StepResult",
    "Targets",
    "command_failure",
]
