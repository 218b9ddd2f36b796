"""The host x step grid of a run: a row per host, a column per step, ASCII status words.

Cells: ``.`` pending, ``run 4s`` running, ``ok 0.3s``, ``chg 1.2s`` changed, ``= 0.1s`` unchanged
(already as wanted), ``FAIL 2.0s``, ``STOP`` (interrupted), ``skip``; blank where a step does not
run on that host. Colours come from the theme. The grid only shows a ``RunModel``; it changes
nothing.

The host and state columns stay put when the grid scrolls sideways. When the whole grid does not
fit its width (a kubeadm run has 14 steps; 80 columns hold 6 of them), it turns compact: status
words without durations (the line under the grid has them), four-letter step titles, so every
step of a kubeadm run but the last two is in sight at 80 columns. Step titles of the steps that
make the cluster (init, join) are in capitals and marked in either mode.
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


# compact titles: four letters at most; the cluster's own steps in capitals
COMPACT_LABELS = {
    "facts": "fact", "preflight": "pre", "swap": "swap", "modules": "mod", "sysctl": "sysc",
    "runtime": "rt", "packages": "pkg", "pull-images": "pull", "kubeadm-config": "cfg",
    "kubeadm-init": "INIT", "kubeadm-join-control-planes": "JNcp", "kubeadm-join-workers": "JNwk",
    "cni": "cni", "verify": "vrfy", "reachability": "rch",
}
COMPACT_WIDTH = 5  # four letters and a space (the compact grid has no cell padding)


def is_cluster_step(step_id: str) -> bool:
    """The steps that make the cluster: what a reader looks for first."""
    return step_id.startswith(("kubeadm-init", "kubeadm-join"))


def compact_label(step_id: str) -> str:
    if step_id in COMPACT_LABELS:
        return COMPACT_LABELS[step_id][:4]
    s = step_id.removeprefix("kubeadm-")
    words = [w for w in s.split("-") if w]
    s = words[0][:2] + "".join(w[:1] for w in words[1:]) if len(words) > 1 else s
    s = s[:4]
    return s.upper() if is_cluster_step(step_id) else s


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


def compact_text(cell: Cell | None, now: float) -> tuple[str, str]:
    """A cell in four letters: the status word without its duration."""
    text, role = cell_text(cell, now)
    return text.split(" ", 1)[0], role


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
    HostGrid.-compact { padding-left: 1; }  /* no cell padding: keep the screen's left margin */
    """

    def __init__(self, model: RunModel, **kw) -> None:
        # host and state stay in place when the steps scroll sideways
        super().__init__(cursor_type="cell", zebra_stripes=False, fixed_columns=2, **kw)
        self.model = model
        self.compact = False
        self._time_w = 6
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
        self.rebuild()  # the marked step titles take the theme's colour too

    def on_resize(self, event) -> None:
        if self._wants_compact() != self.compact or self._time_width() != self._time_w:
            self.rebuild()

    # -- scrolling sideways by whole columns: a column half hidden behind the fixed ones reads as
    # another word ("act" for "fact") -------------------------------------------------------

    def _scrolled_widths(self) -> list[int]:
        return [c.get_render_width(self) for c in list(self.ordered_columns)[self.fixed_columns:]]

    def _time_width(self) -> int:
        """The last column's width: 6, plus what makes the furthest scroll end on a column edge."""
        if not self.size.width:
            return 6
        pad, gap = (0, 1) if self.compact else (2, 0)  # cell padding; the compact grid's gap
        fixed = self._host_width() + gap + pad + 5 + gap + pad
        widths = [(COMPACT_WIDTH if self.compact else max(9, len(short_label(s.id)))) + pad for s in self.model.steps]
        widths.append(6 + pad)
        room = self.scrollable_content_region.width - fixed
        if sum(widths) <= room or room <= 0:
            return 6
        tail = 0
        for w in reversed(widths):  # the columns in sight at the furthest scroll
            if tail + w > room:
                break
            tail += w
        return 6 + room - tail

    def _scroll_cursor_into_view(self, animate: bool = False) -> None:
        super()._scroll_cursor_into_view(animate=False)
        self.call_after_refresh(self._snap_to_column)

    def _snap_to_column(self) -> None:
        x, edge = round(self.scroll_x), 0
        for w in self._scrolled_widths():
            if edge >= x:
                break
            edge += w
        target = min(edge, int(self.max_scroll_x))
        if target != x:
            self.scroll_to(x=target, animate=False, immediate=True)

    def _host_width(self) -> int:
        return min(18, max([4, *(len(h) for h in self.model.hosts)]))

    def _wants_compact(self) -> bool:
        """Compact when the full grid (durations in cells) is wider than the room it has."""
        width = self.size.width or (self.app.size.width if self.is_attached else 0)
        if not width:
            return False
        wide = self._host_width() + 5 + 6 + 1 + sum(max(9, len(short_label(s.id))) for s in self.model.steps)
        wide += 2 * (len(self.model.steps) + 3) + 2  # cell padding, the scroll bar
        return wide > width

    def _cell(self, cell: Cell | None, now: float) -> Text:
        return self._text(*(compact_text if self.compact else cell_text)(cell, now))

    def _header(self, step_id: str) -> Text:
        label = compact_label(step_id) if self.compact else short_label(step_id)
        if not is_cluster_step(step_id):
            return Text(label)
        return Text(label if self.compact else label.upper(), style=self.styles_by_role.get("changed", Style()) + Style(bold=True, underline=True))

    def _text(self, text: str, role: str) -> Text:
        return Text(text, style=self.styles_by_role.get(role, Style()), no_wrap=True, overflow="ellipsis")

    # -- building ----------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Columns from the model's steps, a row per host."""
        m = self.model
        cursor = self.cursor_coordinate
        self.compact = self._wants_compact()
        self.set_class(self.compact, "-compact")
        self.cell_padding = 0 if self.compact else 1
        gap = 1 if self.compact else 0  # no padding: a space of the width parts the columns
        self.clear(columns=True)
        self.add_column("host", key=HOST_COL, width=self._host_width() + gap)
        self.add_column("state", key=STATE_COL, width=5 + gap)
        self.step_ids = [s.id for s in m.steps]
        for s in m.steps:
            width = COMPACT_WIDTH if self.compact else max(9, len(short_label(s.id)))
            self.add_column(self._header(s.id), key=s.id, width=width)
        self._time_w = self._time_width()
        self.add_column("time", key=TIME_COL, width=self._time_w)
        now = monotonic()
        for h in m.hosts:
            row = [self._text(h, ""), self._badge(h)]
            for s in m.steps:
                row.append(self._cell(m.cell(h, s.id), now))
            row.append(self._text(self._time(h), "muted"))
            self.add_row(*row, key=h)
        if self.row_count:
            self.cursor_coordinate = cursor  # a rebuild (a resize) keeps the selected cell

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
                self.update_cell(host, sid, self._cell(c, now))
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
