"""FaultPlan: parsing the forms a fault file allows, and the dry run's promise that a host's name
states nothing: only a FaultPlan makes a host fail, crawl or vanish. No test here measures time:
delays are read through the dry run's sleep hook, and each run is bounded by GUARD."""

from __future__ import annotations

import asyncio

import pytest

from k8s_tui.backends.kubeadm.dryrun import KubeadmDryRunExecutor
from k8s_tui.engine import dryrun
from k8s_tui.engine.dryrun import DryRunExecutor
from k8s_tui.engine.events import HostLost, RunFinished, StepFinished, StepStatus
from k8s_tui.engine.faults import Fault, FaultPlan
from k8s_tui.engine.planning import plan_steps
from k8s_tui.engine.runner import Runner
from k8s_tui.model.hosts import Host
from k8s_tui.model.plan import ClusterPlan
from k8s_tui.yamlio import InputError

GUARD = 60  # seconds a whole run may take before the test fails (never reached when all is well)
NAMED = ("fail-over-db", "slow-lane", "unreachable-lab")  # names that once meant a fault
DONE = {"ok", "changed", "unchanged"}


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    d = tmp_path / "state"
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(d))
    return d


@pytest.fixture
def sleeps(monkeypatch):
    """The delays the dry run asks for, in order; none is actually waited (each one only yields)."""
    asked: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds):
        asked.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(dryrun, "_sleep", fake_sleep)
    return asked


def lab_plan() -> ClusterPlan:
    return ClusterPlan(
        name="lab",
        kubernetes_version="1.32.13",
        hosts=[
            {"name": "cp1", "address": "10.0.0.1", "roles": ["control-plane"]},
            {"name": "fail-over-db", "address": "10.0.0.2", "roles": ["worker"]},
            {"name": "slow-lane", "address": "10.0.0.3", "roles": ["worker"]},
            {"name": "unreachable-lab", "address": "10.0.0.4", "roles": ["worker"]},
        ],
        tuning={"values": {"net.ipv4.ip_forward": 1, "vm.max_map_count": 262144}},
    )


async def dry_run(plan, scope, executor, tmp_path, **kw) -> tuple[RunFinished, list]:
    events: list = []
    r = Runner(plan, plan_steps(plan, scope, state_base=tmp_path), executor, journal=False, state_base=tmp_path, **kw)
    r.bus.subscribe(events.append)
    res = await asyncio.wait_for(r.run(), GUARD)
    return res, events


def failed_steps(events) -> list[tuple[str, str]]:
    return [(e.host, e.step_id) for e in events if isinstance(e, StepFinished) and e.status == StepStatus.FAILED]


# -- parsing ---------------------------------------------------------------------------------------


def test_each_form_parses():
    fp = FaultPlan.from_doc({
        "a": "fail",
        "b": {"fail": "sysctl"},
        "c": {"slow": 10},
        "d": "unreachable",
        "e": "slow",
        "f": {"fail": True},
        "g": {"unreachable": True},
        "h": {"slow": 2.5},
    })
    assert fp.get("a") == Fault(fail=True)
    assert fp.get("b") == Fault(fail=True, fail_step="sysctl")
    assert fp.get("c") == Fault(slow=10.0)
    assert fp.get("d") == Fault(unreachable=True)
    assert fp.get("e") == Fault(slow=10.0)  # bare "slow": ten times
    assert fp.get("f") == Fault(fail=True)
    assert fp.get("g") == Fault(unreachable=True)
    assert fp.get("h").slow == 2.5
    assert fp.get("nobody") is None and bool(fp)


def test_what_each_fault_means():
    fp = FaultPlan.from_doc({"a": "fail", "b": {"fail": "sysctl"}, "c": {"slow": 10}, "d": "unreachable"})
    # fail: every step's apply phase, never facts or checks
    assert fp.fails("a", "sysctl", "apply") and fp.fails("a", "swap", "apply")
    assert not fp.fails("a", "sysctl", "check") and not fp.fails("a", None, None)
    # fail: STEP: that step only
    assert fp.fails("b", "sysctl", "apply") and not fp.fails("b", "swap", "apply")
    assert not fp.fails("b", "sysctl", "check")
    # slow: a factor on delays, nothing else
    assert fp.slow_factor("c") == 10.0 and fp.slow_factor("a") == 1.0 and fp.slow_factor("nobody") == 1.0
    assert not fp.fails("c", "sysctl", "apply") and not fp.unreachable("c")
    # unreachable
    assert fp.unreachable("d") and not fp.unreachable("a") and not fp.unreachable("nobody")


