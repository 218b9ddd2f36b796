"""Step 5: the live run. A host x step grid, overall progress, a live log per host and one for all.

The screen only shows what the engine says and calls the runner's controls: a ``RunBridge`` turns
the run's events into a view model and bounded line stores, a timer flushes new lines into the
visible log every 80 ms, and the keys call ``retry``, ``skip_host``, ``abort``, ``cancel`` and
``finish`` on the runner. The runner waits at its end while a host has failed, so a failure can
still be retried; ``n`` ends the run there and opens the summary.

The runner runs on its own event loop in a thread (``EngineThread``): a flood of output keeps
that loop busy, not the UI's, so keys stay quick (benchmarks/logflood.py measures it). The
controls are called on the engine's loop; prompts the SSH executor needs come back to the UI.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.actions import SkipAction
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, ProgressBar, Static, TabbedContent, TabPane

from ..widgets.dialogs import Confirm
from ..widgets.host_grid import LEGEND, HostGrid, cell_text, fmt_duration
from ..widgets.host_log import HostLogView, LogSettings, short_path
from ..widgets.run_bridge import DEFAULT_MAX_LINES, EngineThread, InlineEngine, RunBridge, RunModel
from ..widgets.run_bridge import monotonic as cell_clock
from .base import WizardScreen
from .state import STEPS

if TYPE_CHECKING:
    from ..engine.executor import Executor
    from ..engine.runner import Runner, RunPlan
    from ..model.plan import ClusterPlan

FLUSH_INTERVAL = 0.08  # seconds between log flushes (the brief: 50-100 ms)
RUN_STEPS = [("run", "Run"), ("summary", "Summary")]


def run_crumbs(current: str, *, demo: bool = False, compact: bool = False, extra: str = "") -> Content:
    """The header line of the run and summary screens: the wizard's steps (done), then Run and
    Summary with the current one marked. Steps 1-4 are not links here: a run is not undone by
    going back. ``compact`` (narrow terminals) keeps only the numbers of the steps not current."""
    parts: list[Content | str | tuple[str, str]] = [(" k8s-tui ", "bold reverse"), " "]
    all_steps = [*STEPS, *RUN_STEPS]
    for i, (step, title) in enumerate(all_steps, 1):
        if i > 1:
            parts.append(" > ")
        label = f"{i} {title}"
        if step == current:
            parts.append((f"[{label}]", "bold $accent"))
        elif i <= len(STEPS):
            parts.append((str(i) if compact else label, "$text-muted"))
        else:
            parts.append(str(i) if compact else label)
    if demo:
        parts.append(("  demo" if compact else "   demo (dry run)", "italic"))
    if extra:
        parts.append(("   " + extra, "$text-muted"))
    return Content.assemble(*parts)


class CrumbLine(Static):
    """The header line, fitted to the width: the long form when it fits, else the compact one."""

    DEFAULT_CSS = "CrumbLine { height: 1; width: 1fr; background: $panel; }"

    def __init__(self, current: str, *, demo: bool = False, extra: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.current = current
        self.demo = demo
        self.extra = extra

    def render(self) -> Content:
        w = self.size.width or 80
        for compact, extra in ((False, self.extra), (True, self.extra), (False, ""), (True, "")):
            c = run_crumbs(self.current, demo=self.demo, compact=compact, extra=extra)
            if c.cell_length <= w:
                return c
        return run_crumbs(self.current, demo=self.demo, compact=True)


def build_runner(plan: ClusterPlan, executor: Executor, *, run_plan: RunPlan | None = None, scope: str = "full",
                 run_id: str | None = None, state_base: Path | None = None, **kw: Any) -> Runner:
    """A runner for the run screen: the plan's steps, waiting at its end while a host has failed
    (so the screen can still retry it)."""
    from ..engine.planning import plan_steps
    from ..engine.runner import Runner

    if run_plan is None:
        run_plan = plan_steps(plan, scope, state_base=state_base)
    return Runner(plan, run_plan, executor, run_id=run_id, state_base=state_base, wait_at_end=True, **kw)


def demo_executor(speed: float = 1.0) -> Executor:
    """The dry-run executor that also plays the kubeadm path (nothing anywhere changes)."""
    from ..hostprep.dryrun_kubeadm import KubeadmDryRunExecutor

    return KubeadmDryRunExecutor(speed=speed)


# ------------------------------------------------------------------------------ starting a run


async def ask(app: Any, screen: Any) -> Any:
    """Push a modal on the app and wait for its answer, from the engine's loop (its own thread,
    or the app's loop in a worker; never from a message handler of the app, which would block the
    keys the modal needs)."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def answer(result: Any) -> None:
        loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(result))

    if threading.get_ident() == app._thread_id:
        app.push_screen(screen, answer)
    else:
        app.call_from_thread(app.push_screen, screen, answer)
    return await fut


