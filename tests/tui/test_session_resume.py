"""Quitting mid-wizard and starting again offers to resume the plan being edited."""

from k8s_tui.app import make_app
from k8s_tui.model.plan import ClusterPlan
from k8s_tui.session.persistence import clear_session, load_session
from k8s_tui.widgets.dialogs import Confirm

PLAN = ClusterPlan(name="lab", hosts=[{"name": "cp-1", "address": "198.18.0.11", "roles": ["control-plane"]}])


async def _walk_to_tuning_and_quit():
    app = make_app(PLAN)
    app.cursor_blink = False
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+n", "ctrl+n")
        await pilot.pause()
        assert app.current_step() == "tuning"
        await app.action_quit()


async def test_quitting_saves_the_session_and_a_restart_offers_it():
    clear_session()
    await _walk_to_tuning_and_quit()
    session = load_session()
    assert session is not None and session.step == "tuning" and session.plan.name == "lab"

    app = make_app(None, demo=True, resume=session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await pilot.pause()
        assert app.current_step() == "tuning"
        assert not app.state.demo and [h.name for h in app.state.hosts] == ["cp-1"]


async def test_declining_opens_the_demo_and_keeps_the_saved_plan():
    clear_session()
    await _walk_to_tuning_and_quit()
    app = make_app(None, demo=True, resume=load_session())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert app.state.demo and app.current_step() == "tool"
    assert load_session() is not None


async def test_the_demo_is_never_saved():
    clear_session()
    app = make_app(None, demo=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+n")
        await pilot.pause()
        await app.action_quit()
    assert load_session() is None
