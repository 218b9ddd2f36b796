"""The run grid and failure panel at 80x24 (issue 13, "at home at 80x24"): the host column stays
put when the steps scroll sideways, init and join are in sight and marked, a long error keeps its
path whole."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from k8s_tui.screens.run import RunScreen
from k8s_tui.session.demo import DEMO_FAULTS
from k8s_tui.session.executors import ExecutorFactory
from k8s_tui.session.run_session import RunSession
from k8s_tui.widgets.hostkey_dialog import TuiPrompts
from k8s_tui.widgets.host_grid import compact_label
from k8s_tui.widgets.run_panels import failure_panel, fit, fit_lines, wrapped_lines

from tui_helpers import demo_app, settle, wait_until

SIZE = (80, 24)


@pytest.fixture
def short_base():
    """A state dir with a short path, as the demo's own (/tmp/k8s-tui-demo-XXXXXXXX): its paths fit
    a line at 80 columns, as pytest's long tmp_path does not."""
    d = Path(tempfile.mkdtemp(prefix="k8s-tui-demo-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


async def full_run(pilot, base: Path, scope: str = "full") -> RunScreen:
    """The demo's whole kubeadm path (14 steps), run until it waits on its failed hosts."""
    app = pilot.app
    await settle(pilot)
    session = RunSession(app.state.to_plan(), ExecutorFactory(mode="demo", speed=0, faults=DEMO_FAULTS),
                         scope=scope, prompts=TuiPrompts(app), state_base=base, wait_at_end=True)
    app.sessions.append(session)
    screen = RunScreen(session, demo=True)
    await app.push_screen(screen)
    await wait_until(pilot, screen.waiting, "the demo run to wait on its failed hosts", timeout=90,
                     seen=lambda: screen.model.progress())
    await settle(pilot)
    return screen


def lines(app) -> list[str]:
    return [s.text for s in app.screen._compositor.render_strips()]


def grid_lines(app, screen) -> list[str]:
    r = screen.grid.region
    return [ln[r.x:r.right] for ln in lines(app)[r.y:r.bottom]]


async def test_init_and_join_in_sight_and_marked_at_80_columns(tmp_path):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await full_run(pilot, tmp_path)
        assert len(screen.model.steps) >= 13  # the kubeadm path: too wide for 80 columns in full
        header = grid_lines(app, screen)[0]
        for title in ("INIT", "JNcp", "JNwk"):
            assert title in header, header
        grid = screen.grid
        for sid in ("kubeadm-init", "kubeadm-join-control-planes", "kubeadm-join-workers"):
            label = grid.columns[sid].label
            assert any(s.style.bold and s.style.underline for s in label.spans) or (
                label.style and label.style.bold and label.style.underline), (sid, label)
        assert not grid.columns["facts"].label.style and not grid.columns["facts"].label.spans
        # the cell under INIT for the control plane says what happened there
        rows = grid_lines(app, screen)
        col = header.index("INIT")
        cp = next(ln for ln in rows if ln.strip().startswith("cp-1"))
        assert cp[col:col + 4].strip() in ("chg", "ok", "="), (header, cp)


async def test_host_column_stays_put_when_scrolling_sideways(tmp_path):
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await full_run(pilot, tmp_path)
        grid = screen.grid
        grid.focus()
        for _ in range(len(screen.model.steps) + 2):  # to the last column (time)
            await pilot.press("right")
        await settle(pilot)
        assert grid.scroll_x > 0, "the grid is wider than 80 columns: it scrolled"
        rows = grid_lines(app, screen)
        assert rows[0].split()[:2] == ["host", "state"], rows[0]
        for host in screen.model.hosts:
            assert any(ln.split()[:1] == [host] for ln in rows[1:]), (host, rows)
        assert "vrfy" in rows[0] and "time" in rows[0]
        # it scrolls by whole columns: the first step in sight is a whole title, never "act" of "fact"
        titles = {grid.columns[sid].label.plain for sid in grid.step_ids}
        for key in ["left"] * (len(screen.model.steps) + 2) + ["right"] * (len(screen.model.steps) + 2):
            await pilot.press(key)
            await settle(pilot)
            first = grid_lines(app, screen)[0].split()[2]
            assert first in titles, (key, grid.cursor_column, grid_lines(app, screen)[0])


def long_failure(screen: RunScreen, base: Path) -> str:
    """Give worker-2's failed cell (DEMO_FAULTS) a hint that ends in a long path, as a real hint
    does ("the kubeconfig is already at ..."); returns the path."""
    path = f"{base}/runs/{screen.session.run_id}/clusters/demo/admin.conf"
    cell = screen.model.cell("worker-2", screen.model.failed_step("worker-2"))
    cell.hint = ("retry the failed join of those hosts, then this step, or skip them (s) to leave them "
                 f"out of the cluster (the kubeconfig is already at {path})")
    screen.grid.select_host("worker-2")
    screen.refresh_failure()
    return path


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_failure_panel_keeps_a_long_path_whole(short_base, size):
    """Where the panel has the room (120x40) the path shows, whole; where it has not (80x24: three
    lines, the log needs the rest) it is left out, never shown in part."""
    app = demo_app()
    async with app.run_test(size=size) as pilot:
        screen = await full_run(pilot, short_base, scope="tuning")
        path = long_failure(screen, short_base)
        assert len(path) > 60
        await settle(pilot)
        r = screen.query_one("#failure").region
        panel = [ln[r.x:r.right] for ln in lines(app)[r.y:r.bottom]]
        assert "FAILED worker-2" in panel[0]
        shown = [w.strip("()") for ln in panel for w in ln.split() if "k8s-tui-demo" in w or "clusters/" in w]
        assert all(w == path for w in shown), panel
        if size == (120, 40):
            assert shown == [path], panel


def test_fit_cuts_between_words_only():
    text = ("could not write /etc/sysctl.d/99-kubernetes-k8s-tui.conf: Read-only file system; "
            "the backup is in /var/lib/k8s-tui/backup/20261205-074005-cc85/etc/sysctl.d/99-k8s.conf")
    words = set(text.split())
    for n in (20, 40, 60, 90, 120):
        out = fit(text, n)
        assert "..." in out
        assert all(w in words or w == "..." for w in out.split()), (n, out)
        assert out.split()[-1] == text.split()[-1]  # the end (a path, a reason) is kept
    assert fit(text, 500) == text


async def test_failure_panel_wraps_at_word_boundaries(short_base):
    """Every line of the panel ends at a whole word of the message (a word longer than a line,
    such as a path with a ")" on it, is the only thing that folds)."""
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await full_run(pilot, short_base, scope="tuning")
        long_failure(screen, short_base)
        await settle(pilot)
        content = failure_panel(screen.model, "worker-2", width=77, tall=False)
        assert content is not None
        words = set(content.plain.split())
        r = screen.query_one("#failure").content_region
        shown = [ln[r.x:r.right].strip() for ln in lines(app)[r.y:r.bottom]]
        longer = [w for w in words if len(w) > r.width]  # only these may fold
        for ln in shown:
            for w in ln.split():
                assert w in words or any(w in lw for lw in longer), (w, shown)


def test_compact_titles_are_four_letters_and_the_cluster_steps_marked():
    for sid in ("facts", "reachability", "kubeadm-upload-certs-again", "some-new-step", "kubeadm-join-extra"):
        assert 1 <= len(compact_label(sid)) <= 4, sid
    assert compact_label("kubeadm-join-extra").isupper()


def test_fit_lines_keeps_the_start_when_the_end_is_one_word_too_long():
    path = "/tmp/k8s-tui-demo-6b2je0h2/runs/20261205-080754-a3e8/clusters/demo/admin.conf)"
    hint = f"retry the failed join of those hosts, then this step (the kubeconfig is already at {path}"
    out = fit_lines(hint, 77, 1, 6)
    assert wrapped_lines(out, 77, 6) == 1 and out.startswith("retry the failed join") and out.endswith("..."), out
    assert fit_lines(hint, 110, 2, 6).endswith(path)  # with the room the path shows, whole


async def test_the_hint_shows_whole_at_80x24(short_base):
    """The demo's verify failure: its message and its hint need two lines each. The panel takes a
    fourth line rather than cut the hint, the way out the user is looking for, in its middle."""
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await full_run(pilot, short_base)
        screen.grid.select_host("cp-1")
        screen.refresh_failure()
        await settle(pilot)
        hint = screen.model.cell("cp-1", "verify").hint
        assert hint and len(hint) > 80
        r = screen.query_one("#failure").content_region
        shown = " ".join(ln[r.x:r.right].strip() for ln in lines(app)[r.y:r.bottom])
        assert "FAILED cp-1 at verify" in shown and "..." not in shown, shown
        assert " ".join(hint.split()) in " ".join(shown.split()), shown
