"""The header line of the run and summary screens: the wizard's steps, then Run and Summary."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from ..session.state import STEPS

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
