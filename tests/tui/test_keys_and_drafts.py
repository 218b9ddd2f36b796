"""Nothing typed is lost (drafts saved as they change, --new asks before taking a saved plan's
place), and the keys k9s and lazygit users expect: q asks, ? helps, j/k move, Esc never goes back."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Select

from k8s_tui.app import make_app
from k8s_tui.model.hosts import Host
from k8s_tui.model.plan import ClusterPlan
from k8s_tui.screens.review import ReviewScreen
from k8s_tui.screens.themes import DEFAULT
from k8s_tui.screens.tuning import TuningScreen
from k8s_tui.session import persistence as P
from k8s_tui.widgets.dialogs import Confirm, HelpScreen, binding_rows
from k8s_tui.widgets.host_form import HostForm
from k8s_tui.widgets.quit_dialog import NotReady, QuitDialog

from tui_helpers import demo_app, settle, wait_until

LAB = ClusterPlan(name="lab", hosts=[{"name": "cp-1", "address": "198.18.0.11", "roles": ["control-plane"]}])


def app_for(plan=None, **kw):
    app = make_app(plan, theme=DEFAULT, **kw)
    app.cursor_blink = False
    return app


async def save_lab_session() -> None:
    app = app_for(LAB)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+n", "ctrl+n")
        await wait_until(pilot, lambda: (s := P.load_session()) is not None and s.step == "tuning", "lab saved")
        await app.action_quit()


async def add_worker(pilot, name_keys: tuple[str, ...], address: str) -> None:
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HostForm), "the host form")
    form = pilot.app.screen
    form.query_one("#f-name", Input).focus()
    await pilot.press(*name_keys)  # typed key by key: q, j, k and ? must land in the field
    form.query_one("#f-address", Input).value = address
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: not isinstance(pilot.app.screen, HostForm), "the form to close")


# ---- lost work ------------------------------------------------------------------------------


async def test_new_then_quit_at_once_keeps_the_saved_plan():
    await save_lab_session()
    app = app_for(ClusterPlan(), replace=P.load_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, Confirm)
        question = str(app.screen.question)
        assert "'lab'" in question and "--restore" in question and str(P.history_dir()) in question
        await pilot.press("y")  # a new plan
        await settle(pilot)
        assert app.current_step() == "tool" and not app.state.hosts
        await pilot.press("ctrl+n")  # looking around is not typing anything
        await settle(pilot)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitDialog), "the quit question")
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running, "the app to quit")
    saved = P.load_session()
    assert saved is not None and saved.plan.name == "lab" and saved.step == "tuning"
    assert [s.plan.name for s in P.saved_sessions()] == ["lab"]


async def test_new_plan_with_a_host_moves_the_old_one_to_the_history():
    await save_lab_session()
    app = app_for(ClusterPlan(), replace=P.load_session())
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("y", "ctrl+n")
        await settle(pilot)
        await add_worker(pilot, tuple("w1"), "198.18.0.21")
        await wait_until(pilot, lambda: [s.plan.name for s in P.saved_sessions()] == ["k8s", "lab"],
                         "the new plan saved and lab kept", seen=lambda: [s.plan.name for s in P.saved_sessions()])
        await app.action_quit()
    assert P.restore_session(2).plan.name == "lab"


async def test_new_answered_no_resumes_the_saved_plan():
    await save_lab_session()
    app = app_for(ClusterPlan(), replace=P.load_session())
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert app.current_step() == "tuning" and [h.name for h in app.state.hosts] == ["cp-1"]


async def test_a_workers_only_draft_is_saved_on_every_change_and_restored_exactly():
    P.clear_session()
    app = app_for(ClusterPlan(name="edge"), start="hosts")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await add_worker(pilot, tuple("qjk-1"), "198.18.0.31")
        assert app.state.host_names() == ["qjk-1"]  # the letters were typed, not taken as keys
        # saved without quitting, though the plan cannot run (no control plane)
        await wait_until(pilot, lambda: (s := P.load_session()) is not None and [h.name for h in s.plan.hosts] == ["qjk-1"],
                         "the draft on disk")
        await add_worker(pilot, tuple("w2"), "198.18.0.32")
        await wait_until(pilot, lambda: len(P.load_session().plan.hosts) == 2, "the second worker on disk")
    # the app ended without a quit: what is on disk is what was typed
    session = P.load_session()
    assert [(h.name, h.address, [r.value for r in h.roles]) for h in session.plan.hosts] == [
        ("qjk-1", "198.18.0.31", ["worker"]), ("w2", "198.18.0.32", ["worker"])]
    app = app_for(None, demo=True, resume=session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "no control-plane host" in app.screen.question  # the offer says it is a draft
        await pilot.press("y")
        await settle(pilot)
        assert app.current_step() == "hosts" and app.state.host_names() == ["qjk-1", "w2"]


async def test_a_run_of_a_draft_is_blocked_by_a_notice_that_stays_and_names_the_fix():
    draft = ClusterPlan(name="edge").model_copy(update={"hosts": [
        Host.model_validate({"name": "w1", "address": "198.18.0.41", "roles": ["worker"]})]})
    app = app_for(draft, start="review")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, NotReady), "the not-ready notice")
        text = str(app.screen.query_one("#not-ready-text").render())
        assert "no control-plane host" in text and "step 2 Hosts" in text
        await pilot.pause(0.3)
        await settle(pilot)
        assert isinstance(app.screen, NotReady) and not app.sessions  # stays; nothing ran
        await pilot.press("g")
        await wait_until(pilot, lambda: app.current_step() == "hosts", "the hosts step")


# ---- keys -----------------------------------------------------------------------------------


async def test_q_asks_and_n_stays_and_ctrl_q_twice_quits():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitDialog), "the quit question")
        assert "demo" in str(app.screen.question)
        await pilot.press("n")
        await settle(pilot)
        assert app.is_running and app.current_step() == "tool"
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitDialog), "the quit question again")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running, "the app to quit")


async def test_quit_and_help_keys_are_in_the_footer():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = {b.binding.key_display for b in app.screen.active_bindings.values() if b.binding.show}
        assert "q/^q" in shown and "?" in shown


async def test_typing_q_in_an_input_types_it():
    app = demo_app(start="tuning")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "q", "j", "k", "question_mark")
        await settle(pilot)
        assert app.screen.query_one("#filter", Input).value == "qjk?"
        assert isinstance(app.screen, TuningScreen)


async def test_j_and_k_move_the_cursor_of_a_table():
    app = demo_app(start="tuning")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#sysctl-table", DataTable)
        table.focus()
        await settle(pilot)
        row = table.cursor_row
        await pilot.press("j", "j")
        await wait_until(pilot, lambda: table.cursor_row > row, "j to move down")
        moved = table.cursor_row
        await pilot.press("k")
        await wait_until(pilot, lambda: table.cursor_row < moved, "k to move up")


async def test_escape_closes_an_open_dropdown_and_nothing_more():
    app = demo_app(start="tuning")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        select = app.screen.query_one("#preset-select", Select)
        select.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: select.expanded, "the dropdown to open")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not select.expanded, "the dropdown to close")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TuningScreen)


async def test_escape_never_steps_the_wizard_back():
    app = demo_app(start="review")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("ctrl+b")  # back has its own key
        await wait_until(pilot, lambda: app.current_step() == "tuning", "ctrl+b back to tuning")


# ---- help -----------------------------------------------------------------------------------


async def test_help_fits_80x24_scrolls_says_how_to_close_and_lists_quit():
    app = demo_app(start="tuning")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "help from ?")
        box = app.screen.query_one("#help-scroll")
        assert box.region.y >= 0 and box.region.bottom <= 24 and box.region.right <= 80
        assert "esc/q/? close" in str(box.border_subtitle)
        assert box.max_scroll_y > 0  # more than fits: it scrolls
        await pilot.press("j", "j", "pagedown")
        await wait_until(pilot, lambda: box.scroll_y > 0, "help to scroll")
        body = str(app.screen.query_one("#help-body").render())
        assert "ctrl+q / q" in body and "j / k" in body and "f1 / ?" in body
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, TuningScreen), "? to close help")


async def test_help_rows_never_name_a_key_twice_or_by_itself():
    from k8s_tui.screens.run import RunScreen

    class Fake:
        BINDINGS = RunScreen.BINDINGS
        EXTRA_KEYS = getattr(RunScreen, "EXTRA_KEYS", [])
        app = make_app(demo=True)

    rows = binding_rows(Fake())  # type: ignore[arg-type]
    for keys, desc in rows:
        assert desc.strip().lower() != keys.strip().lower(), (keys, desc)
    texts = [d for _, d in rows]
    assert len(texts) == len(set(texts))
    assert not any(k in ("up", "down", "left", "right") for k, _ in rows)


# ---- quitting during a run ------------------------------------------------------------------


async def test_q_during_a_run_asks_harder_and_enter_keeps_it_running(tmp_path):
    import json

    from k8s_tui.engine.faults import Fault, FaultPlan
    from k8s_tui.model.hosts import Role
    from k8s_tui.screens.run import RunScreen
    from k8s_tui.session.executors import ExecutorFactory
    from k8s_tui.session.run_session import RunSession
    from k8s_tui.widgets.hostkey_dialog import TuiPrompts

    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.state.hosts = [Host(name="cp-1", address="192.0.2.10", roles=[Role.control_plane]),
                           Host(name="slow-worker", address="192.0.2.30", roles=[Role.worker])]
        factory = ExecutorFactory(mode="demo", speed=1.0, faults=FaultPlan({"slow-worker": Fault(slow=10.0)}))
        session = RunSession(app.state.to_plan(), factory, scope="full", prompts=TuiPrompts(app),
                             state_base=tmp_path, wait_at_end=True)
        app.sessions.append(session)
        screen = RunScreen(session, demo=True)
        await app.push_screen(screen)
        await wait_until(pilot, lambda: screen.model.status == "running", "the run to go",
                         seen=lambda: (screen.model.status, screen.model.reason, session.error))
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitDialog), "the quit question")
        dialog = app.screen
        assert dialog.harder
        text = str(dialog.query_one("#quit-text").render())
        assert "left mid-step" in text and f"k8s-tui resume {session.run_id} --dry-run" in text
        await pilot.press("enter")  # the focus is on "keep running"
        await wait_until(pilot, lambda: app.screen is screen, "the dialog to close",
                         seen=lambda: (app.screen, app.focused, app.screen_stack))
        assert screen.model.active
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitDialog), "the quit question again")
        await pilot.press("ctrl+q")  # a second ctrl+q does not stop a run
        await settle(pilot)
        assert isinstance(app.screen, QuitDialog) and screen.model.active
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running, "the app to quit", timeout=60)
    assert session.join(timeout=30)
    summary = json.loads((tmp_path / "runs" / session.run_id / "summary.json").read_text())
    assert summary["status"] == "interrupted"
