"""One truth: what the run did, what the summary says and what the commands print agree.

The runs here are the real engine on the kubeadm dry run (``KubeadmDryRunExecutor``) with stated
faults (``FaultPlan``); the import is the real ssh-config importer; the CLI is `k8s-tui` itself.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from k8s_tui.backends.importers import import_ssh_config, to_plan
from k8s_tui.backends.importers.ssh_config import place_hosts
from k8s_tui.backends.tool_runs import rest_of_install
from k8s_tui.cli import main, runs
from k8s_tui.engine.events import OutputLine, StepFinished
from k8s_tui.engine.faults import Fault, FaultPlan
from k8s_tui.model.hosts import Host, check_address
from k8s_tui.model.plan import ClusterPlan, ProxyMode, Tool
from k8s_tui.session.demo import demo_plan, demo_state
from k8s_tui.session.executors import ExecutorFactory
from k8s_tui.session.hosts import preview_import
from k8s_tui.session.run_session import RunSession
from k8s_tui.session.summary import cluster_info, cluster_lines
from k8s_tui.yamlio import InputError

# worker-2's join fails (its root file system is read-only by the stated fault); the others join
JOIN_FAILS = FaultPlan({"worker-2": Fault(fail=True, fail_step="kubeadm-join-workers")})


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    d = tmp_path / "state"
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(d))
    monkeypatch.setenv("COLUMNS", "200")
    return d


def two_workers_plan() -> ClusterPlan:
    # the demo's hosts without worker-3, whose old kernel preflight refuses (not what these test)
    p = demo_plan()
    return p.model_copy(update={"hosts": [h for h in p.hosts if h.name != "worker-3"]})


async def run_with(plan: ClusterPlan, faults: FaultPlan, *, skip: set[str] = frozenset()) -> tuple[RunSession, list]:
    """Run the plan's full kubeadm path on the dry run; when a host in ``skip`` fails, skip it (as
    `s` on the run screen does); when any other host fails, end the run (as `n` does)."""
    s = RunSession(plan, ExecutorFactory(mode="dry-run", faults=faults), wait_at_end=True)
    s.bus.subscribe(s.model.apply)
    events: list = []

    def on(ev):
        events.append(ev)
        if isinstance(ev, StepFinished) and ev.status == "failed":
            loop = asyncio.get_running_loop()
            loop.call_soon(s.runner.skip_host if ev.host in skip else (lambda _h: s.runner.finish()), ev.host)

    s.bus.subscribe(on)
    await asyncio.wait_for(s.run(), 120)
    return s, events


# ------------------------------------------------------------------------------ 1: skipped hosts


async def test_verify_does_not_wait_for_a_skipped_host_and_the_summary_says_it_is_out():
    s, events = await run_with(two_workers_plan(), JOIN_FAILS, skip={"worker-2"})
    summary = s.result.summary
    assert summary["worker-2"]["status"] == "skipped"
    verify = [e for e in events if isinstance(e, StepFinished) and e.step_id == "verify"]
    assert [e.status for e in verify] == ["changed"], [e.message for e in verify]
    assert "all 2 nodes Ready (worker-2 skipped by you: not in the cluster)" in verify[0].message
    assert summary["cp-1"]["status"] == "changed" and summary["worker-1"]["status"] == "changed"
    info = cluster_info(s)
    assert info.left_out == ["worker-2"]
    lines = cluster_lines(info)
    assert any(ln.startswith("not in the cluster: worker-2 (skipped by you") for ln in lines), lines
    # the verify step's log says it left worker-2 out, and waited for the others only
    log = [e.text for e in events if isinstance(e, OutputLine) and e.step_id == "verify"]
    assert "skipped by you, so not expected in the cluster: worker-2" in log
    waits = [t for t in log if " wait --for=condition=Ready" in t]
    assert waits and all("node/worker-2" not in t for t in waits)


# ------------------------------------------------------------------------------ 2: kubeconfig


async def test_summary_names_the_kubeconfig_the_verify_step_saved_even_when_it_then_failed():
    s, events = await run_with(two_workers_plan(), JOIN_FAILS)
    verify = [e for e in events if isinstance(e, StepFinished) and e.step_id == "verify"]
    assert [e.status for e in verify] == ["failed"]
    saved = [e.text for e in events if isinstance(e, OutputLine) and e.text.startswith("admin kubeconfig saved to ")]
    assert len(saved) == 1
    path = Path(saved[0].removeprefix("admin kubeconfig saved to ").split(" (mode")[0])
    assert path.exists()
    info = cluster_info(s)
    assert info.kubeconfig == path
    assert "not every node is Ready" in info.note
    assert cluster_lines(info)[-1].startswith(f"kubeconfig: {path} (mode 0600)")


def test_apply_prints_the_kubeconfig_it_saved(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text("name: one\ntool: kubeadm\nhosts:\n  - {name: cp-1, address: 192.0.2.10, roles: [control-plane]}\n")
    parser = argparse.ArgumentParser(prog="k8s-tui")
    runs.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["apply", str(plan), "--dry-run"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("kubeconfig: "))
    assert Path(line.removeprefix("kubeconfig: ").split(" (mode")[0]).exists()


# ------------------------------------------------------------------------------ 3: import roles


SSH_CONFIG = "Host web1\n  HostName 10.0.0.5\n  User admin\nHost web2\n  HostName 10.0.0.6\n  User admin\n"


def role_notice(res) -> str:
    return next(n.message for n in res.notices if n.message.startswith("an ssh config has no roles"))


def test_ssh_config_preview_and_notice_agree_when_the_plan_has_a_control_plane(tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text(SSH_CONFIG)
    pv = preview_import(demo_state(), "ssh-config", str(cfg))
    assert pv.ok, pv.error
    assert "host + web1 (worker) 10.0.0.5" in pv.changes
    notice = next(n.message for n in pv.notices if n.message.startswith("an ssh config has no roles"))
    assert "web1 becomes the control plane" not in notice
    assert "already has a control plane (cp-1)" in notice and "web1, web2 come in as workers" in notice


def test_ssh_config_roles_into_an_empty_plan_and_a_plan_without_control_plane(tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text(SSH_CONFIG)
    res = import_ssh_config(cfg)
    _, changes = to_plan(res, None)
    assert "host + web1 (control-plane) 10.0.0.5" in changes and "host + web2 (worker) 10.0.0.6" in changes
    assert "web1 becomes the control plane" in role_notice(res)
    # hosts with only a worker (a wizard draft): the first new host is the control plane, as the
    # notice says, and a host the plan has keeps its role
    res = import_ssh_config(cfg)
    placed = place_hosts(res, [Host(name="web2", address="10.0.0.9"), Host(name="w0", address="10.0.0.8")])
    assert {h.name: [r.value for r in h.roles] for h in placed}["web1"] == ["control-plane"]
    notice = role_notice(res)
    assert "web1 becomes the control plane" in notice and "web2 keeps its roles from the plan" in notice
    assert len([n for n in res.notices if n.message.startswith("an ssh config has no roles")]) == 1


# ------------------------------------------------------------------------------ 4: modules follow the plan


@pytest.mark.parametrize("mode", ["nftables", "iptables", "ipvs"])
async def test_the_dry_runs_module_lines_follow_the_plans_proxy_mode(mode):
    plan = two_workers_plan().model_copy(update={"kube_proxy_mode": ProxyMode(mode)})
    s = RunSession(plan, ExecutorFactory(mode="dry-run"), scope="full")
    lines: list[str] = []
    s.bus.subscribe(lambda ev: lines.append(ev.text) if isinstance(ev, OutputLine) and ev.step_id == "modules" else None)
    result = await s.run()
    assert result.status == "finished"
    assert "overlay: loaded" in lines
    assert any("ip_vs" in ln for ln in lines) == (mode == "ipvs"), [ln for ln in lines if "ip_vs" in ln]


async def test_the_demo_run_never_mentions_ip_vs_for_its_nftables_plan(monkeypatch):
    monkeypatch.setenv("K8S_TUI_DEMO_SPEED", "0")
    plan = demo_plan()
    assert plan.kube_proxy_mode is ProxyMode.nftables
    s = RunSession(plan, ExecutorFactory.demo(), scope="full")
    lines: list[str] = []
    s.bus.subscribe(lambda ev: lines.append(ev.text) if isinstance(ev, OutputLine) else None)
    await s.run()
    assert any(ln == "br_netfilter: loaded" for ln in lines)
    assert not [ln for ln in lines if "ip_vs" in ln]


# ------------------------------------------------------------------------------ 5: addresses


@pytest.mark.parametrize("bad,why", [
    ("1.2.3.999", "not a valid IPv4 address: octet 999"),
    ("10.0.0", "not a valid IPv4 address: expected 4 octets"),
    ("256.1.1.1", "not a valid IPv4 address"),
    ("web.123", "ends in the all-digit part '123'"),
    ("1:2:3", "not a valid IPv6 address"),
    ("bad_name", "neither an IP address nor a DNS name"),
    ("", "is empty"),
])
def test_check_address_refuses_with_the_allowed_forms(bad, why):
    with pytest.raises(ValueError) as e:
        check_address(bad)
    assert why in str(e.value)
    assert "it must be an IP address (192.0.2.10, 2001:db8::10) or a host name (web-1.example.com)" in str(e.value)


@pytest.mark.parametrize("good", ["192.0.2.10", "2001:db8::10", "::1", "web-1.example.com", "node1", "k8s-1.lab", "3com.example"])
def test_check_address_takes_ip_addresses_and_host_names(good):
    assert check_address(good) == good


def test_a_host_with_a_bad_address_names_the_field():
    with pytest.raises(ValidationError) as e:
        Host(name="cp-1", address="1.2.3.999")
    assert e.value.errors()[0]["loc"] == ("address",)


def test_check_command_refuses_the_address_naming_file_line_and_field(tmp_path, capsys):
    p = tmp_path / "plan.yaml"
    p.write_text("name: bad\nhosts:\n  - {name: cp-1, address: 1.2.3.999, roles: [control-plane]}\n")
    assert main(["check", str(p)]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "address" in err and "'1.2.3.999' is not a valid IPv4 address" in err


def test_no_bad_address_reaches_the_probe_through_an_import(tmp_path):
    # the probe probes the wizard's hosts; an import is the other way in besides the form and a plan
    cfg = tmp_path / "config"
    cfg.write_text("Host db\n  HostName 1.2.3.999\n")
    with pytest.raises(InputError) as e:
        import_ssh_config(cfg)
    assert "config:1: host 'db': address:" in str(e.value) and "not a valid IPv4 address" in str(e.value)
    pv = preview_import(demo_state(), "ssh-config", str(cfg))
    assert not pv.ok and "not a valid IPv4 address" in pv.error


# ------------------------------------------------------------------------------ 6: what the run leaves to the tool


@pytest.mark.parametrize("tool,command", [
    (Tool.kubespray, "k8s-tui run-tool plan.yaml --checkout KUBESPRAY_DIR"),
    (Tool.kubeasz, "k8s-tui run-tool plan.yaml --checkout /etc/kubeasz"),
    (Tool.kops, "k8s-tui run-tool plan.yaml"),
])
def test_a_tool_run_says_the_tool_is_not_in_it_and_names_the_command(tool, command):
    plan = demo_plan().model_copy(update={"tool": tool})
    text = rest_of_install(plan)
    assert "does not install Kubernetes" in text and f"`{command}" in text
    assert rest_of_install(demo_plan()) is None  # kubeadm's full run is the whole install
    assert "`k8s-tui apply plan.yaml`" in rest_of_install(demo_plan(), "tuning")
    assert rest_of_install(plan, "rollback") is None


async def test_the_summary_of_a_kubespray_run_names_the_run_tool_command():
    plan = two_workers_plan().model_copy(update={"tool": Tool.kubespray})
    s = RunSession(plan, ExecutorFactory(mode="dry-run"))
    await s.run()
    assert [st.id for st in s.run_plan.steps()] == ["facts", "sysctl"]
    lines = cluster_lines(cluster_info(s))
    assert len(lines) == 1 and "k8s-tui run-tool plan.yaml --checkout KUBESPRAY_DIR" in lines[0]


async def test_skipping_after_verify_failed_then_retrying_verify_passes():
    """The order a person meets it in: verify fails naming the host that did not join, the hint
    says skip it, the person skips it and retries verify, which then passes without it."""
    s = RunSession(two_workers_plan(), ExecutorFactory(mode="dry-run", faults=JOIN_FAILS), wait_at_end=True)
    verify: list[StepFinished] = []

    def on(ev):
        if isinstance(ev, StepFinished) and ev.step_id == "verify":
            verify.append(ev)
            loop = asyncio.get_running_loop()
            if ev.status == "failed":
                assert "skip them (s)" in ev.hint
                loop.call_soon(lambda: (s.runner.skip_host("worker-2"), s.runner.retry("cp-1", "verify")))
            else:
                loop.call_soon(s.runner.finish)

    s.bus.subscribe(on)
    result = await asyncio.wait_for(s.run(), 120)
    # the retry finds the kubeconfig already in place and every expected node Ready
    assert [e.status for e in verify] == ["failed", "unchanged"]
    assert "not in the cluster: worker-2" in verify[0].message
    assert "all 2 nodes Ready (worker-2 skipped by you: not in the cluster)" in verify[1].message
    assert result.summary["cp-1"]["status"] == "changed"
    assert cluster_info(s).left_out == ["worker-2"]


async def test_a_resume_after_verify_still_names_the_kubeconfig(state):
    """A resume skips the steps its run finished (verify too): the kubeconfig that run copied is
    still where it was, and the resume's summary says so."""
    first = RunSession(two_workers_plan(), ExecutorFactory(mode="dry-run"), state_base=state)
    await first.run()
    path = cluster_info(first).kubeconfig
    assert path is not None and path.exists()
    # as a real run of the plan would find it: its verify looks where the first run copied it
    again = RunSession(two_workers_plan(), ExecutorFactory(mode="ssh"), state_base=state,
                       resume_from=first.run_id, executor=first.executor)
    verify = next(s for s in again.run_plan.steps() if s.id == "verify")
    verify.state_base = path.parents[2]
    await again.run()
    assert again.result.summary["cp-1"]["steps"]["verify"] == "skipped"
    info = cluster_info(again)
    assert info.kubeconfig == path and "earlier run" in info.note


