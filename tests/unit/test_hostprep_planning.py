"""engine.planning.plan_steps: a tool's full path comes from the backends' registry; tools without
one, and the tuning scope, get facts then sysctl."""

from __future__ import annotations

import pytest

from k8s_tui.backends.registry import FULL_PATHS
from k8s_tui.engine import planning
from k8s_tui.engine.planning import plan_steps
from k8s_tui.engine.runner import RunPlan, Stage

from .hostprep_helpers import make_plan


def test_kubeadm_full_scope_is_the_kubeadm_path():
    rp = plan_steps(make_plan(tool="kubeadm"))
    ids = [s.id for s in rp.steps()]
    assert rp.scope == "full"
    assert ids[:4] == ["facts", "reachability", "preflight", "swap"] and "kubeadm-init" in ids and ids[-1] == "verify"
    assert not rp.stages[1].steps[0].strict  # network_check: warn, the default


@pytest.mark.parametrize("mode,want", [("warn", [False]), ("strict", [True]), ("off", [])])
def test_network_check_picks_the_reachability_stage(mode, want):
    rp = plan_steps(make_plan(tool="kubeadm", network_check=mode))
    assert [s.strict for s in rp.steps() if s.id == "reachability"] == want
    assert [st.name for st in rp.stages][:2] == (["facts", "reachability"] if want else ["facts", "preflight"])


@pytest.mark.parametrize("tool", ["kubespray", "kubeasz", "kops"])
def test_tools_without_a_full_path_get_the_tuning(tool):
    rp = plan_steps(make_plan(tool=tool, preset="kubeadm-minimum"))
    assert rp.scope == "tuning"
    assert [s.id for s in rp.steps()] == ["facts", "sysctl"]


def test_tuning_scope_on_a_kubeadm_plan():
    rp = plan_steps(make_plan(tool="kubeadm", preset="kubeadm-minimum"), "tuning")
    assert rp.scope == "tuning" and [s.id for s in rp.steps()] == ["facts", "sysctl"]


def test_a_registered_full_path_is_used_with_the_state_base(monkeypatch, tmp_path):
    seen = []

    def builder(plan, *, state_base=None):
        seen.append(state_base)
        return RunPlan([Stage("facts", [planning.FactsLiteStep()])])

    monkeypatch.setitem(FULL_PATHS, "kops", builder)
    rp = plan_steps(make_plan(tool="kops"), state_base=tmp_path)
    assert rp.scope == "full" and seen == [tmp_path]


def test_unknown_scope_is_refused():
    with pytest.raises(ValueError, match="unknown scope"):
        plan_steps(make_plan(), "everything")
