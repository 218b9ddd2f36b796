"""A host the user skips is out of the cluster, on real SSH test hosts (tests/testbed) with the
kubeadm stand-ins: the second worker has no kubeadm, so its packages step really fails (no
package source on a test host); the user skips it; verify on the first control plane waits for the
two nodes that joined, passes, and copies the kubeconfig; the summary names the skipped host."""

from __future__ import annotations

import asyncio

import pytest

from k8s_tui.backends.kubeadm.path import kubeadm_run_plan
from k8s_tui.engine.events import OutputLine, StepFinished
from k8s_tui.engine.executor import ExecOptions
from k8s_tui.engine.runner import Runner
from k8s_tui.engine.ssh import SshExecutor
from tests.integration.test_kubeadm_path import CNI_MANIFEST, CONTAINERD_CONFIG, make_plan
from tests.standins import TOOLS, install_standins

pytestmark = pytest.mark.testhosts


async def test_verify_passes_without_the_skipped_host_on_real_hosts(testhosts3, tmp_path, monkeypatch):
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path / "state"))
    hosts = testhosts3
    manifest = tmp_path / "cni.yaml"
    manifest.write_text(CNI_MANIFEST)
    plan = make_plan(hosts, manifest)
    cp, w1, w2 = (h.name for h in hosts)
    joined = [cp, w1]  # the API (the kubectl stand-in on cp) lists only the nodes that joined
    for h in hosts:
        tools = TOOLS if h.name != w2 else tuple(t for t in TOOLS if t != "kubeadm")
        install_standins(h, nodes=joined, tools=tools)
        cfg = h.path("/etc/containerd/config.toml")
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(CONTAINERD_CONFIG)

    state = tmp_path / "state"
    ex = SshExecutor(ExecOptions(known_hosts=hosts[0].known_hosts, connect_timeout=8))
    runner = Runner(plan, kubeadm_run_plan(plan, state_base=state, verify_timeout=60), ex, state_base=state)
    finished: dict[tuple[str, str], StepFinished] = {}
    verify_log: list[str] = []

    def on(ev):
        if isinstance(ev, StepFinished):
            finished[(ev.host, ev.step_id)] = ev
            if ev.status == "failed" and ev.host == w2:
                asyncio.get_running_loop().call_soon(runner.skip_host, w2)  # as `s` on the run screen
        elif isinstance(ev, OutputLine) and ev.step_id == "verify":
            verify_log.append(ev.text)

    runner.bus.subscribe(on)
    try:
        result = await asyncio.wait_for(runner.run(), 600)
    finally:
        await ex.close()
    assert finished[(w2, "packages")].status == "failed"
    assert result.summary[w2]["status"] == "skipped"
    v = finished[(cp, "verify")]
    assert v.status == "changed", f"{v.message} -- {v.hint}"
    assert f"all 2 nodes Ready ({w2} skipped by you: not in the cluster)" in v.message
    assert not [t for t in verify_log if "wait --for=condition=Ready" in t and f"node/{w2}" in t]
    assert result.summary[cp]["status"] == "changed" and result.summary[w1]["status"] == "changed"
    kubeconfig = state / "clusters" / plan.name / "admin.conf"
    assert kubeconfig.exists() and (kubeconfig.stat().st_mode & 0o777) == 0o600
