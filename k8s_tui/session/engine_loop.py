"""Where a run's engine runs: on its own asyncio loop in a thread, or on the caller's loop.

Output floods are the engine's work (every line is published, journaled and written to its host's
log); on the UI's loop they would make every turn of that loop long, and a key press would wait
several turns before the screen shows it. On its own loop the engine takes turns with the UI for
the interpreter instead (benchmarks/logflood.py measures it). The headless CLI has no UI to keep
quick and runs the engine inline.

Both kinds have one face: ``start(factory)`` (never blocks), ``call(fn, *args)`` (run a control on
the engine's loop; a ``concurrent.futures.Future`` of its result), ``cancel()``, ``await wait()``
(never blocks the caller's loop), ``join(timeout)`` (for the main thread after the UI is gone).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any

Factory = Callable[[], Awaitable[Any]]


def _settle(fut: concurrent.futures.Future, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        fut.set_result(fn(*args))
    except Exception as e:  # a control that raised: whoever called it is told through the future
        fut.set_exception(e)


SWITCH_INTERVAL = 0.001  # seconds the engine's thread may hold the interpreter before the UI's turn
_tuned: set[int] = set()  # ThreadLoops running now
_saved_interval: list[float] = []
_tune_lock = threading.Lock()


def _tune(owner: object) -> None:
    """Tune the interpreter while an engine thread runs (undone by ``_untune``):

    * move every object alive now (the app, its screens, the catalogue) out of the garbage
      collector's view: a flood of output makes many young objects, and without this each full
      collection walks the whole app too and stalls the screen for 100 ms and more;
    * let the engine's thread hold the interpreter for 1 ms at a time instead of 5: every turn of
      the UI's loop (several per key press) waits for the engine to let go."""
    with _tune_lock:
        if not _tuned:
            gc.collect()
            gc.freeze()
            _saved_interval.append(sys.getswitchinterval())
            sys.setswitchinterval(min(SWITCH_INTERVAL, _saved_interval[-1]))
        _tuned.add(id(owner))


def _untune(owner: object) -> None:
    with _tune_lock:
        if id(owner) not in _tuned:
            return
        _tuned.discard(id(owner))
        if not _tuned:
            gc.unfreeze()
            if _saved_interval:
                sys.setswitchinterval(_saved_interval.pop())


class ThreadLoop:
    """The engine on a second asyncio loop, in a daemon thread."""

    def __init__(self, name: str = "k8s-tui-engine") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.task: asyncio.Task | None = None
        self.error: BaseException | None = None
        self.result: Any = None
        self._factory: Factory | None = None
        self._done = threading.Event()

    def start(self, factory: Factory) -> None:
        self._factory = factory
        _tune(self)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            assert self._factory is not None
            self.task = self.loop.create_task(self._factory())
            self.result = self.loop.run_until_complete(self.task)
        except BaseException as e:  # CancelledError included: the session looks at it
            self.error = e
        finally:
            try:
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            finally:
                self.loop.close()
                _untune(self)
                self._done.set()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and not self._done.is_set()

    def call(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        if not self.alive:
            fut.set_result(False)
            return fut
        try:
            self.loop.call_soon_threadsafe(_settle, fut, fn, args)
        except RuntimeError:  # the loop closed in between: the run is over
            fut.set_result(False)
        return fut

    def cancel(self) -> None:
        """Cancel the engine's task (the runner journals the run as interrupted)."""

        def cancel_task() -> None:
            if self.task is not None:
                self.task.cancel()

        if self.alive:
            try:
                self.loop.call_soon_threadsafe(cancel_task)
            except RuntimeError:  # closed in between: nothing left to cancel
                pass

    async def wait(self) -> None:
        """Wait until the engine's thread has ended, without blocking the caller's loop."""
        if self.thread.ident is None:
            return
        await asyncio.to_thread(self._done.wait)

    def join(self, timeout: float | None = None) -> bool:
        """Block until the engine ended (for the main thread once the UI is gone); True if it did."""
        if self.thread.ident is None:
            return True
        return self._done.wait(timeout)


class InlineLoop:
    """The engine as a task on the caller's own loop (the headless CLI, some tests)."""

    def __init__(self) -> None:
        self.task: asyncio.Task | None = None
        self.error: BaseException | None = None
        self.result: Any = None

    def start(self, factory: Factory) -> None:
        async def main() -> None:
            try:
                self.result = await factory()
            except BaseException as e:  # CancelledError included: the session looks at it
                self.error = e

        self.task = asyncio.get_running_loop().create_task(main(), name="k8s-tui-engine")

    @property
    def alive(self) -> bool:
        return self.task is not None and not self.task.done()

    def call(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        _settle(fut, fn, args)
        return fut

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def wait(self) -> None:
        if self.task is not None:
            await asyncio.wait([self.task])

    def join(self, timeout: float | None = None) -> bool:
        return not self.alive
