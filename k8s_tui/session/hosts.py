"""What the hosts screen does, without Textual: import hosts from an inventory, probe them.

* ``path_problem`` and ``preview_import`` back the import dialog (checked as the path is typed);
  ``apply_import`` puts an accepted import into the wizard state.
* ``run_probe`` is a probe: a Runner over a RunPlan with only the facts step, on the executor the
  one ``ExecutorFactory`` makes; it reports each host's status as it changes and hands back each host's facts.
  ``probe_from_facts`` turns facts into the ``HostProbe`` the tuning and review screens read.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.events import HostLost, StepFinished, StepStarted
from ..engine.executor import ExecError, ExecOptions
from ..hostprep.facts import FactsStep, FactsStore, HostFacts
from ..knowledge.catalogue import Catalogue
from ..knowledge.values import ValueError_, parse_proc_value
from ..model.hosts import Host
from ..model.plan import ClusterPlan
from ..model.tuning import TuningProfile
from ..yamlio import InputError
from .state import HostProbe, WizardState

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------- import

IMPORT_KINDS: list[tuple[str, str, str]] = [
    # kind, label, what the path is
    ("kubespray", "kubespray inventory", "a kubespray inventory.ini or hosts.yaml (or its folder)"),
    ("kubeasz", "kubeasz hosts", "a kubeasz clusters/NAME/hosts file (or its folder)"),
    ("ssh-config", "~/.ssh/config", "an OpenSSH client config (Host entries)"),
]
DEFAULT_PATHS = {"ssh-config": "~/.ssh/config"}


def path_problem(kind: str, text: str) -> str | None:
    """Why the typed path cannot be read for this kind of import, or None."""
    text = text.strip()
    if not text:
        return "type the path of the file to read"
    p = Path(text).expanduser()
    if not p.exists():
        return f"{text}: no such file or folder"
    if p.is_dir():
        if kind == "ssh-config":
            return f"{text}: is a folder; an ssh config is a file"
        if kind == "kubeasz":
            p = p / "hosts"
            if not p.is_file():
                return f"{text}: this folder has no hosts file"
        else:
            names = ("inventory.ini", "hosts.yaml", "hosts.yml", "hosts.ini", "hosts")
            found = next((p / n for n in names if (p / n).is_file()), None)
            if found is None:
                return f"{text}: this folder has no inventory.ini or hosts.yaml"
            p = found
    elif not p.is_file():
        return f"{text}: not a regular file"
    if not os.access(p, os.R_OK):
        return f"{p}: not readable (permission denied)"
    return None


@dataclass
class ImportPreview:
    """What an import would do: the plan after it, the change lines, notices; or the error."""

    kind: str
    path: str
    error: str | None = None
    plan: ClusterPlan | None = None
    changes: list[str] = field(default_factory=list)
    notices: list[Any] = field(default_factory=list)  # importers' Notice
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.plan is not None

    def counts(self) -> str:
        return f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed"


def preview_import(state: WizardState, kind: str, path: str, only: str = "") -> ImportPreview:
    """Read the source and work out what importing it would change; nothing in ``state`` moves."""
    from ..backends.importers import IMPORTERS, to_plan

    out = ImportPreview(kind, path)
    problem = path_problem(kind, path)
    if problem:
        out.error = problem
        return out
    src = str(Path(path.strip()).expanduser())
    try:
        if kind == "ssh-config":
            aliases = [a.strip() for a in only.split(",") if a.strip()] or None
            res = IMPORTERS[kind](src, only=aliases)
        else:
            res = IMPORTERS[kind](src)
    except InputError as e:
        out.error = str(e)
        return out
    except KeyError:
        out.error = f"unknown import format {kind!r}"
        return out
    out.notices = list(res.notices)  # read again after the merge, which states the roles it chose
    try:
        existing = state.to_plan()
    except InputError as e:
        out.error = f"the plan as it stands is not valid, so nothing can be merged into it: {e}"
        return out
    try:
        plan, changes = to_plan(res, existing)
    except InputError as e:
        out.error = str(e)
        return out
    out.plan, out.changes = plan, changes
    out.notices = list(res.notices)
    old = {h.name: h for h in state.hosts}
    new = {h.name: h for h in plan.hosts}
    out.added = [n for n in new if n not in old]
    out.removed = [n for n in old if n not in new]
    out.changed = [n for n in new if n in old and new[n] != old[n]]
    return out


def apply_import(state: WizardState, plan: ClusterPlan) -> None:
    """Take an accepted import's plan: its hosts and the plan fields it set. The tool, preset and
    tuning stay (``to_plan`` keeps them); what a probe found stays for hosts still at the same
    address and port."""
    old = {h.name: h for h in state.hosts}
    state.hosts = list(plan.hosts)
    state.base = plan.model_copy(update={"hosts": [], "tuning": TuningProfile()})
    for h in state.hosts:
        before = old.get(h.name)
        if before is not None and (before.address, before.port) != (h.address, h.port):
            state.probes.pop(h.name, None)
    names = set(state.host_names())
    for name in [n for n in state.probes if n not in names]:
        del state.probes[name]


# -------------------------------------------------------------------------------------- probe

CONNECTING, OK, FAILED = "connecting", "ok", "failed"


def _clock() -> float:
    return time.monotonic()


@dataclass
class ProbeStatus:
    """One host's probe as it goes: connecting, then ok or failed (with the error's kind)."""

    state: str = CONNECTING
    started: float = field(default_factory=lambda: _clock())
    duration: float | None = None
    kind: str = ""  # ExecError kind (unreachable, auth, hostkey-unknown, ...) or "error"
    message: str = ""
    hint: str = ""
    waiting: str = ""  # what the host waits for while connecting ("your answer on its host key")

    def elapsed(self) -> float:
        return self.duration if self.duration is not None else max(0.0, _clock() - self.started)


def probe_from_facts(facts: HostFacts, catalogue: Catalogue | None = None) -> HostProbe:
    """The fields the demo fills by hand, from what the facts script read."""
    swap_mb = None
    if facts.swaps:
        total = 0
        for line in facts.swaps:
            parts = line.split()
            if len(parts) >= 3 and parts[2].isdigit():
                total += int(parts[2])
        swap_mb = total // 1024
    elif facts.complete:
        swap_mb = 0
    containerd = facts.version("containerd")
    runtime = f"containerd {containerd}" if containerd else None
    os_name = facts.os_name or " ".join(x for x in (facts.os_id, facts.os_version) if x) or None
    probe = HostProbe(
        kernel=facts.kernel_release or None,
        os=os_name,
        cpus=facts.cpus,
        memory_mb=facts.memory_mb,
        swap_mb=swap_mb,
        runtime=runtime,
    )
    if catalogue is not None:
        for key, raw in facts.sysctls.items():
            if key not in catalogue:
                continue
            try:
                probe.sysctls[key] = parse_proc_value(catalogue.get(key), raw)
            except ValueError_:
                pass  # not a value of the catalogue's type: left "not read"
        for key in facts.sysctls_missing:
            if key in catalogue:
                probe.sysctls[key] = None
    return probe


class _KindRecorder:
    """Passes every call to the executor and remembers the kind of each host's last ExecError,
    so a failed probe says "unreachable" or "auth", not only the message."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.kinds: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def run(self, host: Host, argv: list[str], **kw: Any) -> Any:
        try:
            return await self.inner.run(host, argv, **kw)
        except ExecError as e:
            self.kinds[host.name] = e.kind
            raise

    async def read_file(self, host: Host, path: str, **kw: Any) -> Any:
        try:
            return await self.inner.read_file(host, path, **kw)
        except ExecError as e:
            self.kinds[host.name] = e.kind
            raise

    async def write_file(self, host: Host, path: str, content: bytes, **kw: Any) -> Any:
        return await self.inner.write_file(host, path, content, **kw)

    async def upload_file(self, host: Host, path: str, source: str, **kw: Any) -> Any:
        return await self.inner.upload_file(host, path, source, **kw)

    async def close(self) -> None:
        await self.inner.close()


