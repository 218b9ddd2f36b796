"""Golden files of the commands every step of the kubeadm path sends, for a Debian 12 and a
Rocky Linux 9 host, on the dry-run executor (tests/golden/hostprep/<distro>/<step>.txt); and the
second run on the same (simulated) hosts: every step unchanged.

K8S_TUI_UPDATE_GOLDEN=1 rewrites the files after a deliberate change; review the diff.
"""

from __future__ import annotations

import pytest

from k8s_tui.backends.kubeadm.path import kubeadm_run_plan, reset_run_plan

from .hostprep_helpers import check_golden, executor, make_plan, run

HOSTS = [
    {"name": "cp1", "address": "10.0.0.1", "roles": ["control-plane", "etcd"]},
    {"name": "cp2", "address": "10.0.0.2", "roles": ["control-plane", "etcd"]},
    {"name": "w1", "address": "10.0.0.3", "roles": ["worker"]},
]


def ha_plan(**kw):
    kw.setdefault("control_plane_endpoint", "10.0.0.100:6443")
    kw.setdefault("tuning", {"values": {"net.netfilter.nf_conntrack_max": 1048576, "vm.swappiness": 0}})
    return make_plan(hosts=HOSTS, **kw)


@pytest.mark.parametrize("distro", ["debian", "rhel"])
def test_every_step_golden_then_rerun_unchanged(distro, tmp_path):
    plan = ha_plan()
    ex = executor(distro)
    rp = kubeadm_run_plan(plan, state_base=tmp_path, verify_timeout=5)
    ev = run(plan, rp, ex)
    assert not ev.failures(), ev.failures()
    names = [h.name for h in plan.hosts]
    for step in rp.steps():
        check_golden(f"{distro}/{step.id}.txt", step_transcript_for(ex, step.id, names))

    # second run, same hosts: nothing to do anywhere
    n = len(ex.calls)
    ev2 = run(plan, kubeadm_run_plan(plan, state_base=tmp_path, verify_timeout=5), ex, run_id="golden-rerun")
    assert not ev2.failures(), ev2.failures()
    bad = {k: v for k, v in ev2.statuses().items() if v != ("ok" if k[1] in ("facts", "reachability", "preflight") else "unchanged")}
    assert not bad, bad
    assert not [c for c in ex.calls[n:] if c.phase in ("apply", "verify")]
    assert not [c for c in ex.calls[n:] if c.kind == "write"]


def step_transcript_for(ex, step_id, names):
    from .hostprep_helpers import step_transcript

    return f"# the {step_id} step on the dry-run executor, first run; check/apply/verify per host\n" + step_transcript(ex, step_id, names)


@pytest.mark.parametrize("distro", ["debian", "rhel"])
def test_reset_golden_then_nothing_left(distro, tmp_path):
    plan = ha_plan()
    ex = executor(distro)
    assert not run(plan, kubeadm_run_plan(plan, state_base=tmp_path, verify_timeout=5), ex).failures()
    n = len(ex.calls)
    rp = reset_run_plan(plan)
    assert [st.name for st in rp.stages] == ["reset workers", "reset control planes"]
    ev = run(plan, rp, ex, run_id="golden-reset")
    assert not ev.failures(), ev.failures()
    assert ev.status("w1", "reset-workers") == "changed" and ev.status("cp1", "reset-control-planes") == "changed"
    ex.calls[:] = ex.calls[n:]
    names = [h.name for h in plan.hosts]
    for step in rp.steps():
        check_golden(f"{distro}/{step.id}.txt", step_transcript_for(ex, step.id, names))
    ev2 = run(plan, reset_run_plan(plan), ex, run_id="golden-reset2")
    assert set(ev2.statuses().values()) == {"unchanged"}
