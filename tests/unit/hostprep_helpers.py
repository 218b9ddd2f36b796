"""Shared by the tests/unit/test_hostprep_*.py tests: plans, a RHEL-family host for the dry run,
running a RunPlan on the dry-run executor, and the golden files of the commands each step sends."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
from pathlib import Path

from k8s_tui.engine.dryrun import Call, Transcript
from k8s_tui.engine.events import EventBus, OutputLine, StepFinished
from k8s_tui.engine.runner import Runner, RunPlan
from k8s_tui.backends.kubeadm.dryrun import KubeadmDryRunExecutor
from k8s_tui.hostprep.facts import FACTS_SCRIPT, VERSIONS_SCRIPT
from k8s_tui.backends.kubeadm.steps import RESET_PROBE
from k8s_tui.hostprep.modules import PROBE_SCRIPT
from k8s_tui.hostprep.reachability import _PY as REACH_PY
from k8s_tui.hostprep.reachability import REACH_SCRIPT
from k8s_tui.hostprep.runtime import CERTS_LIST_SCRIPT
from k8s_tui.model.plan import ClusterPlan

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "hostprep"
UPDATE = os.environ.get("K8S_TUI_UPDATE_GOLDEN") == "1"
RHEL_KERNEL = "5.14.0-427.13.1.el9_4.x86_64"

RHEL_FACTS = """\
os.NAME="Rocky Linux"
os.VERSION="9.4 (Blue Onyx)"
os.ID="rocky"
os.ID_LIKE="rhel centos fedora"
os.VERSION_ID="9.4"
os.PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
kernel={kernel}
arch=x86_64
hostname={host}
cpus=2
mem_kb=3735244
kubelet_active=inactive
containerd_active=inactive
missing=containerd
missing=kubeadm
missing=kubelet
missing=kubectl
pkgmgr=dnf
listen=0.0.0.0:22 users:(("sshd",pid=811,fd=3))
end=1
"""


def rhel_transcripts() -> list[Transcript]:
    return [Transcript(match=r"(?s)sh -c .* k8s-tui-facts( .*)?", lines=[("stdout", ln) for ln in RHEL_FACTS.splitlines()],
                       name="rocky-facts")]


def make_plan(**kw) -> ClusterPlan:
    kw.setdefault("kubernetes_version", "1.32.13")
    kw.setdefault("hosts", [
        {"name": "cp1", "address": "10.0.0.1", "roles": ["control-plane"]},
        {"name": "w1", "address": "10.0.0.2", "roles": ["worker"]},
    ])
    return ClusterPlan(**kw)


def executor(distro: str = "debian", **kw) -> KubeadmDryRunExecutor:
    kw.setdefault("speed", 0)
    kw.setdefault("command_latency", 0)
    if distro == "rhel":
        kw.setdefault("transcripts", rhel_transcripts())
        kw.setdefault("kernel", RHEL_KERNEL)
        kw.setdefault("installed", {})
    return KubeadmDryRunExecutor(**kw)


class Events:
    def __init__(self):
        self.finished: dict[tuple[str, str], StepFinished] = {}
        self.lines: list[OutputLine] = []

    def __call__(self, ev):
        if isinstance(ev, StepFinished):
            self.finished[(ev.host, ev.step_id)] = ev
        elif isinstance(ev, OutputLine):
            self.lines.append(ev)

    def status(self, host: str, step: str) -> str:
        return self.finished[(host, step)].status

    def statuses(self) -> dict[tuple[str, str], str]:
        return {k: v.status for k, v in self.finished.items()}

    def failures(self) -> str:
        return "\n".join(f"{h} {s}: {e.message} -- {e.hint}" for (h, s), e in self.finished.items() if e.status == "failed")

    def text(self, host: str, step: str, stream: str | None = None) -> list[str]:
        return [e.text for e in self.lines if e.host == host and e.step_id == step and (stream is None or e.stream == stream)]


def run(plan: ClusterPlan, run_plan: RunPlan, ex, *, run_id: str = "golden-run") -> Events:
    ev = Events()
    bus = EventBus()
    bus.subscribe(ev)
    asyncio.run(Runner(plan, run_plan, ex, bus=bus, journal=False, run_id=run_id).run())
    return ev


SCRIPTS = {FACTS_SCRIPT: "<k8s-tui facts script>", VERSIONS_SCRIPT: "<k8s-tui versions script>",
           PROBE_SCRIPT: "<k8s-tui modules script>", RESET_PROBE: "<k8s-tui reset script>",
           REACH_SCRIPT: "<k8s-tui reach script>", REACH_PY: "<its python3 fallback>",
           CERTS_LIST_SCRIPT: "<k8s-tui certs-list script>"}


def describe(c: Call) -> str:
    if c.kind == "run":
        argv = [SCRIPTS.get(a, a) for a in c.argv]
        return "$ " + " ".join(a if a in SCRIPTS.values() else shlex.quote(a) for a in argv) + (
            f"   -> exit {c.exit_status}" if c.exit_status else "")
    if c.kind == "write":
        head = f"write {c.path} mode {c.mode:o}" + ("" if c.changed else " (unchanged)")
        body = (c.content or b"").decode(errors="replace")
        if len(body) > 4000:
            body = body[:4000] + "\n[...]"
        return head + "".join(f"\n      | {ln}" for ln in body.splitlines())
    return f"read {c.path}"


def step_transcript(ex, step_id: str, hosts: list[str]) -> str:
    out = []
    for h in hosts:
        calls = [c for c in ex.calls if c.step_id == step_id and c.host == h]
        if not calls:
            continue
        out.append(f"## {h}")
        for c in calls:
            out.append(f"{c.phase:<7} {describe(c)}")
    return "\n".join(out) + "\n"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    text = re.sub(r"/tmp/[^\s'\"]+", "<tmp>", text)
    text = re.sub(r"--timeout=[1-9]\d*s", "--timeout=<seconds left>s", text)
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if not UPDATE:
            raise AssertionError(f"{path} did not exist: written now; check it and run again")
        return
    assert text == path.read_text(), f"{path} differs (K8S_TUI_UPDATE_GOLDEN=1 rewrites it after a deliberate change)"


def run_steps(plan: ClusterPlan, steps: list, ex, *, run_id: str = "unit-run", facts: bool = True) -> Events:
    """facts (when wanted), then the given steps in one stage each, on the dry-run executor."""
    from k8s_tui.engine.runner import Stage
    from k8s_tui.hostprep.facts import FactsStep

    stages = [Stage("facts", [FactsStep()])] if facts else []
    stages += [Stage(s.id, [s]) for s in steps]
    return run(plan, RunPlan(stages), ex, run_id=run_id)
