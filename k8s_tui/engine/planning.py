"""Which steps a plan runs, in which stages: ``plan_steps(plan, scope) -> RunPlan``.

- scope "full" with a tool that has a full path in ``backends.registry.FULL_PATHS`` (kubeadm: the
  whole kubeadm path, backends/kubeadm/path.py): that backend's RunPlan, e.g. facts, preflight,
  swap, modules, sysctl, runtime, packages, kubeadm config, init, joins, CNI, verify.
- scope "tuning", or a tool that installs Kubernetes itself (kubespray, kubeasz, kops: those run
  through `k8s-tui run-tool`): facts (kernel version and host name, which the sysctl step needs to
  know which keys this kernel has), then the sysctl stage with the plan's preset and tuning.

The tools' full paths are listed in ``backends/registry.py``. The backends import the engine, so
the engine imports that registry only inside ``full_path_for``, when a plan is turned into steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..hostprep.sysctl import SysctlRollback, SysctlStep
from ..hostprep.tuning_values import plan_sysctl_values
from ..knowledge import KernelVersion
from ..model.plan import Tool
from .runner import RunPlan, Stage
from .steps import Step, StepContext, StepResult

if TYPE_CHECKING:
    from ..backends.registry import FullPathBuilder
    from ..model.plan import ClusterPlan


class FactsLiteStep(Step):
    id = "facts"
    title = "Host facts"
    why = "Read the kernel version and host name: which sysctl keys exist depends on the kernel."
    always_run = True  # later steps need its facts, so a resumed run reads them again
    changes_host = False

    async def apply(self, ctx: StepContext) -> StepResult:
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
        return StepResult.ok(f"kernel {release or '?'}, hostname {hostname or '?'}")


SCOPES = ("full", "tuning")


def full_path_for(tool: str) -> FullPathBuilder | None:
    """The builder of ``tool``'s whole RunPlan (a ClusterPlan.tool value), None when it has none."""
    # the backends sit above the engine and import it: loaded here, when a plan is planned
    from ..backends.registry import FULL_PATHS

    return FULL_PATHS.get(tool)


def plan_steps(plan: ClusterPlan, scope: str = "full", *, state_base: Path | None = None) -> RunPlan:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; one of {', '.join(SCOPES)}")
    builder = full_path_for(Tool(plan.tool).value) if scope == "full" else None
    if builder is not None:
        rp = builder(plan, state_base=state_base)
        rp.scope = "full"
        return rp
    stages = [Stage("facts", [FactsLiteStep()])]
    values = plan_sysctl_values(plan)
    if values:
        stages.append(Stage("sysctl", [SysctlStep(values, plan.sysctl_file)]))
    return RunPlan(stages, scope="tuning")


def rollback_steps(plan: ClusterPlan, run_id: str | list[str]) -> RunPlan:
    """Undo what run ``run_id`` changed (or a chain of runs, oldest first: journal.run_chain), newest change first."""
    return RunPlan([Stage("facts", [FactsLiteStep()]), Stage("sysctl", [SysctlRollback(plan.sysctl_file, run_id)])], scope="rollback")
