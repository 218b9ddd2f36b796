"""Files k8s-tui wrote for mirrors and the proxy are removed when the plan drops them, on a real
SSH test host (tests/testbed) with the real SshExecutor: real reads, the real listing script under
``sh``, real ``rm``/``rmdir``, real backups. A user's own files at the same places stay.

containerd and systemd cannot run in a test host: ``containerd --version`` and the kubeadm tools
answer through the stand-ins (tests/standins), and ``systemctl`` is a stand-in of this test that
appends each call to a file, so the daemon-reload and restarts the step sends are seen in order.
The reachability step runs for real too: the test host has no way to pkgs.k8s.io or
registry.k8s.io, so ``network_check: warn`` reports both with their hints and the run goes on.

Root only (test hosts); skips with the reason otherwise.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from k8s_tui.engine.events import EventBus
from k8s_tui.engine.executor import ExecOptions
from k8s_tui.engine.runner import Runner, RunPlan, Stage
from k8s_tui.engine.ssh import SshExecutor
from k8s_tui.hostprep.facts import FactsStep, FactsStore
from k8s_tui.hostprep.packages import APT_PROXY_CONF, PackagesStep
from k8s_tui.hostprep.reachability import ReachabilityStep
from k8s_tui.hostprep.runtime import (
    CERTS_D,
    CONTAINERD_DROPIN,
    KUBELET_DROPIN,
    RuntimeStep,
)
from k8s_tui.model.plan import ClusterPlan
from tests.standins import VERSION, install_standins
from tests.unit.hostprep_helpers import Events

pytestmark = pytest.mark.testhosts

K8S = VERSION.lstrip("v")
CONFIG = """version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
"""
SYSTEMCTL = """#!/bin/sh
# this test's systemctl: records each call, answers is-active for containerd and kubelet
printf '%s\\n' "$*" >> /var/log/systemctl-calls
case "${1:-}" in
  is-active) case "${2:-}" in containerd|kubelet) echo active; exit 0 ;; esac; echo inactive; exit 3 ;;
