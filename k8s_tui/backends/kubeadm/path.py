"""The kubeadm path as a RunPlan: every stage, in order.

    facts -> reachability (warn-only unless the plan's network_check is strict; none when off)
    -> preflight -> host preparation (swap, modules, sysctl, runtime, packages)
    -> pull images (every host) -> kubeadm config -> init -> join control planes (one at a time) -> join workers (all at once)
    -> network add-on -> verify

``kubeadm_run_plan(plan)`` is what ``engine.planning.plan_steps`` returns for ``tool: kubeadm``
(listed in ``backends/registry.py``);
``reset_run_plan(plan)`` is the separate, confirmed-first undo (workers, then control planes).
The steps of one RunPlan share a ``ClusterState`` (facts of every host, join material).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...engine.runner import RunPlan, Stage
from ...hostprep.facts import FactsStep
from ...hostprep.modules import ModulesStep
from ...hostprep.offline import OfflineBundleStep
from ...hostprep.packages import PackagesStep
from ...hostprep.preflight import PreflightStep
from ...hostprep.reachability import ReachabilityStep
from ...hostprep.runtime import RuntimeStep
from ...hostprep.swap import SwapStep
from ...hostprep.sysctl import SysctlStep
from ...hostprep.tuning_values import kubeadm_sysctl_values
from .images import ImagePullStep
from .steps import (
    ClusterState,
    CniStep,
    KubeadmConfigStep,
    KubeadmInitStep,
    KubeadmJoinStep,
    KubeadmResetStep,
    VerifyStep,
)

if TYPE_CHECKING:
    from ...model.plan import ClusterPlan


def kubeadm_run_plan(
    plan: ClusterPlan,
    *,
    state: ClusterState | None = None,
    offline_dir: str | None = None,
    verify_timeout: float = 600.0,
    state_base: Path | None = None,
) -> RunPlan:
    state = state or ClusterState()
    values = kubeadm_sysctl_values(plan)
    stages = [
        Stage("facts", [FactsStep(list(values), state.facts)]),
        *([Stage("reachability", [ReachabilityStep(strict=plan.network_check.value == "strict")])]
          if plan.network_check.value != "off" else []),
        Stage("preflight", [PreflightStep(state.facts)]),
        Stage("host preparation", [
            SwapStep(),
            ModulesStep(),
            SysctlStep(values, plan.sysctl_file),
            RuntimeStep(),
            *([OfflineBundleStep()] if plan.offline_bundle else []),  # a plan's offline_bundle (hostprep/offline.py)
            PackagesStep(offline_dir),
        ]),
        Stage("pull images", [ImagePullStep()]),
        Stage("kubeadm config", [KubeadmConfigStep()]),
        Stage("kubeadm init", [KubeadmInitStep(state)]),
        Stage("join control planes", [KubeadmJoinStep(state, control_plane=True)]),
        Stage("join workers", [KubeadmJoinStep(state, control_plane=False)]),
    ]
    if plan.cni.value != "none":
        stages.append(Stage("network add-on", [CniStep()]))
    stages.append(Stage("verify", [VerifyStep(timeout=verify_timeout, state_base=state_base)]))
    return RunPlan(stages)


def reset_run_plan(plan: ClusterPlan) -> RunPlan:
    """``kubeadm reset -f`` and cleanup on every host: workers first, then control planes.
    Destructive: the CLI and the UI ask for confirmation before running it."""
    return RunPlan([
        Stage("reset workers", [KubeadmResetStep(control_planes=False)]),
        Stage("reset control planes", [KubeadmResetStep(control_planes=True)]),
    ])