async def run_probe(
    hosts: list[Host],
    executor: Any,
    sysctl_keys: list[str],
    on_status: Callable[[str, ProbeStatus, HostFacts | None], None],
    *,
    max_hosts: int = 64,
) -> dict[str, HostFacts]:
    """Probe every host at once; ``on_status(host, status, facts)`` hears each change, with the
    host's facts when it is done. The executor is closed after."""
    from ..engine.runner import Runner, RunPlan, Stage

    store = FactsStore()
    plan = RunPlan([Stage("probe", [FactsStep(sysctl_keys, store)])], scope="probe")
    ex = _KindRecorder(executor)
    runner = Runner(None, plan, ex, hosts=hosts, journal=False, options=ExecOptions(max_concurrent_hosts=max_hosts))
    status: dict[str, ProbeStatus] = {}
    lost: dict[str, str] = {}

    def listen(ev: Any) -> None:
        if isinstance(ev, StepStarted):
            status[ev.host] = ProbeStatus()
            on_status(ev.host, status[ev.host], None)
        elif isinstance(ev, HostLost):
            lost[ev.host] = ev.kind
        elif isinstance(ev, StepFinished):
            st = status.setdefault(ev.host, ProbeStatus())
            st.duration = max(0.0, _clock() - st.started)
            if ev.status == "failed":
                st.state = FAILED
                st.kind = lost.get(ev.host) or ex.kinds.get(ev.host) or "error"
                st.message, st.hint = ev.message, ev.hint
            else:
                st.state = OK
            st.waiting = ""
            on_status(ev.host, st, store.get(ev.host) if st.state == OK else None)

    runner.bus.subscribe(listen)
    try:
        await runner.run()
    finally:
        try:
            await executor.close()
        except Exception as e:  # a half-dead connection must not hide the results (logged, not lost)
            log.warning("closing the probe's connections: %s", e)
    return dict(store)