esac
exit 0
"""
PROXY = {"http": "http://proxy.corp.example:3128", "https": "http://proxy.corp.example:3128"}
MIRRORS = {"registry.k8s.io": ["https://k8s.example.cn"], "docker.io": ["https://hub.example.cn"]}
USERS_HOSTS_TOML = '# my own mirror for quay.io\nserver = "https://quay.io"\n'
USERS_APT_PROXY = 'Acquire::http::Proxy "http://mine:3128";\n'


class Recorder(Events):  # the step events, and the host's log as this test reads it
    def log(self, host: str, step: str) -> list[str]:
        return [e.text for e in self.lines if e.host == host and e.step_id == step]


def make_plan(h, **kw) -> ClusterPlan:
    return ClusterPlan(name="corp", kubernetes_version=K8S,
                       hosts=[{"name": h.name, "address": h.address, "user": "root", "key_file": h.key_file,
                                "roles": ["control-plane"]}], **kw)


def steps(plan: ClusterPlan) -> RunPlan:
    return RunPlan([
        Stage("facts", [FactsStep([], FactsStore())]),
        Stage("reachability", [ReachabilityStep(strict=plan.network_check.value == "strict", timeout=3)]),
        Stage("host preparation", [RuntimeStep(), PackagesStep(offline_dir="")]),
    ])


def run(plan: ClusterPlan, h, state: Path, run_id: str) -> Recorder:
    rec = Recorder()
    bus = EventBus()
    bus.subscribe(rec)

    async def go():
        ex = SshExecutor(ExecOptions(known_hosts=h.known_hosts, connect_timeout=8))
        try:
            await Runner(plan, steps(plan), ex, bus=bus, state_base=state, run_id=run_id).run()
        finally:
            await ex.close()

    asyncio.run(go())
    return rec


def test_dropped_mirror_and_proxy_files_removed_users_own_kept(testbed, tmp_path):
    hosts = testbed(1, prefix="ncl")
    h = hosts[0]
    try:
        install_standins(h, nodes=[h.name], tools=("kubeadm", "kubelet", "kubectl", "containerd"))
        h.install_standin("systemctl", SYSTEMCTL)
        cfg = h.path("/etc/containerd/config.toml")
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(CONFIG)
        quay = h.path(f"{CERTS_D}/quay.io/hosts.toml")
        quay.parent.mkdir(parents=True)
        quay.write_text(USERS_HOSTS_TOML)
        calls = h.path("/var/log/systemctl-calls")
        state = tmp_path / "state"

        # 1. mirrors and a proxy: the files are written
        full = make_plan(h, registry_mirrors=MIRRORS, proxy=PROXY)
        rec = run(full, h, state, "full")
        for step in ("runtime", "packages"):
            assert rec.finished[(h.name, step)].status == "changed", (step, rec.finished[(h.name, step)].message)
        for p in (f"{CERTS_D}/docker.io/hosts.toml", f"{CERTS_D}/registry.k8s.io/hosts.toml", CONTAINERD_DROPIN,
                  KUBELET_DROPIN, APT_PROXY_CONF):
            assert h.path(p).read_text().splitlines()[0].lstrip("#/ ").startswith("written by k8s-tui"), p
        # the packages were in place (the stand-ins): only the proxy file was written, nothing installed
        assert not [t for t in rec.log(h.name, "packages") if t.startswith("$ ") and "apt-get" in t]
        # the reachability check, for real, before any of it: no internet here, warned and went on
        reach = rec.finished[(h.name, "reachability")]
        assert reach.status == "ok" and reach.message.startswith("warning: "), reach.message
        assert any(t.startswith("  hint: ") for t in rec.log(h.name, "reachability"))
        calls.write_text("")

        # 2. the plan drops the docker.io mirror and the proxy
        less = make_plan(h, registry_mirrors={"registry.k8s.io": ["https://k8s.example.cn"]})
        rec = run(less, h, state, "less")
        fin = rec.finished[(h.name, "runtime")]
        assert fin.status == "changed", fin.message
        assert not h.path(f"{CERTS_D}/docker.io").exists()  # the file and its emptied folder
        assert not h.path(CONTAINERD_DROPIN).exists() and not h.path(KUBELET_DROPIN).exists()
        assert h.path(f"{CERTS_D}/registry.k8s.io/hosts.toml").exists()
        assert quay.read_text() == USERS_HOSTS_TOML  # the user's own
        assert any(f"{CERTS_D}/quay.io/hosts.toml: the plan does not ask for it, but k8s-tui did not write it" in t
                   for t in rec.log(h.name, "runtime"))
        backup = h.path("/var/lib/k8s-tui/backup/less/removed/etc_systemd_system_kubelet.service.d_http-proxy.conf")
        assert "HTTP_PROXY=http://proxy.corp.example:3128" in backup.read_text()
        assert oct(backup.stat().st_mode & 0o777) == "0o600"
        seen = calls.read_text().splitlines()
        assert seen.index("daemon-reload") < seen.index("restart containerd") and "try-restart kubelet" in seen
        pk = rec.finished[(h.name, "packages")]
        assert pk.status == "changed" and f"removed {APT_PROXY_CONF}" in pk.message
        assert not h.path(APT_PROXY_CONF).exists()

        # 3. again: nothing left to do
        rec = run(less, h, state, "again")
        assert rec.finished[(h.name, "runtime")].status == "unchanged", rec.finished[(h.name, "runtime")].message
        assert rec.finished[(h.name, "packages")].status == "unchanged"

        # 4. the user's own apt proxy file under k8s-tui's name: never removed
        h.path(APT_PROXY_CONF).write_text(USERS_APT_PROXY)
        rec = run(less, h, state, "users")
        assert rec.finished[(h.name, "packages")].status == "unchanged"
        assert h.path(APT_PROXY_CONF).read_text() == USERS_APT_PROXY
    finally:
        testbed.release(hosts)


def test_strict_network_check_stops_before_any_change(testbed, tmp_path):
    hosts = testbed(1, prefix="nst")
    h = hosts[0]
    try:
        install_standins(h, nodes=[h.name], tools=("kubeadm", "kubelet", "kubectl", "containerd"))
        h.install_standin("systemctl", SYSTEMCTL)
        plan = make_plan(h, registry_mirrors=MIRRORS, network_check="strict")
        rec = run(plan, h, tmp_path / "state", "strict")
        fin = rec.finished[(h.name, "reachability")]
        assert fin.status == "failed" and "endpoints do not answer" in fin.message and fin.hint
        assert (h.name, "runtime") not in rec.finished or rec.finished[(h.name, "runtime")].status == "skipped"
        assert not h.path(f"{CERTS_D}/docker.io/hosts.toml").exists()
    finally:
        testbed.release(hosts)
