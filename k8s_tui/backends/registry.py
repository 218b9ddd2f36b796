"""Which backend builds the whole RunPlan (scope "full") of which tool: tool name -> builder.

``engine.planning.plan_steps`` looks a plan's tool up in ``FULL_PATHS``; a tool missing here
(kubespray, kubeasz, kops: their own installers run through ``k8s-tui run-tool``) gets the tuning
scope. Adding a backend's full path is one entry here. Nothing here imports ``engine.planning``:
the one edge between them goes from the engine to the backends, and only when a plan is planned.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..model.plan import Tool
from .kubeadm.path import kubeadm_run_plan

if TYPE_CHECKING:
    from ..engine.runner import RunPlan
    from ..model.plan import ClusterPlan


class FullPathBuilder(Protocol):
    """Builds a tool's whole RunPlan; ``state_base`` is where the run keeps its local files."""

    def __call__(self, plan: ClusterPlan, *, state_base: Path | None = None) -> RunPlan: ...


FULL_PATHS: dict[str, FullPathBuilder] = {
    Tool.kubeadm.value: kubeadm_run_plan,
}