def test_empty_plans_state_nothing():
    for fp in (FaultPlan(), FaultPlan.from_doc(None), FaultPlan.from_doc({})):
        assert not fp and fp.get("fail-x") is None
        assert not fp.unreachable("unreachable-x") and fp.slow_factor("slow-x") == 1.0
        assert not fp.fails("fail-x", "sysctl", "apply")


@pytest.mark.parametrize(("doc", "words"), [
    ({"db-1": "explode"}, ["db-1", "unknown fault 'explode'"]),
    ({"db-1": {"explode": 3}}, ["db-1", "unknown fault 'explode'"]),
    ({"db-1": {"slow": 0.5}}, ["db-1", "slow", "greater than or equal to 1"]),
    ({"db-1": {"slow": 0}}, ["db-1", "slow", "greater than or equal to 1"]),
    ({"db-1": {"slow": -3}}, ["db-1", "slow", "greater than or equal to 1"]),
    ({"db-1": {"fail": 3}}, ["db-1", "fail takes a step id"]),
    ({"db-1": {"fail": ["sysctl"]}}, ["db-1", "fail takes a step id"]),
    ({"db-1": {"fail": ""}}, ["db-1", "fail takes a step id"]),
    ({"db-1": {"unreachable": "yes"}}, ["db-1", "unreachable takes no argument"]),
    ({"db-1": ["fail"]}, ["db-1", "a fault is one of"]),
    ({"db-1": {"fail": "sysctl", "slow": 2}}, ["db-1", "a fault is one of"]),
    ({"db-1": 7}, ["db-1", "a fault is one of"]),
])
def test_bad_faults_name_the_host_and_the_rule(doc, words):
    with pytest.raises(InputError) as e:
        FaultPlan.from_doc(doc, "faults.yaml")
    msg = str(e.value)
    assert msg.startswith("faults.yaml: db-1: ")
    for w in words:
        assert w in msg, msg


def test_a_list_instead_of_a_mapping_is_refused():
    with pytest.raises(InputError, match=r"faults.yaml: expected a mapping of host name -> fault"):
        FaultPlan.from_doc(["db-1", "fail"], "faults.yaml")
    with pytest.raises(InputError, match=r"expected a mapping"):
        FaultPlan.from_doc("db-1: fail", "faults.yaml")


