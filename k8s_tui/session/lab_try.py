"""The tuning step's "Try it": run the lab experiment for one key twice, with the value the user
is looking at and with the kernel default, and hand the timeline to the UI as it happens.

No Textual here. The screen calls ``plan_try`` (every value goes through the lab's own
``parse_request``, so the refusals are the lab's words), then ``TryRun.start()``; a worker thread
runs ``run_request`` side after side and puts every change on a queue; the UI drains the queue on
its own loop (``drain()``) and renders ``TryRun.sides``. Nothing is shared but the queue.

Which sides run: an experiment runs only when the kernel would take at most ``TRY_MAX_S`` (the
lab's own --quick limit, 60 s) for that value; a longer one (tcp_syn_retries=6 takes 127 s) is not
run: the side shows what the knowledge base predicts and the command that watches it in full.

The "current" side is the kernel default on THIS machine's kernel: what a fresh network
namespace starts with, which is exactly what the lab's namespace has when it sets nothing.

Cancelling (the user presses t or Esc again, or leaves the screen) STOPS the experiment: the
next timeline event the worker emits raises ``TryCancelled`` (a BaseException, like Ctrl+C in
``k8s-tui lab``) inside ``run_request``, whose ``finally`` removes the run's namespaces; the
experiments emit an event at least every few seconds (progress lines), so the thread ends soon
after. The thread is not a daemon, so quitting the app waits for that clean-up: no namespace is
left behind. Events of a cancelled run that still arrive are dropped.
"""

from __future__ import annotations

import platform
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from ..knowledge import Catalogue, KernelVersion, format_value
from ..lab import Event, LabError, LabInputError, LabUnavailable, Outcome, parse_request, run_request
from ..lab.runner import QUICK_MAX_S, check_can_run, expected_seconds, predict_request

TRY_MAX_S = QUICK_MAX_S
HERE_NOTE = "runs here, in throwaway network namespaces, not on your hosts"


class TryCancelled(BaseException):
    """Raised inside the worker's emit to stop a run the user no longer watches."""


@dataclass
class TrySide:
    label: str  # "editing", "yours", "preset", "kernel default"
    value: str  # the value as text
    command: str  # `sudo k8s-tui lab KEY=VALUE`
    status: str = "waiting"  # waiting, running, done, refused, not-run, failed, cancelled
    message: str = ""  # why it was refused / not run / failed
    expected_s: float | None = None
    predicted: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    outcome: Outcome | None = None
    request: Any = None  # the LabRequest, when the lab accepted the value

    def progress(self) -> tuple[float, float] | None:
        """(seconds elapsed, estimated total) from the last progress event while it runs."""
        if self.status != "running":
            return None
        for e in reversed(self.events):
            if e.kind == "progress" and "total" in e.data:
                return float(e.data["elapsed"]), float(e.data["total"])
        return (0.0, self.expected_s) if self.expected_s else None


