"""The tuning panel's "Try it" section: the two lab runs of one key (the value looked at, the
kernel default), their timelines as they stream, then measured beside predicted and the verdict.

It renders a ``session.lab_try.TryRun`` and nothing else; the screen starts, drains and cancels
the run. Hidden until a Try it is shown.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from ..lab.timeline import show_value
from ..session.lab_try import HERE_NOTE, TryRun, TrySide
from .explain_panel import hang

MAX_EVENTS = 8  # per side: the last ones; `k8s-tui lab` prints them all
BAR_CELLS = 20
KIND_STYLE = {"syn": "bold $accent", "state": "bold", "counter": "$secondary", "probe": "$accent", "progress": "$text-muted",
              "note": "$warning", "setup": "$text-muted"}
STATUS = {
    "waiting": ("waiting", "$text-muted"),
    "running": ("running", "bold $accent"),
    "not-run": ("", ""),
    "refused": ("refused", "bold $error"),
    "failed": ("failed", "bold $error"),
    "cancelled": ("stopped", "$warning"),
}


def _wrap(line: Content, width: int, first: str = "", rest: str = "  ") -> list[Content]:
    return hang(line, width, first, rest) if width else [Content(first) + line]


def progress_bar(elapsed: float, total: float, cells: int = BAR_CELLS) -> str:
    """A text bar like the CLI's: filled cells for the share of the estimate that has passed."""
    share = min(1.0, elapsed / total) if total > 0 else 1.0
    filled = round(share * cells)
    left = max(0.0, total - elapsed)
    return "[" + "#" * filled + "-" * (cells - filled) + f"] {elapsed:.0f} s of about {total:g} s" + (f", about {left:.0f} s left" if left >= 1 else "")


def _side_lines(side: TrySide, width: int) -> list[Content]:
    what = " (a fresh network namespace's value)" if side.label == "kernel default" else ""
    o = side.outcome
    word, style = ("ran", "bold") if o is not None else STATUS.get(side.status, (side.status, ""))
    lines = _wrap(Content.assemble((f"{side.label} {side.value}", "bold"), what, (": " + word if word else "", style)), width)
    events = [e for e in (side.events if o is None else o.timeline) if e.kind != "progress"]  # the bar shows those
    if events:
        shown = events[-MAX_EVENTS:]
        if len(events) > len(shown):
            lines += _wrap(Content.styled(f"({len(events) - len(shown)} earlier lines; `{side.command}` prints all)", "$text-muted"), width, "  ", "   ")
        for e in shown:
            when = " setup " if e.before_start or (o is not None and e.t < 0) else f"{e.t:5.2f}s "
            lines += _wrap(Content.styled(e.text, KIND_STYLE.get(e.kind, "")), width, " " + when, " " * 9)
    if (p := side.progress()) is not None:
        lines += _wrap(Content.styled(progress_bar(*p), "$accent"), width, "  ", "    ")
    if o is not None:
        keys = list(o.predicted)
        kw = max([len(k) for k in keys] + [8])
        mw = max([len(show_value(o.measured.get(k))) for k in keys] + [len("measured")])
        lines.append(Content.styled(f"  {'':{kw}}  {'measured':{mw}}  predicted", "$text-muted"))
        for k in keys:
            lines.append(Content(f"  {k:{kw}}  {show_value(o.measured.get(k)):{mw}}  {show_value(o.predicted.get(k))}"))
        for n in o.notes:  # the runner's notes name the CLI's --quick; the generic one says nothing here
            if "cannot be scaled" in n:
                continue
            lines += _wrap(Content.styled(n.removeprefix("--quick: "), "$text-muted"), width, "  ", "    ")
        verdict = ("agree", "bold $success") if o.agrees else ("DO NOT agree", "bold $error")
        lines += _wrap(Content.assemble((f"{side.label} {side.value}: ", "bold"), "measured and predicted ", verdict,
                                        (f" (tolerance: {o.tolerance})", "$text-muted")), width, "  ", "    ")
    elif side.message:
        lines += _wrap(Content.styled(side.message, "$error" if side.status in ("refused", "failed") else "$warning"), width, "  ", "    ")
    if side.predicted and o is None:
        pred = ", ".join(f"{k} {show_value(v)}" for k, v in side.predicted.items())
        lines += _wrap(Content("the knowledge base predicts: " + pred), width, "  ", "    ")
    return lines


def render_try(run: TryRun, width: int = 0) -> list[Content]:
    title = Content.assemble(("Try it: ", "bold $accent"), (run.key, "bold"), ("  t/Esc: stop, close", "$text-muted"))
    lines = _wrap(title, width)
    if run.problem:
        return lines + _wrap(Content.styled(run.problem, "$error"), width) + [Content("")]
    where = HERE_NOTE + (" (the demo's hosts are made up)" if run.demo else "")
    kernel = f", linux {run.kernel}" if run.kernel else ""
    lines += _wrap(Content.styled(where + kernel, "$text-muted"), width)
    for side in run.sides:
        lines += _side_lines(side, width)
    lines.append(Content(""))
    return lines


class LabView(Static):
    DEFAULT_CSS = """
    LabView { width: 1fr; height: auto; display: none; }
    LabView.-shown { display: block; }
    """

    run: TryRun | None = None

    def show_run(self, run: TryRun | None) -> None:
        self.run = run
        self.set_class(run is not None, "-shown")
        self.redraw()

    def redraw(self) -> None:
        width = max(0, self.size.width - 1)
        self.update(Content("\n").join(render_try(self.run, width)) if self.run is not None else "")

    def on_resize(self, event) -> None:
        if self.run is not None:
            self.redraw()

    @property
    def text(self) -> str:
        return "\n".join(line.plain for line in render_try(self.run)) if self.run is not None else ""
