"""The tuning step's Try it (t): the lab experiment for the highlighted key, run here."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from textual.widgets import DataTable, Input

from k8s_tui.lab import runner
from k8s_tui.lab.timeline import Event, Outcome
from k8s_tui.session.lab_try import TryRun, TrySide
from k8s_tui.widgets.lab_view import LabView

from tui_helpers import demo_app, settle, wait_until

SYN = "net.ipv4.tcp_syn_retries"


def lab_netns() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith("k8s-tui-lab-")]


async def goto_key(pilot, key: str) -> None:
    table = pilot.app.screen.query_one("#sysctl-table", DataTable)
    table.move_cursor(row=table.get_row_index(key))
    await settle(pilot)


def view_text(app) -> str:
    return app.screen.query_one(LabView).text


can_run_lab = os.geteuid() == 0 and all(shutil.which(t) for t in runner.TOOLS)


@pytest.mark.skipif(not can_run_lab, reason="the lab needs root and ip, nft, sysctl, ss")
async def test_try_edited_value_runs_here_and_agrees():
    app = demo_app(start="tuning")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await goto_key(pilot, SYN)
        await pilot.press("enter")
        app.screen.query_one("#edit-input", Input).value = "1"
        await settle(pilot)
        await pilot.press("ctrl+t")  # t itself would type into the edit line
        run = app.screen._try
        assert run is not None and [s.label for s in run.sides] == ["editing", "kernel default"]
        await wait_until(pilot, lambda: "SYN #1 on the wire" in view_text(app), "the first SYN in the timeline", seen=lambda: view_text(app))
        await wait_until(pilot, lambda: run.finished, "the run to finish", timeout=60, seen=lambda: view_text(app))
        await settle(pilot)
        text = view_text(app)
        assert "editing 1: measured and predicted agree" in text
        assert "runs here, in throwaway network namespaces, not on your hosts" in text
        assert "kernel default 6" in text and "not run: would take" in text and f"sudo k8s-tui lab {SYN}=6" in text
        assert "the knowledge base predicts: give_up_s" in text
    assert lab_netns() == []


@pytest.mark.skipif(not can_run_lab, reason="the lab needs root and ip, nft, sysctl, ss")
async def test_t_again_stops_the_run_and_removes_its_namespaces():
    app = demo_app(start="tuning")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await goto_key(pilot, SYN)
        await pilot.press("enter")
        app.screen.query_one("#edit-input", Input).value = "3"  # about 15 s
        await settle(pilot)
        await pilot.press("ctrl+t")
        run = app.screen._try
        await wait_until(pilot, lambda: "SYN #1" in "".join(e.text for e in run.sides[0].events), "the first SYN")
        await pilot.press("escape")
        assert app.screen._try is None and not app.screen.query_one(LabView).display
        run.join(30)
        assert not run.running
    assert lab_netns() == []


async def test_key_without_experiment_says_so():
    app = demo_app(start="tuning")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await goto_key(pilot, "net.ipv4.tcp_retries2")
        await pilot.press("t")
        await settle(pilot)
        text = view_text(app)
        assert "net.ipv4.tcp_retries2: the lab cannot show it here" in text
        assert "the closest experiment is tcp_keepalive" in text
        assert app.screen._try is not None and not app.screen._try.running


async def test_without_root_says_what_to_run(monkeypatch):
    monkeypatch.setattr(runner.os, "geteuid", lambda: 1000)
    app = demo_app(start="tuning")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await goto_key(pilot, SYN)
        await pilot.press("t")
        await settle(pilot)
        text = view_text(app)
        assert "the lab makes network namespaces, which needs root" in text and "sudo k8s-tui lab KEY=VALUE" in text
        await pilot.press("t")  # again: closes
        await settle(pilot)
        assert not app.screen.query_one(LabView).display


def fake_run() -> TryRun:
    """A finished Try it with fixed numbers, so the snapshot does not depend on a real run."""
    ev = [
        Event(0, "setup", "namespaces k8s-tui-lab-0a1b2c-client (198.18.0.1) and k8s-tui-lab-0a1b2c-server (198.18.0.2)", before_start=True),
        Event(0, "note", "predicted: 2 SYNs at 0, 1 s; connect() gives up at 3 s", before_start=True),
        Event(0.0, "state", "connect() to 198.18.0.2:7: EINPROGRESS, socket in SYN_SENT"),
        Event(0.001, "syn", "SYN #1 on the wire, first SYN (predicted at 0 s)"),
        Event(1.021, "syn", "SYN #2 on the wire, retransmission 1 (predicted at 1 s)"),
        Event(3.041, "state", "connect() failed with ETIMEDOUT: SYN_SENT -> CLOSED after 2 SYNs"),
        Event(3.05, "counter", "nftables in the server namespace dropped 2 SYNs"),
    ]
    out = Outcome("tcp_syn_retries", {SYN: "1"}, "6.8.0", {"give_up_s": 3.041, "syns": 2, "syn_times_s": [0.001, 1.021]},
                  {"give_up_s": 3.0, "syns": 2, "syn_times_s": [0.0, 1.0]}, True, "the same number of SYNs; give-up at most 0.2 s early",
                  timeline=ev)
    ours = TrySide("editing", "1", f"sudo k8s-tui lab {SYN}=1", status="done", outcome=out)
    base = TrySide("kernel default", "6", f"sudo k8s-tui lab {SYN}=6", status="not-run",
                   message=f"not run: would take 131 s; run `sudo k8s-tui lab {SYN}=6` to watch it", predicted={"give_up_s": 131.0, "syns": 11})
    from k8s_tui.knowledge import KernelVersion

    return TryRun(SYN, [ours, base], demo=True, kernel=KernelVersion.parse("6.8.0"))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_finished_try(snap_compare, size):
    async def run_before(pilot):
        await settle(pilot)
        await goto_key(pilot, SYN)
        screen = pilot.app.screen
        screen.show_try(fake_run())
        await settle(pilot)

    assert snap_compare(demo_app(start="tuning"), terminal_size=size, run_before=run_before)
