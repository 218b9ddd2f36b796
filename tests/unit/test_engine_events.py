"""Events are JSON-serialisable with a type field; the bus survives a bad subscriber."""

import json
import logging

from k8s_tui.engine.events import (
    SubscriberFailed,
    EventBus,
    HostLost,
    OutputLine,
    RunFinished,
    RunStarted,
    StepFinished,
    StepsPlanned,
    StepStarted,
    event_from_dict,
)


def test_every_event_round_trips_through_json():
    events = [
        RunStarted(run_id="r1", plan={"name": "k8s"}, hosts=["a", "b"], steps=["facts", "sysctl"]),
        StepsPlanned(run_id="r1", stages=[{"stage": "s", "steps": [{"id": "x", "hosts": ["a"]}]}]),
        StepStarted(host="a", step_id="sysctl"),
        OutputLine("a", "sysctl", "stderr", "\x1b[31mraw\r text"),
        StepFinished(host="a", step_id="sysctl", status="failed", duration_s=1.5, message="m", hint="h"),
        HostLost(host="b", reason="connection reset", kind="lost"),
        RunFinished(run_id="r1", status="finished", summary={"a": {"status": "failed", "ok": False}}),
    ]
    for ev in events:
        d = json.loads(json.dumps(ev.to_dict()))
        assert d["type"] == ev.type
        back = event_from_dict(d)
        assert type(back) is type(ev)
        assert back.to_dict() == ev.to_dict()


def test_type_names():
    assert StepFinished(host="a", step_id="s", status="ok").type == "step_finished"
    assert OutputLine("a", "s", "stdout", "x").type == "output"


def test_bus_delivers_in_order_to_every_subscriber():
    bus = EventBus()
    a, b = [], []
    bus.subscribe(a.append)
    unsub = bus.subscribe(b.append)
    bus.publish(1)
    unsub()
    bus.publish(2)
    assert a == [1, 2]
    assert b == [1]


def test_a_raising_subscriber_is_logged_and_dropped(caplog):
    bus = EventBus()
    seen = []

    def bad(ev):
        raise RuntimeError("subscriber bug")

    bus.subscribe(bad)
    bus.subscribe(seen.append)
    with caplog.at_level(logging.DEBUG):
        bus.publish("one")
        bus.publish("two")
    # the others hear that it broke (before the event it broke on reaches them), then go on
    failed, *rest = seen
    assert isinstance(failed, SubscriberFailed) and failed.error == "RuntimeError: subscriber bug"
    assert rest == ["one", "two"]
    assert bad not in bus.subscribers
    assert "subscriber bug" in caplog.text