class SecretPrompt(ModalScreen[str | None]):
    """Ask for a secret (a sudo password, a key passphrase); it stays in memory only."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    SecretPrompt { align: center middle; }
    SecretPrompt > Vertical { width: 64; max-width: 100%; height: auto; border: round $warning; background: $surface; padding: 0 1; }
    """

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.styled(self.prompt, "bold"))
            yield Static(Content.styled("kept in memory for this run only; never written anywhere", "$text-muted"))
            yield Input(password=True, compact=True, id="secret")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


def ui_ssh_executor(app: Any) -> Executor:
    """The SSH executor with its questions asked in the UI: an unknown host key shows its
    fingerprint first (trust on first use only when you say so), a sudo password is asked once."""
    from ..engine.executor import ExecOptions, HostKeyInfo
    from ..engine.ssh import SshExecutor

    async def host_key(info: HostKeyInfo) -> bool:
        return bool(await ask(app, Confirm(
            f"{info.host} ({info.address} port {info.port}) presents a {info.key_type} key that is not in "
            f"known_hosts:\n  {info.fingerprint}\nCompare it with the host's own (ssh-keygen -lf on the host). "
            "Trust it and add it to known_hosts?")))

    async def secret(prompt: str) -> str | None:
        return await ask(app, SecretPrompt(prompt))

    return SshExecutor(ExecOptions(), host_key_prompt=host_key, secret_prompt=secret)


def start_run(app: Any, scope: str = "full") -> RunScreen | None:
    """Build the run of the wizard's plan and show it: in the demo a dry run on made-up hosts
    (its journal in a temporary folder; ``K8S_TUI_DEMO_SPEED`` scales its pauses, 0 = none),
    otherwise over SSH (or the app's executor factory)."""
    from ..yamlio import InputError

    try:
        plan = app.state.to_plan()
    except InputError as e:
        app.notify(f"cannot run yet: {e}", severity="error", timeout=8)
        return None
    demo = bool(app.state.demo)
    state_base = None
    if demo:
        executor = demo_executor(float(os.environ.get("K8S_TUI_DEMO_SPEED", "1")))
        state_base = Path(tempfile.mkdtemp(prefix="k8s-tui-demo-"))
    elif app.executor_factory is not None:
        executor = app.executor_factory(plan)
    else:
        executor = ui_ssh_executor(app)
    runner = build_runner(plan, executor, scope=scope, state_base=state_base)
    screen = RunScreen(runner, demo=demo)
    app.push_screen(screen)
    return screen


def confirm_run(app: Any, scope: str = "full") -> None:
    """Ask, then start the run (the review screen's r)."""
    from ..engine.planning import plan_steps
    from ..yamlio import InputError

    try:
        plan = app.state.to_plan()
    except InputError as e:
        app.notify(f"cannot run yet: {e}", severity="error", timeout=8)
        return
    if not plan.hosts:
        app.notify("no hosts: add some in step 2", severity="error")
        return
    steps = [s.id for s in plan_steps(plan, scope).steps()]
    what = (f"Run {len(steps)} steps ({', '.join(steps)}) on {len(plan.hosts)} hosts at once?")
    where = ("Demo: a dry run on made-up hosts; nothing anywhere changes."
             if app.state.demo else "Over SSH, as the plan says. Every host's full log is kept on disk; "
             "Ctrl+C stops the run and `k8s-tui resume` continues it later.")
    app.push_screen(Confirm(f"{what}\n{where}"), lambda yes: start_run(app, scope) if yes else None)


def confirm_quit(app: Any) -> bool:
    """Ctrl+Q while a run goes: ask, cancel the run cleanly, then quit. False when no run goes."""
    screen = next((s for s in reversed(app.screen_stack) if isinstance(s, RunScreen) and s.model.active), None)
    if screen is None:
        return False
    if isinstance(app.screen, ModalScreen):
        return True

    def done(yes: bool | None) -> None:
        if yes:
            screen.cancel_then(app.exit)

    app.push_screen(Confirm("A run is going. Quit? The run is cancelled first: running steps are stopped and "
                            f"`k8s-tui resume {screen.runner.run_id}` continues it later."), done)
    return True


class StartRunCommands(Provider):
    """Starting a run, from the command palette of any wizard screen."""

    def commands(self) -> Iterator[tuple[str, Any, str]]:
        if isinstance(self.screen, RunScreen) or not hasattr(self.app, "state"):
            return
        yield ("Run: start the run (step 5)", partial(confirm_run, self.app, "full"),
               "everything the plan's tool does here; asks first")
        yield ("Run: tuning only (facts and sysctl)", partial(confirm_run, self.app, "tuning"),
               "only the kernel settings; asks first")

    async def discover(self) -> Hits:
        for name, cb, help_text in self.commands():
            yield DiscoveryHit(name, cb, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, cb, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), cb, help=help_text)


