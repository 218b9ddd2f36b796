"""The run screen's log panel: one tab per host and one for all, and the keys that act on the log
shown (filter, wrap, timestamps, follow, mark, page, save). A mixin of ``RunScreen``, kept apart so
each module stays small; it reads ``self.bridge``, ``self.settings``, ``self.tabs``, ``self.grid``,
``self.pane_ids`` / ``self.pane_hosts`` and ``self.session`` of the screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.actions import SkipAction
from textual.widgets import DataTable, TabbedContent

from ..engine.state import state_dir
from ..widgets.host_log import HostLogView, short_path


class LogPanel:
    """Log actions of the run screen (see the module's doc)."""

    bridge: Any
    settings: Any
    settings_version: int
    view_versions: dict[str, int]
    pane_ids: dict[str, str]
    pane_hosts: dict[str, str | None]
    _syncing_cursor: bool
    _cursor_host: str | None

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




def _fallback_save_dir() -> Path:
    return state_dir() / "saved-logs"
