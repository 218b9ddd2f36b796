"""The Tool screen (issue 13 bits): Down scrolls the comparison while the tool names stay on top,
and the screen's headings exist in Chinese."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from k8s_tui.backends.catalog import ASPECTS_ZH

from tui_helpers import demo_app, settle


def _plain(widget: Static) -> str:
    """What a Static shows, as text (its content rendered at a wide width)."""
    import io

    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    content = widget.content if hasattr(widget, "content") else widget.renderable
    console.print(content if not hasattr(content, "plain") else content.plain)
    return console.export_text()


async def test_down_scrolls_the_comparison_and_the_tool_names_stay():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.STEP == "tool"
        tool = app.state.tool
        box = app.screen.query_one("#compare-scroll", VerticalScroll)
        head = app.screen.query_one("#compare-head", Static)
        assert box.scroll_y == 0 and box.max_scroll_y > 3
        for _ in range(4):
            await pilot.press("down")
        await settle(pilot)
        assert box.scroll_y == 4  # one line per Down
        assert app.state.tool is tool  # Down scrolled; it did not move the tool choice
        assert head.region.height >= 1 and head.region.y < box.region.y  # the names are above, outside the scroll
        assert "kubespray" in _plain(head) and "kops" in _plain(head)
        await pilot.press("up")
        await settle(pilot)
        assert box.scroll_y == 3


async def test_tool_screen_headings_in_chinese():
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert app.state.lang == "zh"
        body = _plain(app.screen.query_one("#compare", Static))
        for _, title in ASPECTS_ZH:
            assert title in body
        for english in ("What it is", "Runs on", "You need", "Pick it when", "This wizard"):
            assert english not in body
        assert "推荐" in _plain(app.screen.query_one("#compare-head", Static))
        assert "推荐" in _plain(app.screen.query_one("#recommendation", Static))
