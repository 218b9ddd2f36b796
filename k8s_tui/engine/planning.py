"""Which steps a plan runs, in which stages: ``plan_steps(plan, scope) -> RunPlan``.

- scope "full" with tool kubeadm: the whole kubeadm path (hostprep/kubeadm_path.py): facts,
  preflight, swap, modules, sysctl, runtime, packages, kubeadm config, init, joins, CNI, verify.
- scope "tuning", or a tool that installs Kubernetes itself (kubespray, kubeasz, kops: those run
  through `k8s-tui run-tool`): facts (kernel version and host name, which the sysctl step needs to
  know which keys this kernel has), then the sysctl stage with the plan's preset and tuning.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..knowledge import KernelVersion
from .runner import RunPlan, Stage
from .steps import Step, StepContext

if TYPE_CHECKING:
    from ..model.plan import ClusterPlan


class FactsLiteStep(Step):
    id = "facts"
    title = "Host facts"
    why = "Read the kernel version and host name: which sysctl keys exist depends on the kernel."
    always_run = True  # later steps need its facts, so a resumed run reads them again
    changes_host = False

    async def apply(self, ctx: StepContext) -> str | None:
        r = await ctx.run(["uname", "-r"], sudo=False)
        release = next((ln.strip() for ln in r.stdout.splitlines() if ln.strip()), "")
        ctx.facts["kernel_release"] = release
        try:
            ctx.facts["kernel"] = KernelVersion.parse(release)
        except ValueError:
            ctx.log(f"cannot tell the kernel version from {release!r}; keys are checked against /proc/sys instead")
        h = await ctx.run(["hostname"], sudo=False)
        hostname = next((ln.strip() for ln in h.stdout.splitlines() if ln.strip()), "")
        ctx.facts["hostname"] = hostname
        if hostname and hostname != ctx.host.name:
            ctx.log(f"the host calls itself {hostname!r}; its Kubernetes node name will be {ctx.host.name!r}")
        ctx.scratch["message"] = f"kernel {release or '?'}, hostname {hostname or '?'}"
        return "ok"


SCOPES = ("full", "tuning")


def plan_steps(plan: ClusterPlan, scope: str = "full", *, state_base: Path | None = None) -> RunPlan:
    from ..hostprep.sysctl import SysctlStep
    from ..hostprep.tuning_values import plan_sysctl_values
    from ..model.plan import Tool

    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; one of {', '.join(SCOPES)}")
    if scope == "full" and plan.tool is Tool.kubeadm:
        from ..hostprep.kubeadm_path import kubeadm_run_plan

        rp = kubeadm_run_plan(plan, state_base=state_base)
        rp.scope = "full"
        return rp
    stages = [Stage("facts", [FactsLiteStep()])]
    values = plan_sysctl_values(plan)
    if values:
        stages.append(Stage("sysctl", [SysctlStep(values, plan.sysctl_file)]))
    return RunPlan(stages, scope="tuning")


def rollback_steps(plan: ClusterPlan, run_id: str) -> RunPlan:
    """Undo what run ``run_id`` changed, newest change first."""
    from ..hostprep.sysctl import SysctlRollback

    return RunPlan([Stage("facts", [FactsLiteStep()]), Stage("sysctl", [SysctlRollback(plan.sysctl_file, run_id)])], scope="rollback")
