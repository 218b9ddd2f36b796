"""Issue 4's "done when", as a user types it: `k8s-tui apply plan.yaml --yes` on three SSH test
hosts (one control plane, two workers) runs the whole kubeadm path, a rerun changes nothing, and
`k8s-tui rollback RUN --yes` puts the sysctls back exactly.

kubeadm, kubectl, kubelet, containerd and systemctl are the stand-ins of tests/standins (kubeadm
replays recorded real output); the SSH connections, files, fstab and sysctls are real, inside
each test host's own namespaces.
"""

from __future__ import annotations

import json

import pytest

from k8s_tui.cli import main
from k8s_tui.engine.journal import list_runs
from k8s_tui.hostprep.tuning_values import kubeadm_sysctl_values
from k8s_tui.model.plan import save_plan

from tests.integration.test_kubeadm_path import CNI_MANIFEST, SYSCTL_PATH, make_plan, prepare

pytestmark = pytest.mark.testhosts


def test_apply_whole_path_rerun_unchanged_and_rollback(testhosts3, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")
    hosts = testhosts3
    manifest = tmp_path / "cni.yaml"
    manifest.write_text(CNI_MANIFEST)
    plan = make_plan(hosts, manifest)
    prepare(hosts, plan)
    plan_path = tmp_path / "plan.yaml"
    save_plan(plan, plan_path)
    known = ["--known-hosts", hosts[0].known_hosts]
    wanted = kubeadm_sysctl_values(plan)
    before = {h.name: {k: h.sysctl(k) for k in wanted} for h in hosts}

    assert main(["apply", str(plan_path), "--yes", "--follow", *known]) == 0
    out = capsys.readouterr().out
    cp = hosts[0].name
    # the stand-in's recorded kubeadm output was streamed, prefixed by its host
    assert f"{cp} | [init] Using Kubernetes version: v1.32.13" in out
    assert "Your Kubernetes control-plane has initialized successfully!" in out
    for step in ("preflight", "swap", "modules", "sysctl", "runtime", "packages", "kubeadm-init", "cni", "verify"):
        assert step in out
    for h in hosts:
        assert h.path(SYSCTL_PATH).exists()
        assert h.sysctl("net.core.somaxconn") == "32768"
    first = list_runs()[-1].run_id

    assert main(["apply", str(plan_path), "--yes", *known]) == 0
    out = capsys.readouterr().out
    statuses = [ln.split()[2] for ln in out.splitlines() if ln.startswith(tuple(h.name + " " for h in hosts))]
    assert statuses and set(statuses) <= {"ok", "unchanged"}, out

    assert main(["rollback", first, "--yes", *known]) == 0
    capsys.readouterr()
    for h in hosts:
        assert {k: h.sysctl(k) for k in wanted} == before[h.name]
        assert not h.path(SYSCTL_PATH).exists()
    meta = json.loads((tmp_path / "state" / "runs" / first / "meta.json").read_text())
    assert meta["scope"] == "full"
