"""Helpers the TUI tests share: one factory (make_app, as the CLI uses it), no blinking cursor, the
default theme fixed so the machine's TERM does not change a snapshot."""

from __future__ import annotations

from k8s_tui.app import make_app
from k8s_tui.screens.themes import DEFAULT


def demo_app(**kw):
    kw.setdefault("theme", DEFAULT)
    app = make_app(demo=True, **kw)
    app.cursor_blink = False
    return app


async def settle(pilot, n: int = 3) -> None:
    for _ in range(n):
        await pilot.pause()
