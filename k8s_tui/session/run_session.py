"""A run, as one object with one set of rules: ``RunSession``.

It owns what a run is made of: the plan and its steps, the executor (from the one
``ExecutorFactory``), the ``Runner``, where the engine runs (its own thread for the TUI, the
caller's loop for the headless CLI), the run model the front ends read, the controls (retry, skip,
abort, cancel, finish) and the prompts (host key, sudo password). The TUI and ``k8s-tui apply``
both drive it; neither builds a runner or an executor of its own.

Before anything changes, a run that touches hosts takes the plan's lock on this machine and each
host's lock (engine/locks.py; the factory decides: a dry run takes none), and gives them back
however it ends; a second run of the same plan or on the same hosts is refused with the holder
named (``LockHeld``).

A dry run is recorded like any run (journal, per-host logs, meta.json with ``dry_run: true``), and
what its steps would leave on this machine (the kubeconfig) goes into that record too: a dry run
writes nothing outside its own run record.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.events import EventBus, RunFinished, SubscriberFailed
from ..engine.journal import done_steps, new_run_id
from ..engine.planning import plan_steps
from ..engine.run_state import RunState
from ..engine.runner import Runner, RunPlan
from ..engine.state import run_dir
from .engine_loop import InlineLoop, ThreadLoop
from .executors import ExecutorFactory, Prompts

if TYPE_CHECKING:
    from ..engine.executor import Executor
    from ..model.plan import ClusterPlan


def _done_before(resume_from: str | None, state_base: Path | None) -> dict | None:
    """The steps the resumed run finished (the runner itself says so when the run is unreadable)."""
    if not resume_from:
        return None
    try:
        return done_steps(resume_from, state_base)
    except (FileNotFoundError, ValueError, OSError):
        return None


class RunSession:
    def __init__(
        self,
        plan: ClusterPlan,
        factory: ExecutorFactory,
        *,
        scope: str = "full",
        run_plan: RunPlan | None = None,
        prompts: Prompts | None = None,
        state_base: Path | None = None,
        resume_from: str | None = None,
        plan_text: str | None = None,
        wait_at_end: bool = False,
        executor: Executor | None = None,
        run_id: str | None = None,
        break_lock: bool = False,
    ) -> None:
        self.plan = plan
        self.factory = factory
        self.dry_run = factory.dry_run
        self.run_id = run_id or new_run_id()
        self.state_base = state_base
        self.record = run_dir(self.run_id, state_base)
        if run_plan is None:
            # a dry run's local leftovers (the kubeconfig) stay inside its own run record
            run_plan = plan_steps(plan, scope, state_base=factory.local_base(self.record, state_base))
        if executor is None:
            executor = factory.make(plan, prompts, done=_done_before(resume_from, state_base))
        self.executor = executor
        # taken before the run changes anything, released when it ends however it ends
        self.locks = factory.locks(plan.name, self.run_id, state_base=state_base, break_lock=break_lock)
        self.runner = Runner(
            plan, run_plan, self.executor,
            options=factory.options, run_id=self.run_id, state_base=state_base, resume_from=resume_from,
            plan_text=plan_text, wait_at_end=wait_at_end, meta=factory.record_meta(),
            host_locks=self.locks.for_hosts(self.executor),
        )
        # the model a front end on another thread reads; it applies the events itself (see
        # widgets/run_bridge.py); the runner's own copy (runner.state) lives on the engine's loop
        self.model = RunState([h.name for h in self.runner.hosts])
        self.loop: ThreadLoop | InlineLoop | None = None

    # -- what it is made of --------------------------------------------------------------------

    @property
    def bus(self) -> EventBus:
        return self.runner.bus

    @property
    def hosts(self) -> list[str]:
        return [h.name for h in self.runner.hosts]

    @property
    def run_plan(self) -> RunPlan:
        return self.runner.run_plan

    @property
    def journal_dir(self) -> Path | None:
        j = self.runner.journal
        return j.dir if j is not None else None

    def host_log_path(self, host: str) -> Path | None:
        j = self.runner.journal
        return j.host_log_path(host) if j is not None else None

    @property
    def result(self) -> RunFinished | None:
        return self.runner.result

    @property
    def failures(self) -> list[SubscriberFailed]:
        """Consumers of the run's events that broke (the journal, a log), in order."""
        return list(self.runner.failures)

    @property
    def error(self) -> BaseException | None:
        """Why the engine ended without a result (the run could not start, or a bug)."""
        if self.loop is None or isinstance(self.loop.error, asyncio.CancelledError):
            return None
        return self.loop.error

    @property
    def active(self) -> bool:
        return self.loop is not None and self.loop.alive

    # -- running it ----------------------------------------------------------------------------

    async def _main(self) -> RunFinished:
        try:
            try:
                # the plan's lock here (refused: LockHeld, before anything runs); each host's is
                # taken by the runner before that host's first step
                await self.locks.acquire()
                return await self.runner.run()
            finally:  # finished, failed, ^C, SIGTERM, or cut short while taking the locks
                await self.locks.release()
        finally:
            await self.executor.close()

    def start(self, *, thread: bool = True) -> None:
        """Start the run without waiting for it: on its own thread (the TUI) or as a task on the
        caller's loop."""
        if self.loop is not None:
            raise RuntimeError("a session runs once")
        self.loop = ThreadLoop() if thread else InlineLoop()
        self.loop.start(self._main)

    async def run(self) -> RunFinished:
        """Run inline to the end (the headless CLI); the result, or the error that stopped it."""
        self.loop = InlineLoop()
        self.loop.start(self._main)
        await self.loop.wait()
        if self.loop.error is not None:
            raise self.loop.error
        return self.loop.result

    async def wait(self) -> None:
        """Wait, without blocking the caller's loop, until the engine has ended."""
        if self.loop is not None:
            await self.loop.wait()

    def join(self, timeout: float | None = None) -> bool:
        """Block until the engine ended (the main thread, once the UI is gone); True if it did."""
        return self.loop is None or self.loop.join(timeout)

    # -- controls: safe from any thread; each answers through a Future -----------------------

    def _call(self, fn: Any, *args: Any) -> concurrent.futures.Future:
        if self.loop is None:
            fut: concurrent.futures.Future = concurrent.futures.Future()
            fut.set_result(False)
            return fut
        return self.loop.call(fn, *args)

    def retry(self, host: str, step_id: str) -> concurrent.futures.Future:
        return self._call(self.runner.retry, host, step_id)

    def skip_host(self, host: str) -> concurrent.futures.Future:
        return self._call(self.runner.skip_host, host)

    def abort(self) -> concurrent.futures.Future:
        return self._call(self.runner.abort)

    def cancel(self) -> concurrent.futures.Future:
        return self._call(self.runner.cancel)

    def finish(self) -> concurrent.futures.Future:
        return self._call(self.runner.finish)

    def stop(self) -> None:
        """Cancel the engine's task itself (leaving the app): the run ends as interrupted."""
        if self.loop is not None:
            self.loop.cancel()
