"""Step 5: the live run. A host x step grid, overall progress, a live log per host and one for all.

The screen is a view of a ``RunSession`` (session/run_session.py): a ``RunBridge`` turns the run's
events into the session's run model and bounded line stores, a timer flushes new lines into the
visible log every 80 ms, and the keys send the session its intents (retry, skip, abort, cancel,
finish), which it carries out on the engine's own loop. The runner waits at its end while a host
has failed, so a failure can still be retried; ``n`` ends the run there and opens the summary.
Nothing here waits for the engine on the UI's loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Footer, Input, ProgressBar, Static, TabbedContent, TabPane

from ..engine.run_state import RunState
from ..widgets.crumbs import CrumbLine
from ..widgets.dialogs import Confirm
from ..widgets import run_panels as panels
from ..widgets.host_grid import LEGEND, HostGrid, fmt_duration
from ..widgets.host_log import HostLogView, LogSettings
from ..widgets.run_bridge import DEFAULT_MAX_LINES, RunBridge
from .base import WizardScreen
from .run_logs import LogPanel
from .run_palette import RunCommands

if TYPE_CHECKING:
    from ..session.run_session import RunSession

FLUSH_INTERVAL = 0.08  # seconds between log flushes (the brief: 50-100 ms)


class RunScreen(LogPanel, WizardScreen):
    STEP = ""  # not one of the wizard's back/next steps
    TITLE = "5 Run"
    HELP_TEXT = (
        "The run, live: a row per host, a column per step (" + LEGEND + "). When the steps do not all "
        "fit, cells drop their times and titles shrink to four letters (INIT, JNcp, JNwk: kubeadm init "
        "and the joins, marked); left/right scroll the steps while the host column stays, and the line "
        "under the grid names the selected step. Up/down picks a host and "
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

    def __init__(self, session: RunSession, *, demo: bool = False, max_lines: int = DEFAULT_MAX_LINES,
                 autostart: bool = True, flush_interval: float = FLUSH_INTERVAL, engine_thread: bool = True) -> None:
        super().__init__()
        self.session = session
        self.engine_thread = engine_thread
        self._model_version = -1
        self.demo = demo
        self.autostart = autostart
        self.flush_interval = flush_interval
        self.hosts = session.hosts
        self.bridge = RunBridge(session.bus, self, self.hosts, model=session.model, max_lines=max_lines)
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
        self._failures_shown = 0
        self.flushes = 0

    @property
    def model(self) -> RunState:
        return self.bridge.model

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield CrumbLine("run", demo=self.demo, extra=f"run {self.session.run_id}", id="run-crumbs")
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
        yield Footer(compact=True, show_command_palette=False)  # ? help lists ctrl+p; 80 columns need the room


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
        """Start the session (on the engine's own thread unless ``engine_thread`` is off); returns
        at once, and a worker waits for its end without holding the UI's loop."""
        self.started_at = monotonic()
        self.session.start(thread=self.engine_thread)
        self.run_worker(self._watch_engine(), name="run", group="run", exit_on_error=False)

    async def _watch_engine(self) -> None:
        await self.session.wait()
        err = self.session.error
        if err is not None:  # RunnerError (a resume of another plan, a journal it cannot write), or a bug
            self.error = f"{type(err).__name__}: {err}"
            self.notify(f"the run could not go on: {err}", severity="error", timeout=15)
        self.flush()
        self.refresh_status()

    def control(self, intent: Any, *args: Any, then: Any = None) -> None:
        """Send the session an intent (``self.session.retry`` ...); ``then(result)`` runs on this
        loop once the engine has carried it out (an exception it raised is the result)."""
        fut = intent(*args)
        if then is None:
            return
        loop = asyncio.get_running_loop()

        def done(f: Any) -> None:
            try:
                result = f.result()
            except Exception as e:  # handed to then(), which says so on screen
                result = e
            if not loop.is_closed():
                loop.call_soon_threadsafe(then, result)

        fut.add_done_callback(done)

    def on_unmount(self) -> None:
        # leaving the app mid-run: the run ends as interrupted, journaled; nothing waits for it
        # here (the command line waits for the engine once the UI is gone)
        if self.session.active:
            self.session.stop()
        self.bridge.close()

    # -- helpers -----------------------------------------------------------------------------

    def _log_dir(self) -> Path | None:
        return self.session.journal_dir

    def host_log_path(self, host: str) -> Path | None:
        return self.session.host_log_path(host)

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
                tab = tabs.query(f"#--content-tab-{self.pane_ids[h]}")
                if tab:  # the tab exists once the tabs are composed; until then the next change labels it
                    self._labels[h] = label.plain
                    tab.first().label = label
        m.changed_hosts.clear()
        for f in m.failures[self._failures_shown:]:  # a consumer of the run broke: never silently
            stops = " The run stops once the running steps end." if f.critical and m.active else ""
            self.notify(f"the {f.name} stopped working: {f.error}.{stops} {f.missing}", severity="error", timeout=60)
        self._failures_shown = len(m.failures)
        self.refresh_status()
        keys = (m.active, bool(m.failed_hosts()), self.waiting())
        if keys != self._keys_state:  # r, s, n come and go in the footer
            self._keys_state = keys
            self.refresh_bindings()

    @on(RunBridge.Finished)
    def on_finished(self, event: RunBridge.Finished) -> None:
        self.ended_at = monotonic()
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
        self.app.push_screen(SummaryScreen(self.session, demo=self.demo))

    def waiting(self) -> bool:
        return panels.waiting(self.model)

    def refresh_status(self) -> None:
        m = self.model
        done, total = m.progress()
        now = self.ended_at if self.ended_at is not None else monotonic()
        elapsed = fmt_duration(now - self.started_at) if self.started_at is not None else "-"
        self._set("#run-status", panels.status_line(m, elapsed=elapsed, error=self.error, cancelling=self.cancelling))
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
        panel = self.query_one("#failure", Static)
        width = (self.size.width or self.app.size.width) - 3  # the panel spans the screen
        content = panels.failure_panel(self.model, self.focus_failed_host(), width=width, tall=self.size.height >= 30)
        if content is None:
            panel.remove_class("-shown")
            return
        self._set("#failure", content, layout=True)
        panel.add_class("-shown")

    def refresh_detail(self) -> None:
        if self.is_mounted:
            self._set("#cell-detail", panels.cell_detail(self.model, self.grid.selected_host, self.grid.selected_step))

    # -- actions: the run --------------------------------------------------------------------

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

        self.control(self.session.retry, host, step, then=done)

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

        self.control(self.session.skip_host, host, then=done)

    def action_abort(self) -> None:
        if not self.model.active:
            self.notify("the run is over")
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.control(self.session.abort)
                self.notify("aborting: steps running now finish, nothing new starts")

        self.app.push_screen(Confirm("Abort the run? Steps running now finish; nothing new starts; the rest is skipped."), done)

    def action_cancel_run(self) -> None:
        if not self.model.active:
            self.notify("the run is over; ctrl+q quits")
            return
        if isinstance(self.app.screen, Confirm):
            return
        rid = self.session.run_id

        def done(yes: bool | None) -> None:
            if yes and self.model.active:
                self.cancelling = True
                self.control(self.session.cancel)
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
        self.control(self.session.cancel)
        self.refresh_status()
        self._after_run.append(then)
        self.set_timer(15, lambda: [f() for f in self._after_run[:1]])

    def action_finish(self) -> None:
        m = self.model
        if not m.active and m.result is not None:
            self.summary_shown = False
            self.show_summary()
        elif self.waiting():
            self.control(self.session.finish)
        else:
            self.notify("the run is still going: wait, or a abort / ctrl+c cancel")