def test_load_reads_a_yaml_file(tmp_path):
    p = tmp_path / "faults.yaml"
    p.write_text(
        "# the lab's broken machines\n"
        "worker-2: fail                 # read-only /\n"
        "worker-4: {fail: sysctl}\n"
        "worker-3: {slow: 10}\n"
        "db-1: unreachable\n"
    )
    fp = FaultPlan.load(p)
    assert fp.faults == {
        "worker-2": Fault(fail=True),
        "worker-4": Fault(fail=True, fail_step="sysctl"),
        "worker-3": Fault(slow=10.0),
        "db-1": Fault(unreachable=True),
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text("worker-2: {slow: 0}\n")
    with pytest.raises(InputError) as e:
        FaultPlan.load(bad)
    assert str(e.value).startswith(f"{bad}: worker-2: slow")
    (tmp_path / "empty.yaml").write_text("")
    assert not FaultPlan.load(tmp_path / "empty.yaml")


# -- the dry run invents nothing -------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["tuning", "full"])
async def test_hosts_named_like_faults_dry_run_clean(scope, tmp_path):
    plan = lab_plan()
    res, events = await dry_run(plan, scope, KubeadmDryRunExecutor(speed=0), tmp_path)
    assert not [e for e in events if isinstance(e, HostLost)]
    assert not failed_steps(events), failed_steps(events)
    assert set(res.summary) == {"cp1", *NAMED}
    for name, s in res.summary.items():
        assert s["status"] in DONE and s["ok"], (name, s)
    # every named host went through every step of the plan, like cp1 did
    finished = {(e.host, e.step_id) for e in events if isinstance(e, StepFinished)}
    assert {st for h, st in finished if h == "fail-over-db"} >= {"facts", "sysctl"}


@pytest.mark.parametrize("scope", ["tuning", "full"])
async def test_a_fault_plan_fails_exactly_the_hosts_it_names(scope, tmp_path):
    plan = lab_plan()
    faults = FaultPlan.from_doc({"fail-over-db": "fail", "slow-lane": "unreachable"})
    res, events = await dry_run(plan, scope, KubeadmDryRunExecutor(speed=0, faults=faults), tmp_path)
    lost = [(e.host, e.kind) for e in events if isinstance(e, HostLost)]
    assert lost == [("slow-lane", "unreachable")]
    assert res.summary["slow-lane"]["status"] == "lost"
    assert "No route to host" in res.summary["slow-lane"]["message"]
    assert res.summary["fail-over-db"]["status"] == "failed"
    assert "Read-only file system" in res.summary["fail-over-db"]["message"]
    failed = failed_steps(events)
    assert ("slow-lane", "facts") in failed  # where it was lost
    assert [s for h, s in failed if h == "fail-over-db"] == [res.summary["fail-over-db"]["failed_step"]]
    # the hosts the plan does not name finish, "unreachable-lab" included
    assert res.summary["unreachable-lab"]["status"] in DONE and res.summary["unreachable-lab"]["ok"]
    assert "unreachable-lab" not in {h for h, _ in failed}
    if scope == "tuning":
        assert {h for h, _ in failed} == {"fail-over-db", "slow-lane"}
        assert res.summary["cp1"]["status"] in DONE and res.summary["cp1"]["ok"]
    else:
        # cp1 builds the cluster; only its last check sees the two nodes that never joined
        assert [s for h, s in failed if h == "cp1"] == ["verify"]
        assert res.summary["cp1"]["failed_step"] == "verify"
        assert "not in the cluster: fail-over-db, slow-lane" in res.summary["cp1"]["message"]
        assert all(v in DONE for k, v in res.summary["cp1"]["steps"].items() if k != "verify"), res.summary["cp1"]["steps"]
        assert {h for h, _ in failed} == {"cp1", "fail-over-db", "slow-lane"}


async def test_fail_step_fails_only_that_step(tmp_path):
    plan = lab_plan()
    faults = FaultPlan({"unreachable-lab": Fault(fail=True, fail_step="sysctl")})
    res, events = await dry_run(plan, "tuning", KubeadmDryRunExecutor(speed=0, faults=faults), tmp_path)
    assert failed_steps(events) == [("unreachable-lab", "sysctl")]
    assert res.summary["unreachable-lab"]["steps"]["facts"] == "ok"
    assert res.summary["unreachable-lab"]["failed_step"] == "sysctl"
    assert all(res.summary[n]["ok"] for n in ("cp1", "fail-over-db", "slow-lane"))


# -- slow: read through the sleep hook, never the clock --------------------------------------------


async def test_slow_multiplies_every_delay_of_that_host_only(sleeps):
    faults = FaultPlan.from_doc({"slow-lane": {"slow": 10}})
    ex = DryRunExecutor(speed=1, transcripts_dir=None, command_latency=0.05, faults=faults)
    await ex.run(Host(name="cp1", address="10.0.0.1"), ["true"])
    await ex.read_file(Host(name="slow-lane", address="10.0.0.3"), "/etc/hostname")
    await ex.run(Host(name="fail-over-db", address="10.0.0.2"), ["true"])
    assert sleeps == pytest.approx([0.05, 0.5, 0.05])
    sleeps.clear()
    ex0 = DryRunExecutor(speed=0, transcripts_dir=None, command_latency=0.05, faults=faults)
    await ex0.run(Host(name="slow-lane", address="10.0.0.3"), ["true"])
    assert not [s for s in sleeps if s > 0]  # speed 0: no delay, slow or not


async def test_slow_host_in_a_run_asks_for_ten_times_the_delays(sleeps, tmp_path):
    """One host per run, so the delays come in a fixed order: the same steps with and without the
    fault, each delay ten times longer with it."""
    plan = lab_plan()
    only = [h for h in plan.hosts if h.name == "slow-lane"]
    delays = {}
    for label, faults in (("plain", None), ("slow", FaultPlan.from_doc({"slow-lane": {"slow": 10}}))):
        sleeps.clear()
        res, _ = await dry_run(plan, "tuning", KubeadmDryRunExecutor(speed=1, command_latency=0.02, faults=faults), tmp_path,
                               hosts=only)
        assert res.summary["slow-lane"]["ok"]
        delays[label] = [s for s in sleeps if s > 0]
    assert delays["plain"] and len(delays["plain"]) == len(delays["slow"])
    assert delays["slow"] == pytest.approx([d * 10 for d in delays["plain"]])
    # and the name alone slows nothing: a plain run's delays are cp1's
    sleeps.clear()
    cp = [h for h in plan.hosts if h.name == "cp1"]
    await dry_run(plan, "tuning", KubeadmDryRunExecutor(speed=1, command_latency=0.02), tmp_path, hosts=cp)
    assert [s for s in sleeps if s > 0] == pytest.approx(delays["plain"])