@dataclass
class TryRun:
    key: str
    sides: list[TrySide]
    problem: str = ""  # one line when nothing can run at all (no root, no experiment)
    demo: bool = False
    kernel: KernelVersion | None = None
    _queue: queue.Queue = field(default_factory=queue.Queue, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        return not self.running and all(s.status not in ("waiting", "running") for s in self.sides)

    def start(self) -> None:
        if self.problem or not any(s.status == "waiting" for s in self.sides):
            return
        self._thread = threading.Thread(target=self._work, name=f"try-it {self.key}", daemon=False)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()
        for s in self.sides:
            if s.status in ("waiting", "running"):
                s.status, s.message = "cancelled", "stopped; its namespaces are removed"

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def drain(self) -> bool:
        """Apply what the worker reported since the last call (on the UI's loop); True if anything changed."""
        changed = False
        while True:
            try:
                index, what, payload = self._queue.get_nowait()
            except queue.Empty:
                return changed
            if self._cancel.is_set():
                continue
            changed = True
            side = self.sides[index]
            if what == "event":
                side.events.append(payload)
            elif what == "status":
                side.status, side.message = payload
            elif what == "outcome":
                side.outcome, side.status = payload, "done"

    # ---- the worker thread ------------------------------------------------------------------

    def _work(self) -> None:
        for i, side in enumerate(self.sides):
            if side.status != "waiting" or self._cancel.is_set():
                continue

            def emit(event: Event, i: int = i) -> None:
                if self._cancel.is_set():
                    raise TryCancelled
                self._queue.put((i, "event", event))

            self._queue.put((i, "status", ("running", "")))
            try:
                outcome = run_request(side.request, self.kernel, emit=emit)  # at full length: it is at most TRY_MAX_S
            except TryCancelled:
                return
            except (LabUnavailable, LabInputError) as e:
                self._queue.put((i, "status", ("refused", str(e))))
            except LabError as e:
                self._queue.put((i, "status", ("failed", f"lab failed: {e} (its namespaces were removed)")))
            except Exception as e:  # never let the worker die silently
                self._queue.put((i, "status", ("failed", f"lab failed: {type(e).__name__}: {e}")))
            else:
                self._queue.put((i, "outcome", outcome))


def machine_kernel() -> KernelVersion | None:
    try:
        return KernelVersion.parse(platform.release())
    except ValueError:
        return None


def predicted_for(request, kernel: KernelVersion | None) -> dict[str, Any]:
    """What the knowledge base predicts for a run the Try it does not make (too long): the
    headline numbers, without the per-event schedules."""
    p = predict_request(request, kernel)
    return {k: v for k, v in p.items() if not k.endswith("_times_s")}


def _side(key: str, label: str, value: str, catalogue: Catalogue, kernel: KernelVersion | None) -> TrySide:
    side = TrySide(label, value, f"sudo k8s-tui lab {key}={value}")
    try:
        side.request = parse_request([f"{key}={value}"], catalogue, kernel)
    except LabInputError as e:
        side.status, side.message = "refused", str(e)
        return side
    side.expected_s = expected_seconds(side.request, kernel)
    if side.expected_s > TRY_MAX_S:
        side.status = "not-run"
        side.message = f"not run: would take {side.expected_s:g} s; run `{side.command}` to watch it"
        side.predicted = predicted_for(side.request, kernel)
    return side


def value_to_try(state, key: str, editing: str | None) -> tuple[Any, str]:
    """(the value to try, what it is): the text being edited (checked by the wizard when it can be,
    else as typed, so the lab says what is wrong with it; an empty edit counts as none), the user's
    value, the preset's, or the kernel default."""
    if editing is not None and editing.strip():  # nothing typed yet: try the value the plan has
        chk = state.check_edit(key, editing)
        return (chk.value if chk.ok else editing), "editing"
    if key in state.overrides:
        return state.overrides[key], "yours"
    if key in state.preset_values():
        return state.preset_values()[key], "preset"
    return state.entry(key).default_for(None), "kernel default"


def plan_try(key: str, value: Any, label: str, catalogue: Catalogue, *, demo: bool = False, kernel: KernelVersion | None = None) -> TryRun:
    """The two sides for ``key``: ``value`` (what the user edits, or theirs, or the preset's, named
    by ``label``) and the kernel default; ``problem`` set when nothing can run here at all."""
    kernel = kernel if kernel is not None else machine_kernel()
    text = format_value(value) if not isinstance(value, str) else value
    try:
        entry = catalogue.get(key)
        default = format_value(entry.default_for(kernel))
    except (KeyError, ValueError, TypeError) as e:
        return TryRun(key, [], problem=str(e), demo=demo, kernel=kernel)
    ours = _side(key, label, text, catalogue, kernel)
    base = _side(key, "kernel default", default, catalogue, kernel)
    run = TryRun(key, [ours, base] if text != default else [base], demo=demo, kernel=kernel)  # the same value runs once
    if ours.status == "refused" and base.status == "refused" and ours.message == base.message:
        run.problem, run.sides = ours.message, []  # the key itself (no experiment, global): one line
        return run
    try:
        check_can_run()
    except LabUnavailable as e:
        run.problem = str(e)
    return run


__all__ = ["HERE_NOTE", "TRY_MAX_S", "TryCancelled", "TryRun", "TrySide", "machine_kernel", "plan_try", "value_to_try"]
