"""The tuning step's Try it: the lab for the highlighted key, run on this machine by
``session/lab_try.py`` and drawn by ``widgets/lab_view.py``; this mixin wires it to the screen."""

from __future__ import annotations

from textual.timer import Timer
from textual.widgets import Input

from ..session.lab_try import TryRun, plan_try, value_to_try
from ..widgets.explain_panel import ExplainPanel
from ..widgets.lab_view import LabView
from ..widgets.value_editor import ValueEditor


class TryItMixin:
    """For TuningScreen: needs ``state``, ``current_key()`` and the widgets it composes."""

    _try: TryRun | None = None
    _try_timer: Timer | None = None


    def action_try_it(self) -> None:
        if self._try is not None:
            self.stop_try()
            return
        key = self.current_key()
        if key is None:
            return
        editor = self.query_one(ValueEditor)
        editing = self.query_one("#edit-input", Input).value if editor.is_open and editor.key == key else None
        value, label = value_to_try(self.state, key, editing)
        self.show_try(plan_try(key, value, label, self.state.catalogue, demo=self.state.demo))

    def show_try(self, run: TryRun) -> None:
        """Start ``run`` (a finished one, e.g. a test's, is only drawn) and show it above the explanation."""
        self._try = run
        run.start()
        self.query_one("#tune-body").add_class("-trying")
        self.query_one(LabView).show_run(run)
        self.query_one(ExplainPanel).scroll_home(animate=False)
        if run.running:
            self._try_timer = self.set_interval(0.1, self._drain_try)
        elif run.finished and not run.problem:
            self.call_after_refresh(self._follow_try)

    def _drain_try(self) -> None:
        run = self._try
        changed = run is not None and run.drain()
        if run is None or not run.running:  # the worker ended: its last reports were just drained
            self._stop_timer()
            changed = run is not None
        if changed:
            self.query_one(LabView).redraw()
            self.call_after_refresh(self._follow_try)

    def _follow_try(self) -> None:
        """Keep the newest lines of the Try it in sight (the panel may be a few rows high)."""
        panel, view = self.query_one(ExplainPanel), self.query_one(LabView)
        panel.scroll_to(y=max(0, view.virtual_region.bottom - panel.scrollable_content_region.height), animate=False)

    def stop_try(self) -> None:
        """Cancel (session/lab_try.py: the experiment stops at its next event, namespaces removed) and hide."""
        if self._try is not None:
            self._try.cancel()
        self._try = None
        self._stop_timer()
        self.query_one("#tune-body").remove_class("-trying")
        self.query_one(LabView).show_run(None)

    def _stop_timer(self) -> None:
        if self._try_timer is not None:
            self._try_timer.stop()
        self._try_timer = None

