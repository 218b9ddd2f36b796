"""The host x step grid of a run: a row per host, a column per step, ASCII status words.

Cells: ``.`` pending, ``run 4s`` running, ``ok 0.3s``, ``chg 1.2s`` changed, ``= 0.1s`` unchanged
(already as wanted), ``FAIL 2.0s``, ``STOP`` (interrupted), ``skip``; blank where a step does not
run on that host. Colours come from the theme. The grid only shows a ``RunModel``; it changes
nothing.
"""

from __future__ import annotations

from time import monotonic

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.color import Color
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey

from ..engine.run_state import Cell, RunModel

LEGEND = ". pending  run  ok  chg changed  = unchanged  FAIL  STOP interrupted  skip"
HOST_COL = "host"
STATE_COL = "state"
TIME_COL = "time"


def fmt_duration(s: float) -> str:
    if s < 10:
        return f"{s:.1f}s"
    if s < 100:
        return f"{s:.0f}s"
    m, sec = divmod(int(s), 60)
    return f"{m}m{sec:02d}"


def short_label(step_id: str, width: int = 10) -> str:
    """A column title of at most ``width`` characters: "kubeadm-join-workers" -> "join-w"."""
    s = step_id
    if len(s) > width and s.startswith("kubeadm-"):
        s = s[len("kubeadm-"):]
    if len(s) > width:
        words = s.split("-")
        s = words[0] + "-" + "".join(w[:1] for w in words[1:]) if len(words) > 1 else s
    return s[:width]


def cell_text(cell: Cell | None, now: float) -> tuple[str, str]:
    """(text, theme role) of one cell."""
    if cell is None:
        return "", ""
    st = cell.status
    if st == "pending":
        return ".", "muted"
    if st == "running":
        # no ticking clock here: repainting the table every second costs a flood of output its
        # smoothness; the running time is on the line under the grid for the selected cell
        return "run", "running"
    if st == "skipped":
        return "skip", "muted"
    if st == "failed":
        if cell.interrupted:
            return "STOP", "failed"
        return f"FAIL {fmt_duration(cell.duration)}", "failed"
    word = {"ok": "ok", "changed": "chg", "unchanged": "="}.get(st, st)
    role = {"ok": "ok", "changed": "changed", "unchanged": "ok"}.get(st, "")
    return f"{word} {fmt_duration(cell.duration)}", role


BADGE_ROLE = {"wait": "muted", "run": "running", "ok": "ok", "chg": "changed", "FAIL": "failed", "LOST": "failed",
              "STOP": "failed", "skip": "muted", "part": "changed"}


class HostGrid(DataTable, inherit_bindings=False):
    # only the cursor keys: page up/down, home and end belong to the log below (the screen's keys)
    BINDINGS = [
        Binding("up", "cursor_up", "Host up", show=False),
        Binding("down", "cursor_down", "Host down", show=False),
        Binding("left", "cursor_left", "Step left", show=False),
        Binding("right", "cursor_right", "Step right", show=False),
    ]
    DEFAULT_CSS = """
    HostGrid { height: auto; max-height: 12; }
    """

    def __init__(self, model: RunModel, **kw) -> None:
        super().__init__(cursor_type="cell", zebra_stripes=False, **kw)
        self.model = model
        self.styles_by_role: dict[str, Style] = {}
        self.step_ids: list[str] = []

    def on_mount(self) -> None:
        self._apply_theme()
        self.app.theme_changed_signal.subscribe(self, lambda _t: self._repaint_all())
        self.rebuild()

    def _apply_theme(self) -> None:
        v = self.app.get_css_variables()

        def style(name: str, fallback: str, **kw) -> Style:
            try:
                return Style(color=Color.parse(v.get(name, fallback)).rich_color, **kw)
            except Exception:
                return Style(**kw)

        self.styles_by_role = {
            "muted": Style(dim=True),
            "running": style("text-primary", "cyan", bold=True),
            "ok": style("text-success", "green"),
            "changed": style("text-accent", "yellow"),
            "failed": style("text-error", "red", bold=True),
            "": Style(),
        }

    def _repaint_all(self) -> None:
        self._apply_theme()
        for h in self.model.hosts:
            self.update_host(h)

    def _text(self, text: str, role: str) -> Text:
        return Text(text, style=self.styles_by_role.get(role, Style()), no_wrap=True, overflow="ellipsis")

    # -- building ----------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Columns from the model's steps, a row per host."""
        m = self.model
        self.clear(columns=True)
        host_w = min(18, max([4, *(len(h) for h in m.hosts)]))
        self.add_column("host", key=HOST_COL, width=host_w)
        self.add_column("state", key=STATE_COL, width=5)
        self.step_ids = [s.id for s in m.steps]
        for s in m.steps:
            label = short_label(s.id)
            self.add_column(label, key=s.id, width=max(9, len(label)))
        self.add_column("time", key=TIME_COL, width=6)
        now = monotonic()
        for h in m.hosts:
            row = [self._text(h, ""), self._badge(h)]
            for s in m.steps:
                row.append(self._text(*cell_text(m.cell(h, s.id), now)))
            row.append(self._text(self._time(h), "muted"))
            self.add_row(*row, key=h)

    def _badge(self, host: str) -> Text:
        b = self.model.badge(host)
        return self._text(b, BADGE_ROLE.get(b, ""))

    def _time(self, host: str) -> str:
        t = self.model.host_time(host)
        return fmt_duration(t) if t else ""

    def update_host(self, host: str) -> None:
        m = self.model
        now = monotonic()
        try:
            self.update_cell(host, STATE_COL, self._badge(host))
            for sid in self.step_ids:
                c = m.cell(host, sid)
                if c is None:
                    continue
                self.update_cell(host, sid, self._text(*cell_text(c, now)))
            self.update_cell(host, TIME_COL, self._text(self._time(host), "muted"))
        except CellDoesNotExist:
            pass

    # -- what the cursor is on ---------------------------------------------------------------

    @property
    def selected_host(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except CellDoesNotExist:
            return None

    @property
    def selected_step(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key: ColumnKey = self.coordinate_to_cell_key(self.cursor_coordinate).column_key
        except CellDoesNotExist:
            return None
        return key.value if key.value in self.step_ids else None

    def select_host(self, host: str) -> None:
        try:
            row = self.get_row_index(host)
        except Exception:
            return
        if row != self.cursor_row:
            self.move_cursor(row=row)
