"""The header line: the product name, the steps with the current one marked, and the mode."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from ..session.state import STEPS


def crumbs(current: str, *, demo: bool = False, lang: str = "en") -> Content:
    """ "k8s-tui | 1 Tool > 2 Hosts > 3 Tuning > 4 Review", each step a link for the mouse."""
    parts: list[Content | str | tuple[str, str]] = [(" k8s-tui ", "bold reverse"), " "]
    for i, (step, title) in enumerate(STEPS, 1):
        if i > 1:
            parts.append(" > ")
        label = f"{i} {title}"
        if step == current:
            parts.append(Content.styled(f"[{label}]", "bold $accent"))
        else:
            parts.append(Content.from_markup(f"[@click=app.goto('{step}')]$label[/]", label=label))
    if demo:
        parts.append(("   demo (made-up hosts)", "italic"))
    return Content.assemble(*parts)


class Breadcrumb(Static):
    """One line at the top of every wizard screen."""

    DEFAULT_CSS = """
    Breadcrumb {
        height: 1;
        width: 1fr;
        background: $panel;
    }
    """

    def __init__(self, step: str, *, demo: bool = False) -> None:
        super().__init__(crumbs(step, demo=demo))
        self.step = step
        self.demo = demo
