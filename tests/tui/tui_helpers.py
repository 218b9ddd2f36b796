"""Helpers the TUI tests share: one factory (make_app, as the CLI uses it), no blinking cursor, the
default theme fixed so the machine's TERM does not change a snapshot."""

from __future__ import annotations

import asyncio

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


async def wait_until(pilot, cond, what: str, *, timeout: float = 30.0, seen=None) -> None:
    """Let the app run until ``cond()`` holds. The deadline only fails a broken run, and fails
    loudly: the message names what was awaited and what was seen (``seen()``, when given)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            got = f"; saw: {seen()!r}" if seen is not None else ""
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}{got}")
        await pilot.pause(0.01)


async def wait_probe(pilot, timeout: float = 30.0) -> None:
    """Until the hosts screen's probe has finished (then settle)."""
    screen = pilot.app.get_screen("hosts")
    await wait_until(
        pilot, lambda: not screen.probing, "the hosts screen's probe to finish", timeout=timeout,
        seen=lambda: {"probing": screen.probing, "screen": type(pilot.app.screen).__name__,
                      "probed": sorted(getattr(pilot.app.state, "probes", {}) or {})},
    )
    await settle(pilot)
