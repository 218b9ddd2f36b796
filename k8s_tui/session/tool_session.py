"""The tool's own installer (kubespray, kubeasz, kops) run from the wizard: exactly what
`k8s-tui run-tool` runs (``backends.tool_runs.prepare`` + ``run_tool``), through the app's one
executor factory (``factory.local``: this machine for real, the dry run in the demo or under
--dry-run). No Textual here; the tool-run screen streams the lines it hands out.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..backends.tool_runs import ToolRun, ToolRunResult, prepare, run_tool
from ..model.plan import ClusterPlan, Tool

LineSink = Callable[[str, str], None]  # (stream: stdout | stderr | cmd | info, text)

# where each tool's checkout usually is (kubeasz's ezdown fills /etc/kubeasz; kubespray is cloned
# wherever the person likes, so it is asked for)
DEFAULT_CHECKOUT = {Tool.kubespray: "", Tool.kubeasz: "/etc/kubeasz", Tool.kops: ""}


def needs_checkout(tool: Tool) -> bool:
    return tool in (Tool.kubespray, Tool.kubeasz)


def default_out_dir(plan: ClusterPlan, base: Path | None = None) -> Path:
    """Where the rendered files go: NAME-TOOL in the current folder, as run-tool puts them beside
    the plan."""
    return (base or Path.cwd()) / f"{plan.name}-{plan.tool.value}"


class ToolSession:
    """One run of the plan's tool. ``prepare`` says what is missing (``ToolMissing``, an
    InputError naming what to install) before anything is written."""

    def __init__(self, plan: ClusterPlan, factory: Any, *, checkout: str | None, out_dir: Path,
                 from_step: str = "01") -> None:
        self.plan = plan
        self.factory = factory
        self.checkout = checkout or None
        self.out_dir = out_dir
        self.from_step = from_step
        self.result: ToolRunResult | None = None

    def prepare(self) -> ToolRun:
        return prepare(self.plan, self.plan.tool, checkout=self.checkout, out_dir=self.out_dir, from_step=self.from_step)

    async def run(self, on_line: LineSink) -> ToolRunResult:
        run = self.prepare()
        for note in run.notes + run.rendered.notes:
            on_line("info", f"note: {note}")
        for w in run.writes:
            on_line("info", f"write {w.path}")

        def on_step(step: Any, i: int, n: int) -> None:
            on_line("info", f"== step {i + 1}/{n}: {step.title} (in {step.cwd})")
            on_line("cmd", "$ " + shlex.join(step.argv))

        self.result = await run_tool(run, self.factory.local, on_step=on_step,
                                     on_line=lambda step, stream, text: on_line(stream, text))
        return self.result

    def verdict(self) -> str:
        """One line on how it ended (and how to go on from a failed kubeasz step)."""
        r = self.result
        if r is None:
            return "not run"
        failed = r.failed_step
        if failed is None:
            return f"{self.plan.tool.value}: all {len(r.outcomes)} step(s) finished{self.factory.outcome_note()}"
        more = ""
        if self.plan.tool is Tool.kubeasz:
            more = f"; fix it, then run from step {failed.step.title.split()[0]}"
        return f"{self.plan.tool.value}: {failed.step.title} failed (exit status {failed.exit_status}){more}"
