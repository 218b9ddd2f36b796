"""The whole kubeadm path on three SSH test hosts (1 control plane, 2 workers), with the real
SshExecutor and the Runner.

kubeadm, kubelet, kubectl, containerd and systemctl are stand-ins (tests/standins: kubeadm replays
recorded real output); everything else is real: the facts script, preflight, swap (the host's
private /etc/fstab), module detection (/sys/module, /proc/sys/net/bridge: built-in counts), the
sysctls (written, loaded and read back in each host's own namespace), file uploads, and the
kubeconfig copied back here. A rerun changes nothing; rollback restores the sysctls exactly.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from k8s_tui.engine.events import EventBus, OutputLine, StepFinished
from k8s_tui.engine.executor import ExecOptions
from k8s_tui.engine.planning import rollback_steps
from k8s_tui.engine.runner import Runner, RunPlan
from k8s_tui.engine.ssh import SshExecutor
from k8s_tui.backends.kubeadm.path import kubeadm_run_plan
from k8s_tui.backends.kubeadm.steps import local_kubeconfig_path
from k8s_tui.hostprep.tuning_values import kubeadm_sysctl_values
from k8s_tui.model.plan import ClusterPlan
from tests.standins import install_standins

pytestmark = pytest.mark.testhosts

SYSCTL_PATH = "/etc/sysctl.d/90-k8s-tui.conf"
TUNING = {"vm.max_map_count": 262144, "net.core.somaxconn": 32768, "fs.inotify.max_user_watches": 524288}
CNI_MANIFEST = """\
# a network add-on for the test: one DaemonSet the kubectl stand-in records
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: test-cni
  namespace: kube-system
spec:
  selector:
    matchLabels: {app: test-cni}
  template:
    metadata:
      labels: {app: test-cni}
    spec:
      containers:
      - name: cni
        image: registry.k8s.io/pause:3.10
