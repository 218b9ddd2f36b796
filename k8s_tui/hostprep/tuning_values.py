"""Which sysctl values a plan gives its hosts.

``plan_sysctl_values``: the plan's preset resolved for its kube-proxy mode, with the plan's own
tuning on top (what ``k8s-tui render-sysctl plan.yaml`` prints). ``kubeadm_sysctl_values`` puts
the ``kubeadm-minimum`` preset underneath (IPv4 forwarding, which kubeadm's preflight refuses to
start without, and the bridge netfilter keys), so a plan with no tuning still gets a working node;
anything the plan sets wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..knowledge import SysctlValue

if TYPE_CHECKING:
    from ..model.plan import ClusterPlan

KUBEADM_BASE_PRESET = "kubeadm-minimum"


def plan_sysctl_values(plan: ClusterPlan, proxy_mode: str | None = None) -> dict[str, SysctlValue]:
    from ..model.presets import get_preset

    mode = proxy_mode or plan.kube_proxy_mode.value
    if plan.preset:
        return dict(get_preset(plan.preset).resolve(mode).merged(plan.tuning).values)
    return dict(plan.tuning.values)


def kubeadm_sysctl_values(plan: ClusterPlan) -> dict[str, SysctlValue]:
    from ..model.presets import get_preset, load_presets

    values = plan_sysctl_values(plan)
    if KUBEADM_BASE_PRESET not in load_presets():
        return values
    base = dict(get_preset(KUBEADM_BASE_PRESET).resolve(plan.kube_proxy_mode.value).values)
    return {**base, **values}