class RunCommands(Provider):
    """The run screen's actions in the command palette."""

    def commands(self) -> Iterator[tuple[str, Any, str]]:
        screen = self.screen
        if not isinstance(screen, RunScreen):
            return
        for name, action, help_text in (
            ("Run: retry the failed step", "retry", "r: the selected (or only) failed host"),
            ("Run: skip a host", "skip_host", "s: its remaining steps are skipped, the others go on"),
            ("Run: abort", "abort", "a: start nothing new; running steps finish"),
            ("Run: cancel now (Ctrl+C)", "cancel_run", "stop running steps; resume later"),
            ("Run: finish and show the summary", "finish", "n"),
            ("Log: filter lines", "filter", "/"),
            ("Log: wrap long lines on/off", "toggle_wrap", "w"),
            ("Log: timestamps on/off", "toggle_timestamps", "t"),
            ("Log: follow new lines", "follow", "f or End"),
            ("Log: mark (a separator line)", "mark", "m"),
            ("Log: save the visible log to a file", "save_log", "ctrl+s, mode 0600"),
            ("Log: all hosts", "all_hosts", "0"),
        ):
            yield name, partial(screen.run_action, action), help_text

    async def discover(self) -> Hits:
        for name, cb, help_text in self.commands():
            yield DiscoveryHit(name, cb, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, cb, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), cb, help=help_text)


