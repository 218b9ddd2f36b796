"""The reachability check as the wizard and ``k8s-tui check-network`` run it: an executor from the
one factory, the check on every host at once, the executor closed after (no Textual here)."""

from __future__ import annotations

import logging
from typing import Any

from ..hostprep.reachability import DEFAULT_TIMEOUT, TOOLS, ReachabilityReport, check_reachability
from ..model.plan import ClusterPlan
from .executors import ExecutorFactory, Prompts

log = logging.getLogger(__name__)


async def run_reachability(factory: ExecutorFactory, plan: ClusterPlan, prompts: Prompts | None = None, *,
                           timeout: float = DEFAULT_TIMEOUT, tools: tuple[str, ...] = TOOLS,
                           on_event: Any = None) -> ReachabilityReport:
    """Check every host of ``plan``; raises ValueError when the plan has no hosts."""
    if not plan.hosts:
        raise ValueError("the plan has no hosts to check from")
    executor = factory.make(plan, prompts)
    try:
        return await check_reachability(executor, plan, timeout=timeout, tools=tools,
                                        max_hosts=factory.options.max_concurrent_hosts, on_event=on_event)
    finally:
        try:
            await executor.close()
        except Exception as e:  # a half-dead connection must not hide the results
            log.warning("closing the reachability check's connections: %s", e)