"""
CONTAINERD_CONFIG = """\
version = 2
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.10"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = true
"""


def make_plan(hosts, manifest: Path) -> ClusterPlan:
    return ClusterPlan(
        name="standin",
        kubernetes_version="1.32.13",
        cni="manifest",
        cni_manifest=str(manifest),
        kube_proxy_mode="nftables",
        hosts=[
            {"name": h.name, "address": h.address, "user": "root", "key_file": h.key_file,
             "roles": ["control-plane"] if i == 0 else ["worker"]}
            for i, h in enumerate(hosts)
        ],
        tuning={"values": TUNING},
    )


def prepare(hosts, plan: ClusterPlan) -> None:
    names = [h.name for h in plan.hosts]
    for h in hosts:
        install_standins(h, nodes=names)
        cfg = h.path("/etc/containerd/config.toml")
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(CONTAINERD_CONFIG)
    # a swap line on one worker (no such file: swapoff -a has nothing to do, the fstab line goes)
    fstab = hosts[1].path("/etc/fstab")
    fstab.write_text(fstab.read_text() + "/swapfile none swap sw 0 0\n")


class Recorder:
    def __init__(self):
        self.finished: dict[tuple[str, str], StepFinished] = {}
        self.lines: list[tuple[float, OutputLine]] = []

    def __call__(self, ev):
        if isinstance(ev, StepFinished):
            self.finished[(ev.host, ev.step_id)] = ev
        elif isinstance(ev, OutputLine):
            self.lines.append((time.monotonic(), ev))

    def status(self, host: str, step: str) -> str:
        return self.finished[(host, step)].status

    def statuses(self) -> dict[tuple[str, str], str]:
        return {k: v.status for k, v in self.finished.items()}


async def run(plan: ClusterPlan, run_plan: RunPlan, known_hosts: str, state: Path) -> tuple[Runner, Recorder]:
    rec = Recorder()
    bus = EventBus()
    bus.subscribe(rec)
    ex = SshExecutor(ExecOptions(known_hosts=known_hosts, connect_timeout=8))
    try:
        runner = Runner(plan, run_plan, ex, bus=bus, state_base=state)
        await runner.run()
    finally:
        await ex.close()
    return runner, rec


def failures(rec: Recorder) -> str:
    return "\n".join(f"{h} {s}: {e.message} -- {e.hint}" for (h, s), e in rec.finished.items() if e.status == "failed")


async def test_kubeadm_path_end_to_end_rerun_and_rollback(testhosts3, tmp_path, monkeypatch):
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path / "state"))
    hosts = testhosts3
    manifest = tmp_path / "cni.yaml"
    manifest.write_text(CNI_MANIFEST)
    plan = make_plan(hosts, manifest)
    prepare(hosts, plan)
    known = hosts[0].known_hosts
    wanted = kubeadm_sysctl_values(plan)
    before = {h.name: {k: h.sysctl(k) for k in wanted} for h in hosts}
    assert not any(h.path(SYSCTL_PATH).exists() for h in hosts)

    # -- first run: the whole path -------------------------------------------------------------
    state = tmp_path / "state"
    runner, rec = await run(plan, kubeadm_run_plan(plan, state_base=state, verify_timeout=60), known, state)
    assert not failures(rec), failures(rec)
    cp, w1, w2 = (h.name for h in hosts)
    st = rec.statuses()
    # read-only steps
    for h in (cp, w1, w2):
        assert st[(h, "facts")] == "ok" and st[(h, "preflight")] == "ok"
        # warn-only (network_check: warn): a test host has no way to pkgs.k8s.io, and the run goes on
        assert st[(h, "reachability")] == "ok", rec.finished[(h, "reachability")].message
        assert st[(h, "modules")] in ("changed",)  # built in here: only /etc/modules-load.d/k8s-tui.conf is written
        assert st[(h, "sysctl")] == "changed"
        assert st[(h, "runtime")] == "unchanged", rec.finished[(h, "runtime")].message
        assert st[(h, "packages")] == "unchanged", rec.finished[(h, "packages")].message
    assert st[(w1, "swap")] == "changed" and st[(cp, "swap")] == "unchanged" and st[(w2, "swap")] == "unchanged"
    for step in ("kubeadm-config", "kubeadm-init", "cni", "verify"):
        assert st[(cp, step)] == "changed", step
    assert st[(w1, "kubeadm-join-workers")] == "changed" and st[(w2, "kubeadm-join-workers")] == "changed"
    assert (cp, "kubeadm-join-workers") not in st and (w1, "kubeadm-init") not in st

    # swap: the fstab line is commented out; the old fstab is in the run's backup
    fstab = hosts[1].path("/etc/fstab").read_text()
    assert "# k8s-tui: swap off for the kubelet: /swapfile none swap sw 0 0" in fstab
    backups = list(hosts[1].path(f"/var/lib/k8s-tui/backup/{runner.run_id}").glob("fstab*"))
    assert backups and "\n/swapfile none swap" in "\n" + backups[0].read_text()
    # modules persisted
    assert hosts[0].path("/etc/modules-load.d/k8s-tui.conf").read_text().splitlines()[1:] == ["overlay", "br_netfilter", "nf_conntrack"]
    # sysctls: real, read back inside each host's own namespace
    from k8s_tui.hostprep.sysctl import same_value

    for h in hosts:
        for k, v in wanted.items():
            assert same_value(k, v, h.sysctl(k)), (h.name, k, h.sysctl(k))
        assert h.path(SYSCTL_PATH).exists()
    # kubeadm config uploaded 0600, init streamed live (lines arrived while kubeadm ran)
    cfgp = hosts[0].path("/etc/kubernetes/k8s-tui/kubeadm.yaml")
    assert oct(cfgp.stat().st_mode & 0o777) == "0o600" and "kind: InitConfiguration" in cfgp.read_text()
    init_lines = [(t, ev) for t, ev in rec.lines if ev.host == cp and ev.step_id == "kubeadm-init" and ev.stream in ("stdout", "stderr")]
    texts = [ev.text for _, ev in init_lines]
    assert "[init] Using Kubernetes version: v1.32.13" in texts
    assert any("Your Kubernetes control-plane has initialized successfully!" in t for t in texts)
    assert init_lines[-1][0] - init_lines[0][0] > 0.5  # many events over the run, not one block at the end
    phase_logs = [ev.text for _, ev in rec.lines if ev.host == cp and ev.step_id == "kubeadm-init" and ev.stream == "info" and ev.text.startswith("phase ")]
    assert phase_logs[0].startswith("phase 1/") and any(p.split()[2] == "addons" for p in phase_logs) and len(phase_logs) >= 10
    # joins: join config 0600 with the token init printed; kubelet.conf written by the stand-in
    for h in hosts[1:]:
        jp = h.path("/etc/kubernetes/k8s-tui/join.yaml")
        assert oct(jp.stat().st_mode & 0o777) == "0o600" and "cj1u0k.fucyrjoxei8zw43m" in jp.read_text()
        assert f"apiServerEndpoint: {hosts[0].address}:6443" in jp.read_text()
        assert h.path("/etc/kubernetes/kubelet.conf").exists()
    # CNI applied on the first control plane; kubeconfig copied back, mode 0600
    assert (hosts[0].path("/var/lib/k8s-tui-standin/applied/manifest.yaml")).read_text() == CNI_MANIFEST
    local = local_kubeconfig_path(plan, state)
    assert local.read_bytes() == hosts[0].path("/etc/kubernetes/admin.conf").read_bytes()
    assert oct(local.stat().st_mode & 0o777) == "0o600"

    # -- rerun: every step unchanged (facts, reachability and preflight only read: "ok") -----------
    _, rec2 = await run(plan, kubeadm_run_plan(plan, state_base=state, verify_timeout=60), known, state)
    assert not failures(rec2), failures(rec2)
    changed = {k: v for k, v in rec2.statuses().items() if v not in ("unchanged", "ok") or (v == "ok" and k[1] not in ("facts", "reachability", "preflight"))}
    assert not changed, changed
    assert len(rec2.statuses()) == len(st)

    # -- rollback of the first run: sysctl file and live values exactly as before ------------------
    _, rec3 = await run(plan, rollback_steps(plan, runner.run_id), known, state)
    assert not failures(rec3), failures(rec3)
    for h in hosts:
        assert {k: h.sysctl(k) for k in wanted} == before[h.name]
        assert not h.path(SYSCTL_PATH).exists()


async def test_kubeadm_init_timeout_shows_phase_hint_and_kubelet_journal(testbed, tmp_path, monkeypatch):
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path / "state"))
    hosts = testbed(1, prefix="kf")
    try:
        manifest = tmp_path / "cni.yaml"
        manifest.write_text(CNI_MANIFEST)
        plan = make_plan(hosts, manifest)
        prepare_single = hosts[0]
        install_standins(prepare_single, nodes=[prepare_single.name])
        cfg = prepare_single.path("/etc/containerd/config.toml")
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(CONTAINERD_CONFIG)
        marker = prepare_single.path("/etc/k8s-tui-standin/fail-init")
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("")
        full = kubeadm_run_plan(plan, state_base=tmp_path / "state")
        upto = [st for st in full.stages if st.name in ("facts", "preflight", "kubeadm config", "kubeadm init")]
        _, rec = await run(plan, RunPlan(upto), prepare_single.known_hosts, tmp_path / "state")
        ev = rec.finished[(prepare_single.name, "kubeadm-init")]
        assert ev.status == "failed"
        assert "phase wait-control-plane" in ev.message and "context deadline exceeded" in ev.message
        assert "kubelet" in ev.hint
        cmds = [e.text for _, e in rec.lines if e.step_id == "kubeadm-init" and e.stream == "cmd"]
        assert any("journalctl -xeu kubelet --no-pager -n 50" in c for c in cmds)
        assert not prepare_single.path("/etc/kubernetes/admin.conf").exists()
    finally:
        testbed.release(hosts)
