"""SVG snapshots of every screen at 80x24 and 120x40 (and a few states worth seeing).

Regenerate after a reviewed change with: python -m pytest tests/tui --snapshot-update
The demo's data is fixed and the cursor does not blink, so the pictures are stable; a change to
the knowledge base's words does change the tuning pictures, on purpose.
"""

from __future__ import annotations

import pytest
from tui_helpers import demo_app, settle

from k8s_tui.screens.themes import CONTRAST

SIZES = [(80, 24), (120, 40)]
STEPS = ["tool", "hosts", "tuning", "review"]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("step", STEPS)
def test_screen(snap_compare, step, size):
    async def run_before(pilot):
        await settle(pilot)

    assert snap_compare(demo_app(start=step), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_tuning_editing_bad_value(snap_compare, size):
    """A refused value: the rule is named under the input, the table keeps the old value."""

    async def run_before(pilot):
        await settle(pilot)
        table = pilot.app.screen.query_one("#sysctl-table")
        key = next(e.key for e in pilot.app.state.catalogue if e.type.value == "int" and e.max and e.max < 1000)
        table.move_cursor(row=table.get_row_index(key))
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        pilot.app.screen.query_one("#edit-input").value = "99999"
        await settle(pilot)

    assert snap_compare(demo_app(start="tuning"), terminal_size=size, run_before=run_before)


def test_tuning_chinese_with_diagram(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        table = pilot.app.screen.query_one("#sysctl-table")
        key = next(e.key for e in pilot.app.state.catalogue if e.diagram)
        table.move_cursor(row=table.get_row_index(key))
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        panel = pilot.app.screen.query_one("#explain")
        panel.scroll_to_widget(panel.query_one("#explain-diagram"), animate=False, top=True)
        await settle(pilot)

    assert snap_compare(demo_app(start="tuning"), terminal_size=(120, 40), run_before=run_before)


def test_tuning_high_contrast(snap_compare):
    async def run_before(pilot):
        await settle(pilot)

    assert snap_compare(demo_app(start="tuning", theme=CONTRAST), terminal_size=(80, 24), run_before=run_before)


def test_host_form_error(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"Bad_Name")
        await settle(pilot)

    assert snap_compare(demo_app(start="hosts"), terminal_size=(80, 24), run_before=run_before)


def test_help(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(demo_app(start="tuning"), terminal_size=(80, 24), run_before=run_before)


def test_review_file_tab(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        pilot.app.screen.query_one("#host-select").value = "worker-3"
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(demo_app(start="review"), terminal_size=(80, 24), run_before=run_before)


def test_review_network_tab(snap_compare):
    """The Network tab at 80x24: every field with its label, the check mode, the two buttons."""
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)

    assert snap_compare(demo_app(start="review"), terminal_size=(80, 24), run_before=run_before)
