"""The non-UI parts the screens stand on: the tool catalogue and the wizard state."""

from __future__ import annotations

import pytest

from k8s_tui.backends.catalog import ASPECTS, TOOLS, Answers, recommend
from k8s_tui.knowledge import load_catalogue
from k8s_tui.model.hosts import Host, Role
from k8s_tui.model.plan import Tool, load_plan
from k8s_tui.session.demo import DEMO_FAULTS, DEMO_HOSTS, demo_state
from k8s_tui.session.state import WizardState


def test_every_tool_has_every_aspect():
    assert set(TOOLS) == set(Tool)
    for info in TOOLS.values():
        for attr, _ in ASPECTS:
            assert len(getattr(info, attr)) > 20, (info.tool, attr)


def test_tool_facts_are_honest():
    assert "not with kubeadm" in TOOLS[Tool.kubeasz].what
    assert "v2.3" in TOOLS[Tool.kubespray].what
    assert "cannot use your hosts" in TOOLS[Tool.kops].runs_on


@pytest.mark.parametrize(
    "answers, tool",
    [
        (Answers(), Tool.kubeadm),
        (Answers(ha=True), Tool.kubeadm),
        (Answers(ansible=True), Tool.kubespray),
        (Answers(platform="cloud"), Tool.kops),
        (Answers(platform="cloud", ansible=True), Tool.kubespray),
    ],
)
def test_recommendation(answers, tool):
    rec = recommend(answers)
    assert rec.tool is tool
    assert len(rec.reason) > 30


def test_recommendation_mentions_ha_needs():
    assert "load balancer" in recommend(Answers(ha=True)).reason


def test_answers_follow_recommendation_until_a_tool_is_picked():
    s = WizardState()
    s.set_answers(Answers(ansible=True))
    assert s.tool is Tool.kubespray
    s.set_tool(Tool.kubeasz)
    s.set_answers(Answers(platform="cloud"))
    assert s.tool is Tool.kubeasz


def test_demo_has_a_failing_host_and_mixed_values():
    s = demo_state()
    assert "worker-2" in s.host_names()
    # the failure is stated in the demo's fault plan, not read from the host's name
    assert DEMO_FAULTS.get("worker-2").fail and DEMO_FAULTS.fails("worker-2", "sysctl", "apply")
    assert [h for h in s.host_names() if DEMO_FAULTS.get(h) is not None] == ["worker-2"]
    assert 3 <= len(s.hosts) <= 4
    mixed = [e.key for e in s.catalogue if s.now(e.key).mixed]
    assert mixed, "the demo should show at least one key whose value differs between hosts"


def test_now_is_dash_without_probes():
    s = WizardState()
    s.hosts = list(DEMO_HOSTS)
    key = next(iter(s.catalogue)).key
    assert s.now(key).text == "-"


def _int_key(s: WizardState) -> str:
    for e in s.catalogue:
        if e.type.value == "int" and e.max is not None and e.max < 2**31 - 1:
            return e.key
    pytest.skip("no bounded int key in the catalogue")


def test_bad_value_names_the_rule_and_keeps_old():
    s = demo_state()
    key = _int_key(s)
    e = s.entry(key)
    before = s.final_values().get(key)
    chk = s.set_value(key, str(e.max + 1))
    assert not chk.ok
    assert any("outside the allowed range" in m for m in chk.errors)
    assert s.final_values().get(key) == before
    chk = s.set_value(key, "12abc")
    assert not chk.ok and "not a whole number" in chk.errors[0]


def test_override_survives_preset_switch_and_resets():
    s = demo_state()
    key = _int_key(s)
    e = s.entry(key)
    assert s.set_value(key, str(e.min)).ok
    for name in s.presets:
        s.set_preset(name)
        assert s.final_values()[key] == e.min
        row = next(r for r in s.rows() if r.key == key)
        assert row.changed and row.yours == str(e.min)
    assert s.reset_value(key)
    assert key not in s.overrides


def test_kernel_lacking_key_is_left_out_not_refused():
    s = demo_state()
    removed = [e for e in s.catalogue if e.removed_in]
    if not removed:
        pytest.skip("no removed key in the catalogue")
    e = removed[0]
    chk = s.check_edit(e.key, "0")
    assert chk.warnings and "left out" in chk.warnings[0]


def test_filter_by_key_and_summary():
    s = demo_state()
    e = next(iter(s.catalogue))
    rows = s.rows(e.key)
    assert any(r.key == e.key for r in rows)
    assert rows[0].key is None  # its group's title row comes first
    word = e.words("en").summary.split()[0]
    assert any(r.key == e.key for r in s.rows(word))
    assert s.rows("no-such-thing-xyz") == []


def test_diff_and_file_per_host():
    s = demo_state()
    for name in s.host_names():
        rows = s.host_diff(name)
        assert {r.key for r in rows} == set(s.final_values())
        text = s.sysctl_file(name)
        for r in rows:
            if r.status == "left out":
                assert f"# {r.key} left out" in text
            else:
                assert f"{r.key} = {r.new}" in text


def test_save_and_export_round_trip(tmp_path):
    s = demo_state()
    key = _int_key(s)
    s.set_value(key, str(s.entry(key).min))
    path = s.save(tmp_path / "plan.yaml")
    plan = load_plan(path)
    assert [h.name for h in plan.hosts] == s.host_names()
    assert plan.tuning.values[key] == s.entry(key).min
    assert plan.preset == s.preset
    written = s.export(tmp_path / "out")
    assert (tmp_path / "out" / "plan.yaml") in written
    for name in s.host_names():
        assert (tmp_path / "out" / "hosts" / name / s.base.sysctl_file).is_file()
    again = WizardState(plan)
    assert again.overrides.get(key) == s.entry(key).min
    assert again.preset == s.preset


def test_host_checks_name_the_field():
    s = WizardState()
    host, errors = s.check_host({"name": "Bad_Name", "address": "10.0.0.1", "port": 22, "user": "root", "roles": ["worker"]})
    assert host is None and errors["name"].startswith("name:")
    host, errors = s.check_host({"name": "n1", "address": "10.0.0.1", "port": 70000, "user": "root", "roles": ["worker"]})
    assert errors["port"].startswith("port:")
    host, errors = s.check_host({"name": "n1", "address": "10.0.0.1", "port": 22, "user": "root", "roles": []})
    assert "roles" in errors
    s.add_host(Host(name="n1", address="10.0.0.1", roles=[Role.control_plane]))
    host, errors = s.check_host({"name": "n1", "address": "10.0.0.2", "port": 22, "user": "root", "roles": ["worker"]})
    assert "already used" in errors["name"]


def test_plan_needs_a_control_plane():
    s = WizardState()
    s.add_host(Host(name="w1", address="10.0.0.1", roles=[Role.worker]))
    assert s.hosts_problem() == "no host has the control-plane role"
    from k8s_tui.yamlio import InputError

    with pytest.raises(InputError, match="control-plane"):
        s.to_plan()


def test_catalogue_loads():
    assert len(load_catalogue()) > 0