class RunScreen(WizardScreen):
    STEP = ""  # not one of the wizard's back/next steps
    TITLE = "5 Run"
    HELP_TEXT = (
        "The run, live: a row per host, a column per step (" + LEGEND + "). Up/down picks a host and "
        "shows its log; 0 shows all hosts. The log follows new lines until you scroll up; End or f "
        "follows again. When a host fails, its error and a hint show above the logs: retry the step, "
        "skip the host (the others go on), or abort. Ctrl+C asks, then stops the run; the journal "
        "says where `k8s-tui resume` picks up. Lines kept on screen are capped; the full log of each "
        "host is on disk (its path is on the log's status line)."
    )
    COMMANDS = {RunCommands}
    BINDINGS = [
        Binding("r", "retry", "Retry", priority=True, tooltip="run the failed step of the selected (or only) failed host again"),
        Binding("s", "skip_host", "Skip", priority=True, tooltip="give up on a host: its remaining steps are skipped, the others go on"),
        Binding("a", "abort", "Abort", priority=True, tooltip="start nothing new; running steps finish; asks first"),
        Binding("n", "finish", "Finish", priority=True, tooltip="end the run (when it waits on a failed host) and show the summary"),
        Binding("ctrl+c", "cancel_run", "Cancel", priority=True, tooltip="stop the run now (asks first); resume later"),
        Binding("slash", "filter", "Filter", priority=True, tooltip="show only the log lines holding a text"),
        Binding("w", "toggle_wrap", "Wrap", show=False, priority=True, tooltip="wrap long log lines on/off"),
        Binding("t", "toggle_timestamps", "Time", show=False, priority=True, tooltip="show when each line arrived, on/off"),
        Binding("f", "follow", "Follow", priority=True, tooltip="follow new lines again (End does too)"),
        Binding("m", "mark", "Mark", show=False, priority=True, tooltip="draw a separator line in the log, then follow"),
        Binding("ctrl+s", "save_log", "Save log", show=False, priority=True, tooltip="save the visible log to a file (mode 0600)"),
        Binding("0", "all_hosts", "All hosts", show=False, priority=True, tooltip="the all-hosts log"),
        Binding("left_square_bracket", "next_tab(-1)", "Prev log", show=False, priority=True, tooltip="the previous host's log"),
        Binding("right_square_bracket", "next_tab(1)", "Next log", show=False, priority=True, tooltip="the next host's log"),
        Binding("pageup", "log_page(-1)", "Log up", show=False, priority=True, tooltip="scroll the log up a page (pauses follow)"),
        Binding("pagedown", "log_page(1)", "Log down", show=False, priority=True, tooltip="scroll the log down a page"),
        Binding("home", "log_home", "Log top", show=False, priority=True, tooltip="the oldest line kept (pauses follow)"),
        Binding("end", "follow", "Log end", show=False, priority=True, tooltip="the newest line, and follow"),
        Binding("escape", "escape", "Close filter", show=False, tooltip="close the filter box (clears it)"),
        # the focused widget's own movement keys, taken here so every key is handled in the order typed
        *(Binding(k, f"nav('{k}')", k, show=False, priority=True) for k in ("up", "down", "left", "right")),
    ]
    EXTRA_KEYS = [
        ("up / down (grid)", "pick a host: its log shows below"),
        ("left / right (grid)", "pick a step: its status and message show under the grid"),
        ("tab", "move between the grid, the log tabs and the log"),
    ]

    def __init__(self, runner: Runner | Any, *, demo: bool = False, max_lines: int = DEFAULT_MAX_LINES,
                 close_executor: bool = True, autostart: bool = True, flush_interval: float = FLUSH_INTERVAL,
                 engine_thread: bool = True) -> None:
        super().__init__()
        self.engine_thread = engine_thread
        self.engine: EngineThread | InlineEngine | None = None
        self._model_version = -1
        self.runner = runner
        self.demo = demo
        self.close_executor = close_executor
        self.autostart = autostart
        self.flush_interval = flush_interval
        self.hosts = [h.name for h in runner.hosts]
        self.bridge = RunBridge(runner.bus, self, self.hosts, max_lines=max_lines)
        self.settings = LogSettings(host_width=min(16, max([4, *(len(h) for h in self.hosts)])))
        self.pane_ids = {h: f"log-{i}" for i, h in enumerate(self.hosts)}
        self.pane_hosts: dict[str, str | None] = {"log-all": None, **{v: k for k, v in self.pane_ids.items()}}
        self.settings_version = 0
        self.view_versions: dict[str, int] = {}
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.cancelling = False
        self.summary_shown = False
        self.error: str | None = None
        self._syncing_cursor = False
        self._cursor_host: str | None = None
        self._labels: dict[str, str] = {}
        self._shown: dict[str, Content] = {}
        self._bar: tuple[int, int] = (0, 0)
        self._keys_state: tuple[bool, bool, bool] | None = None
        self._after_run: list[Any] = []  # called once the run has ended (quit after a cancel)
        self.flushes = 0

    @property
    def model(self) -> RunModel:
        return self.bridge.model

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield CrumbLine("run", demo=self.demo, extra=f"run {getattr(self.runner, 'run_id', '')}", id="run-crumbs")
        with Horizontal(id="run-top"):
            yield Static(id="run-status")
            yield ProgressBar(id="run-progress", show_eta=False, total=None)
        yield HostGrid(self.model, id="run-grid")
        yield Static(id="cell-detail")
        yield Static(id="failure")
        with TabbedContent(id="run-logs", initial="log-all"):
            with TabPane("All hosts", id="log-all"):
                yield HostLogView(self.bridge, None, self.settings, log_path=self._log_dir, id="view-all")
            for h in self.hosts:
                yield TabPane(self._tab_label(h), id=self.pane_ids[h])
        yield Footer(compact=True)


    def on_mount(self) -> None:
        self.set_interval(self.flush_interval, self.flush, name="log-flush")
        self.set_interval(1.0, self.tick, name="run-clock")
        self.query_one(HostGrid).focus()
        self.refresh_status()
        if self.autostart:
            self.start()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "-narrow")
        self.set_class(self.size.height < 30, "-short")
        self.refresh_failure()

    def start(self) -> None:
        """Start the run: on the engine's own thread (``engine_thread``) or on this loop."""
        self.started_at = monotonic()
        _freeze_gc(self)
        self.engine = EngineThread() if self.engine_thread else InlineEngine(self)
        self.engine.start(self._engine_main)
        self.run_worker(self._watch_engine(), name="run", group="run", exit_on_error=False)

    async def _engine_main(self) -> Any:
        """The run itself (on the engine's loop)."""
        try:
            return await self.runner.run()
        finally:
            ex = getattr(self.runner, "executor", None)
            if self.close_executor and ex is not None and hasattr(ex, "close"):
                await ex.close()

    async def _watch_engine(self) -> None:
        try:
            await self.engine.wait()
        except Exception:
            pass
        err = self.engine.error
        if err is not None and not isinstance(err, asyncio.CancelledError):
            self.error = f"{type(err).__name__}: {err}"  # RunnerError (a resume of another plan, ...), or a bug
            self.notify(f"the run could not go on: {err}", severity="error", timeout=15)
        self.flush()
        self.refresh_status()

    def control(self, fn: Any, *args: Any, then: Any = None) -> bool:
        """Call one of the runner's controls where the runner runs."""
        if self.engine is None:
            return False
        return self.engine.call(fn, *args, then=then)

    def on_unmount(self) -> None:
        if self.engine is not None and self.engine.alive:
            self.engine.cancel()  # leaving the app mid-run: the run ends as interrupted, journaled
            self.engine.join(10)
        _thaw_gc(self)
        self.bridge.close()

    # -- helpers -----------------------------------------------------------------------------

    def _log_dir(self) -> Path | None:
        j = getattr(self.runner, "journal", None)
        return j.dir if j is not None else None

    def host_log_path(self, host: str) -> Path | None:
        j = getattr(self.runner, "journal", None)
        return j.host_log_path(host) if j is not None else None

    def _tab_label(self, host: str) -> Content:
        badge = self.model.badge(host)
        style = {"FAIL": "bold $error", "LOST": "bold $error", "STOP": "bold $error", "run": "bold $primary",
                 "ok": "$success", "chg": "$accent", "part": "$accent"}.get(badge, "$text-muted")
        return Content.assemble(host, " ", (badge, style))

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#run-logs", TabbedContent)

    @property
    def grid(self) -> HostGrid:
        return self.query_one(HostGrid)

    def active_view(self) -> HostLogView | None:
        pane = self.tabs.active_pane
        if pane is None:
            return None
        views = pane.query(HostLogView)
        return views.first() if views else None

    def visible_host(self) -> str | None:
        return self.pane_hosts.get(self.tabs.active or "log-all")

    # -- the timers --------------------------------------------------------------------------

    def flush(self) -> None:
        """Move what arrived into the model and the stores; show status changes, and the new
        lines in the visible log (one batch)."""
        self.bridge.drain()
        self.flushes += 1
        if self.model.version != self._model_version:
            self._model_version = self.model.version
            self.show_status()
        view = self.active_view()
        if view is not None and view.is_mounted:
            view.sync()

    def tick(self) -> None:
        if self.model.active:
            self.refresh_status()

    # -- status from the engine --------------------------------------------------------------

    @on(RunBridge.StatusChanged)
    def on_status(self) -> None:
        self.bridge.status_seen()  # first: a change from now on posts again
        self.flush()

    def show_status(self) -> None:
        m = self.model
        grid = self.grid
        if m.columns_changed:
            m.columns_changed = False
            cursor = grid.cursor_coordinate
            grid.rebuild()
            if grid.row_count:
                grid.cursor_coordinate = cursor
        else:
            for h in m.changed_hosts:
                grid.update_host(h)
        tabs = self.tabs
        for h in m.changed_hosts:
            label = self._tab_label(h)
            if self._labels.get(h) != label.plain:
                self._labels[h] = label.plain
                try:
                    tabs.get_tab(self.pane_ids[h]).label = label
                except Exception:
                    pass
        m.changed_hosts.clear()
        self.refresh_status()
        keys = (m.active, bool(m.failed_hosts()), self.waiting())
        if keys != self._keys_state:  # r, s, n come and go in the footer
            self._keys_state = keys
            self.refresh_bindings()

    @on(RunBridge.Finished)
    def on_finished(self, event: RunBridge.Finished) -> None:
        self.ended_at = monotonic()
        _thaw_gc(self)
        self.flush()
        if self._after_run:
            callbacks, self._after_run = self._after_run, []
            for f in callbacks:
                f()
            return
        self.refresh_bindings()
        what = {"finished": "finished", "aborted": "aborted", "interrupted": "interrupted (cancelled)"}.get(event.result.status, event.result.status)
        self.notify(f"run {event.result.run_id} {what}", timeout=4)
        if self.is_current:
            self.call_after_refresh(self.show_summary)

    def on_screen_resume(self) -> None:
        if not self.model.active and self.model.result is not None and not self.summary_shown:
            self.call_after_refresh(self.show_summary)

    def show_summary(self) -> None:
        if self.summary_shown or self.model.result is None or not self.is_current:
            return
        from .summary import SummaryScreen

        self.summary_shown = True
        self.app.push_screen(SummaryScreen(self.runner, self.model, demo=self.demo, log_dir=self._log_dir()))

    def waiting(self) -> bool:
        """The run waits at its end for a failed host (retry, skip, or n to finish)."""
        m = self.model
        if not m.active or not m.failed_hosts():
            return False
        return all(m.host_state.get(h) in ("done", "failed", "lost", "skipped") for h in m.hosts)

    def refresh_status(self) -> None:
        m = self.model
        done, total = m.progress()
        counts = m.counts()
        now = self.ended_at if self.ended_at is not None else monotonic()
        elapsed = fmt_duration(now - self.started_at) if self.started_at is not None else "-"
        parts: list[Content | str | tuple[str, str]] = [(f"{done}/{total}", "bold"), " steps"]
        failed = counts.get("failed", 0)
        if failed:
            parts.append(("  " + f"{failed} failed", "bold $error"))
        parts.append(f"  {elapsed}  ")
        if self.error:
            parts.append(("stopped: " + self.error, "bold $error"))
        elif self.cancelling and m.active:
            parts.append(("cancelling: stopping the running steps", "bold $warning"))
        elif m.status == "starting":
            parts.append("starting")
        elif m.active:
            if self.waiting():
                parts.append(("waiting: r retry, s skip, n finish", "bold $warning"))
            else:
                busy = sum(1 for h in m.hosts if m.host_state.get(h) == "running")
                parts.append(f"running on {busy} of {len(m.hosts)} hosts")
        else:
            style = "bold $success" if m.status == "finished" and not m.failed_hosts() else "bold $warning"
            parts.append((m.status, style))
        self._set("#run-status", Content.assemble(*parts))
        if total and self._bar != (done, total):
            self._bar = (done, total)
            self.query_one("#run-progress", ProgressBar).update(total=total, progress=done)
        self.refresh_failure()
        self.refresh_detail()

    def _set(self, selector: str, content: Content, *, layout: bool = False) -> None:
        """Update a one-line Static when its content changed (no layout: its size stays)."""
        if self._shown.get(selector) != content:
            self._shown[selector] = content
            self.query_one(selector, Static).update(content, layout=layout)

    def focus_failed_host(self) -> str | None:
        """The host the failure panel and r / s talk about: the selected host if it failed, else
        the only failed host."""
        failed = self.model.failed_hosts()
        sel = self.grid.selected_host if self.is_mounted else None
        if sel in failed:
            return sel
        if len(failed) == 1:
            return failed[0]
        return None

    def refresh_failure(self) -> None:
        m = self.model
        panel = self.query_one("#failure", Static)
        failed = m.failed_hosts()
        if not failed:
            panel.remove_class("-shown")
            return
        host = self.focus_failed_host()
        lines: list[Content] = []
        if host is None:
            lines.append(Content.assemble((f"{len(failed)} hosts failed: ", "bold $error"), ", ".join(failed)))
            lines.append(Content("Select one in the grid (up/down) to see its error, then r retry or s skip it."))
        else:
            step = m.failed_step(host) or "?"
            c = m.cell(host, step)
            what = "LOST" if m.host_state.get(host) == "lost" else ("STOPPED" if c is not None and c.interrupted else "FAILED")
            attempt = f" (attempt {c.attempt})" if c is not None and c.attempt > 1 else ""
            msg = (c.message if c is not None else "") or m.lost.get(host, "")
            head = f"{what} {host} at {step}{attempt}: "
            width = max(20, (self.size.width or self.app.size.width) - 3)  # the panel spans the screen
            lines.append(Content.assemble((f"{what} {host}", "bold $error"), f" at {step}{attempt}: ",
                                          _fit(msg, 2 * width - len(head) - width // 5)))
            if c is not None and c.hint:
                lines.append(Content.assemble(("hint: ", "bold $warning"), _fit(c.hint, 2 * width - 6 - width // 5)))
            more = f"  ({len(failed) - 1} other host(s) failed)" if len(failed) > 1 else ""
            if m.active and self.size.height >= 30:
                lines.append(Content.assemble(("r", "bold $accent"), " retry  ", ("s", "bold $accent"), " skip this host  ",
                                              ("a", "bold $accent"), " abort  ", ("n", "bold $accent"), " finish" + more))
        self._set("#failure", Content("\n").join(lines), layout=True)
        panel.add_class("-shown")

    def refresh_detail(self) -> None:
        if not self.is_mounted:
            return
        grid = self.grid
        host, step = grid.selected_host, grid.selected_step
        if host is None:
            self._set("#cell-detail", Content(LEGEND))
            return
        if step is None:
            m = self.model
            mine = [c for (h, _), c in m.cells.items() if h == host]
            finished = sum(1 for c in mine if c.status not in ("pending", "running"))
            self._set("#cell-detail", Content.assemble((host, "bold"), f": {m.host_state.get(host, '?')}, {finished} of {len(mine)} steps finished"
                                      "  (left/right: a step's status and message)"))
            return
        col = self.model.step(step)
        c = self.model.cell(host, step)
        title = col.title if col else step
        if c is None:
            self._set("#cell-detail", Content.assemble((host, "bold"), f" / {title}: does not run on this host"))
            return
        text, _ = cell_text(c, monotonic())
        status = {"pending": "pending", "running": "running"}.get(c.status, c.status)
        extra = f" {text.split(' ', 1)[1]}" if c.status not in ("pending", "skipped", "running") and " " in text else ""
        if c.status == "running":
            extra = f" for {fmt_duration(max(0.0, cell_clock() - c.started))}"
            if c.attempt > 1:
                extra += f" (attempt {c.attempt})"
        msg = f": {c.message}" if c.message else (f": {col.why}" if col and c.status == "pending" else "")
        self._set("#cell-detail", Content.assemble((host, "bold"), f" / {title}: ", (status + extra, "bold"), msg))

    # -- grid and tabs -----------------------------------------------------------------------

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        self.refresh_detail()
        self.refresh_failure()
        host = self.grid.selected_host
        moved = self._cursor_host is not None and host != self._cursor_host
        self._cursor_host = host
        # only a move to another host row by the person switches the log (not the first highlight)
        if not moved or self._syncing_cursor or not self.grid.has_focus:
            return
        if host is not None and self.visible_host() != host:
            self._syncing_cursor = True
            self.tabs.active = self.pane_ids[host]
            self._syncing_cursor = False

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id != "run-logs":
            return
        pane = event.pane
        host = self.pane_hosts.get(pane.id or "")
        if pane.id != "log-all" and not pane.query(HostLogView):
            pane.mount(HostLogView(self.bridge, host, self.settings, log_path=self.host_log_path(host) if host else None))
            self.view_versions[pane.id or ""] = self.settings_version
        else:
            view = self.active_view()
            if view is not None and view.is_mounted:
                if self.view_versions.get(pane.id or "", 0) != self.settings_version:
                    self.view_versions[pane.id or ""] = self.settings_version
                    view.rebuild(refit=self.settings.wrap)
                else:
                    view.sync()
                if view.follow:  # it was hidden: its size is known again only after this refresh
                    self.call_after_refresh(view.resume)
        if host is not None and not self._syncing_cursor and self.grid.selected_host != host:
            self._syncing_cursor = True
            self.grid.select_host(host)
            self._cursor_host = host
            self._syncing_cursor = False

    # -- actions: the run --------------------------------------------------------------------

    # The run's keys are priority bindings: the app handles them as soon as they arrive, instead of
    # sending each to the focused widget and back up (every hop waits a turn of the event loop).
    # So that keys act in the order typed ("down down r" retries the host the cursor went to), the
    # focused widget's movement keys are taken here too (``nav``). While the filter box has focus,
    # all of them are typing.
    TYPING_ACTIONS = frozenset({"retry", "skip_host", "abort", "finish", "filter", "toggle_wrap", "toggle_timestamps",
                                "follow", "mark", "all_hosts", "next_tab", "log_page", "log_home", "save_log", "nav"})
    NAV = {
        "HostGrid": {"up": "cursor_up", "down": "cursor_down", "left": "cursor_left", "right": "cursor_right"},
        "Tabs": {"left": "previous_tab", "right": "next_tab"},
        "FollowLog": {"up": "scroll_up", "down": "scroll_down", "left": "scroll_left", "right": "scroll_right"},
    }

    def _nav_action(self, key: str) -> Any:
        w = self.focused
        if w is None:
            return None
        name = self.NAV.get(type(w).__name__, {}).get(key)
        return getattr(w, f"action_{name}", None) if name else None

    def action_nav(self, key: str) -> None:
        action = self._nav_action(key)
        if action is not None:
            try:
                action()
            except SkipAction:
                pass

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted:
            return True
        if action in self.TYPING_ACTIONS and isinstance(self.focused, Input):
            return False
        if action == "nav":
            return self._nav_action(str(parameters[0])) is not None
        m = self.model
        if action == "retry":
            return bool(m.active and m.failed_hosts())
        if action == "skip_host":
            return m.active
        if action in ("abort", "cancel_run"):
            return True if m.active else None
        if action == "finish":
            return True if (not m.active and m.result is not None) or self.waiting() else None
        return True

    def action_retry(self) -> None:
        m = self.model
        host = self.focus_failed_host()
        if host is None:
            if m.failed_hosts():
                self.notify("more than one host failed: select the one to retry in the grid (up/down)", severity="warning")
            else:
                self.notify("no host has failed: nothing to retry")
            return
        failed_step = m.failed_step(host)
        step = failed_step
        sel = self.grid.selected_step
        if sel is not None and self.grid.selected_host == host and failed_step is not None:
            ids = [s.id for s in m.steps]
            if sel in ids and ids.index(sel) < ids.index(failed_step) and m.cell(host, sel) is not None:
                step = sel  # retry from an earlier step of that host: the cursor is on it
        if step is None:
            return

        def done(ok: Any) -> None:
            if ok is True:
                self.notify(f"retrying {step} on {host}")
            else:
                self.notify(f"cannot retry {host} now (the run is ending or the host is not stopped)", severity="warning")

        self.control(self.runner.retry, host, step, then=done)

    def action_skip_host(self) -> None:
        m = self.model
        host = self.focus_failed_host()
        if host is None and m.failed_hosts():
            self.notify("more than one host failed: select the one to skip in the grid (up/down)", severity="warning")
            return
        if host is not None:
            self._skip(host)
            return
        host = self.grid.selected_host
        if host is None:
            return
        st = m.host_state.get(host)
        if st in ("done", "skipped"):
            self.notify(f"{host} is {'done' if st == 'done' else 'skipped already'}: nothing to skip")
            return
        self.app.push_screen(
            Confirm(f"Skip {host}? Its running step is stopped and its remaining steps are skipped; the other hosts go on."),
            lambda yes: self._skip(host) if yes else None,
        )

    def _skip(self, host: str) -> None:
        def done(ok: Any) -> None:
            if ok is True:
                self.notify(f"{host} skipped: the other hosts go on")
            else:
                self.notify(f"{host} cannot be skipped now", severity="warning")

        self.control(self.runner.skip_host, host, then=done)

    def action_abort(self) -> None:
        if not self.model.active:
            self.notify("the run is over")
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.control(self.runner.abort)
                self.notify("aborting: steps running now finish, nothing new starts")

        self.app.push_screen(Confirm("Abort the run? Steps running now finish; nothing new starts; the rest is skipped."), done)

    def action_cancel_run(self) -> None:
        if not self.model.active:
            self.notify("the run is over; ctrl+q quits")
            return
        if isinstance(self.app.screen, Confirm):
            return
        rid = getattr(self.runner, "run_id", "")

        def done(yes: bool | None) -> None:
            if yes and self.model.active:
                self.cancelling = True
                self.control(self.runner.cancel)
                self.refresh_status()

        self.app.push_screen(
            Confirm(f"Cancel the run now? Running steps are stopped and their commands killed; finished steps stay done. "
                    f"`k8s-tui resume {rid}` continues later."),
            done,
        )

    def cancel_then(self, then: Any) -> None:
        """Cancel the run, and call ``then`` once it has ended (or after 15 s)."""
        if not self.model.active:
            then()
            return
        self.cancelling = True
        self.control(self.runner.cancel)
        self.refresh_status()
        self._after_run.append(then)
        self.set_timer(15, lambda: [f() for f in self._after_run[:1]])

    def action_finish(self) -> None:
        m = self.model
        if not m.active and m.result is not None:
            self.summary_shown = False
            self.show_summary()
        elif self.waiting():
            self.control(self.runner.finish)
        else:
            self.notify("the run is still going: wait, or a abort / ctrl+c cancel")

    # -- actions: the log --------------------------------------------------------------------

    def action_filter(self) -> None:
        view = self.active_view()
        if view is not None:
            view.open_filter()

    def action_escape(self) -> None:
        view = self.active_view()
        if view is not None and view.filter_open:
            view.close_filter(keep=False)

    def _settings_changed(self, *, refit: bool = False) -> None:
        self.settings_version += 1
        pane = self.tabs.active or "log-all"
        self.view_versions[pane] = self.settings_version
        view = self.active_view()
        if view is not None:
            # refit: let the log's width shrink (wrap went on); otherwise it only grows, which
            # spares laying the screen out again on every toggle during a flood
            view.rebuild(refit=refit)

    def action_toggle_wrap(self) -> None:
        self.settings.wrap = not self.settings.wrap
        self._settings_changed(refit=self.settings.wrap)

    def action_toggle_timestamps(self) -> None:
        self.settings.timestamps = not self.settings.timestamps
        self._settings_changed()

    def action_follow(self) -> None:
        view = self.active_view()
        if view is not None:
            view.resume()

    def action_mark(self) -> None:
        view = self.active_view()
        if view is not None:
            view.mark()

    def action_log_page(self, direction: int) -> None:
        view = self.active_view()
        if view is None:
            return
        if direction < 0:
            view.pause()
            view.log_widget.scroll_page_up(animate=False)
        else:
            view.log_widget.scroll_page_down(animate=False)

    def action_log_home(self) -> None:
        view = self.active_view()
        if view is not None:
            view.pause()
            view.log_widget.scroll_home(animate=False)

    def action_save_log(self) -> None:
        view = self.active_view()
        if view is None:
            return
        folder = (self._log_dir() / "saved") if self._log_dir() is not None else _fallback_save_dir()
        try:
            path = view.save(folder)
        except OSError as e:
            self.notify(f"not saved: {e}", severity="error", timeout=8)
            return
        self.notify(f"saved {len(view.visible_text())} lines to {short_path(path)} (mode 0600)", timeout=8)

    def action_all_hosts(self) -> None:
        self.tabs.active = "log-all"

    def action_next_tab(self, step: int) -> None:
        ids = ["log-all", *self.pane_ids.values()]
        cur = self.tabs.active or "log-all"
        i = ids.index(cur) if cur in ids else 0
        self.tabs.active = ids[(i + step) % len(ids)]


_frozen: set[int] = set()
_switch_interval: list[float] = []
RUN_SWITCH_INTERVAL = 0.001  # seconds the engine's thread may hold the interpreter before the UI's turn


def _freeze_gc(screen: object) -> None:
    """Tune the interpreter while a run goes (undone by ``_thaw_gc``):

    * move every object alive now (the app, its screens, the catalogue) out of the garbage
      collector's view: a flood of output makes many young objects, and without this each full
      collection walks the whole app too and stalls the screen for 100 ms and more;
    * let the engine's thread hold the interpreter for 1 ms at a time instead of 5: every turn of
      the UI's loop (several per key press) waits for the engine to let go."""
    if not _frozen:
        gc.collect()
        gc.freeze()
        _switch_interval.append(sys.getswitchinterval())
        sys.setswitchinterval(min(RUN_SWITCH_INTERVAL, _switch_interval[-1]))
    _frozen.add(id(screen))


def _thaw_gc(screen: object) -> None:
    if id(screen) in _frozen:
        _frozen.discard(id(screen))
        if not _frozen:
            gc.unfreeze()
            if _switch_interval:
                sys.setswitchinterval(_switch_interval.pop())


def _fit(text: str, n: int) -> str:
    """At most n characters: the start and the end, the middle cut out and marked with " ... "
    (an error's useful part is often at its end; the whole text is in the log)."""
    text = " ".join(text.split())
    if len(text) <= n:
        return text
    n = max(10, n - 5)
    head = text[: n * 2 // 5]
    tail = text[len(text) - (n - len(head)):]
    if " " in head[len(head) // 2:]:  # cut between words where that costs little
        head = head[: head.rindex(" ")]
    if " " in tail[: len(tail) // 2]:
        tail = tail[tail.index(" ") + 1:]
    return head + " ... " + tail


def _fallback_save_dir() -> Path:
    from ..engine.state import state_dir

    return state_dir() / "saved-logs"