async def test_the_wizards_tool_run_in_a_dry_run_writes_nothing_and_shows_the_command(tmp_path, monkeypatch):
    from k8s_tui.session.tool_session import ToolSession

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ansible-playbook").write_text("#!/bin/sh\nexit 99\n")  # found on PATH; a dry run never runs it
    (bin_dir / "ansible-playbook").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    checkout = tmp_path / "kubespray"
    checkout.mkdir()
    (checkout / "cluster.yml").write_text("- hosts: all\n  tasks: []\n")
    plan = demo_plan().model_copy(update={"tool": Tool.kubespray})
    session = ToolSession(plan, ExecutorFactory(mode="dry-run"), checkout=str(checkout), out_dir=tmp_path / "out")
    lines: list[tuple[str, str]] = []
    result = await session.run(lambda stream, text: lines.append((stream, text)))
    assert result.ok and not (tmp_path / "out").exists()
    assert ("cmd", f"$ ansible-playbook -i {tmp_path / 'out/inventory/demo/inventory.ini'} cluster.yml -b") in lines
    assert session.verdict() == "kubespray: all 1 step(s) finished (dry run: nothing was written or run)"
    with pytest.raises(InputError, match="kubespray runs from its checkout"):
        ToolSession(plan, ExecutorFactory(mode="dry-run"), checkout=None, out_dir=tmp_path / "out").prepare()
