"""The dry-run executor: recording, transcripts, speed, the simulated commands, stated faults."""

from __future__ import annotations

import asyncio

import pytest

from k8s_tui.engine import dryrun
from k8s_tui.engine.dryrun import TRANSCRIPTS_DIR, DryRunExecutor, Transcript, load_transcripts
from k8s_tui.engine.executor import ExecError, Executor
from k8s_tui.engine.faults import Fault, FaultPlan
from k8s_tui.engine.steps import CURRENT, StepPhase
from k8s_tui.model.hosts import Host


def h(name="node1"):
    return Host(name=name, address="10.0.0.7")


def test_it_is_an_executor():
    assert isinstance(DryRunExecutor(speed=0), Executor)


def test_shipped_transcripts_load():
    ts = load_transcripts(TRANSCRIPTS_DIR)
    assert ts and all(t.match for t in ts)
    assert any(t.matches("cat /etc/os-release") for t in ts)


async def test_every_call_is_recorded_per_host_with_step_and_phase():
    ex = DryRunExecutor(speed=0)
    token = CURRENT.set(StepPhase("sysctl", "apply"))
    try:
        await ex.run(h("a"), ["echo", "hello world"])
        await ex.write_file(h("b"), "/etc/x.conf", b"x = 1\n", mode=0o600, backup_dir="/var/lib/k8s-tui/backup/r1")
    finally:
        CURRENT.reset(token)
    await ex.read_file(h("a"), "/etc/hostname")
    assert ex.commands("a") == [["echo", "hello world"]]
    assert ex.commands("b") == []
    (w,) = ex.writes("b")
    assert (w.path, w.content, w.mode, w.backup_dir, w.step_id, w.phase) == (
        "/etc/x.conf", b"x = 1\n", 0o600, "/var/lib/k8s-tui/backup/r1", "sysctl", "apply")
    assert ex.calls[0].command == "echo 'hello world'"
    assert ex.calls[0].describe() == "$ echo 'hello world'"
    assert [c.kind for c in ex.calls] == ["run", "write", "read"]
    assert ex.hosts_seen() == ["a", "b"]


async def test_unknown_commands_succeed_silently():
    ex = DryRunExecutor(speed=0)
    res = await ex.run(h(), ["kubeadm", "version"])
    assert (res.exit_status, res.stdout, res.stderr) == (0, "", "")


async def test_transcripts_answer_with_lines_streams_and_substitution():
    t = Transcript.from_doc({
        "match": r"kubeadm join .*",
        "output": ["[preflight] Running pre-flight checks on {host}", {"stderr": "W0101 warning"}, "This node has joined the cluster"],
        "exit": 0,
    })
    ex = DryRunExecutor(speed=0, transcripts=[t], transcripts_dir=None)
    lines = []
    res = await ex.run(h("w1"), ["kubeadm", "join", "10.0.0.1:6443"], on_line=lambda s, ln: lines.append((s, ln)))
    assert lines == [
        ("stdout", "[preflight] Running pre-flight checks on w1"),
        ("stderr", "W0101 warning"),
        ("stdout", "This node has joined the cluster"),
    ]
    assert res.stdout.endswith("This node has joined the cluster\n") and res.stderr == "W0101 warning\n"


async def test_transcript_exit_status_and_check():
    t = Transcript(match="false-ish", lines=[("stderr", "nope")], exit=3)
    ex = DryRunExecutor(speed=0, transcripts=[t], transcripts_dir=None)
    assert (await ex.run(h(), ["false-ish"])).exit_status == 3
    with pytest.raises(ExecError) as e:
        await ex.run(h(), ["false-ish"], check=True)
    assert e.value.kind == "error" and "nope" in e.value.message


@pytest.fixture
def sleeps(monkeypatch):
    """The delays the executor asks for, in order; none is actually waited (each one only yields)."""
    asked: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds):
        asked.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(dryrun, "_sleep", fake_sleep)
    return asked


async def test_speed_scales_delays_and_slow_hosts_are_ten_times_slower(sleeps):
    t = Transcript(match="tick", lines=[("stdout", str(i)) for i in range(5)], delay=0.01)
    slow_plan = FaultPlan({"node2": Fault(slow=10)})
    fast = DryRunExecutor(speed=0, transcripts=[t], transcripts_dir=None, command_latency=0.01, faults=slow_plan)
    await fast.run(h(), ["tick"])
    await fast.run(h("node2"), ["tick"])
    assert not [s for s in sleeps if s > 0]  # speed 0: no delay at all, slow hosts included
    real = DryRunExecutor(speed=1, transcripts=[t], transcripts_dir=None, command_latency=0.0, faults=slow_plan)
    sleeps.clear()
    await real.run(h(), ["tick"])
    normal = [s for s in sleeps if s > 0]
    sleeps.clear()
    await real.run(h("node2"), ["tick"])
    slow = [s for s in sleeps if s > 0]
    assert normal == pytest.approx([0.01] * 5)  # one delay per line
    assert slow == pytest.approx([0.1] * 5)  # ten times longer on the host the plan makes slow
    latency = DryRunExecutor(speed=2, transcripts_dir=None, command_latency=0.05, faults=FaultPlan({"x": Fault(slow=10)}))
    sleeps.clear()
    await latency.run(h(), ["true"])
    await latency.read_file(h("x"), "/etc/hostname")
    assert sleeps == pytest.approx([0.1, 1.0])  # command latency scales by speed, and x10 on the slow host


async def test_host_names_state_no_fault(sleeps):
    """Without a FaultPlan, names that once meant something are ordinary hosts."""
    ex = DryRunExecutor(speed=1, transcripts_dir=None, command_latency=0.05)
    for name in ("slow-node", "unreachable-x", "fail-x"):
        assert (await ex.run(h(name), ["true"])).ok
        assert await ex.read_file(h(name), "/etc/hostname") is None
    assert sleeps == pytest.approx([0.05] * 6)
    token = CURRENT.set(StepPhase("sysctl", "apply"))
    try:
        assert (await ex.run(h("fail-x"), ["sysctl", "-w", "net.ipv4.ip_forward=1"])).ok
        assert (await ex.write_file(h("fail-x"), "/etc/sysctl.d/k.conf", b"x")).changed
    finally:
        CURRENT.reset(token)


async def test_unreachable_hosts_fail_at_first_contact():
    ex = DryRunExecutor(speed=0, faults=FaultPlan({"x": Fault(unreachable=True)}))
    for call in (ex.run(h("x"), ["true"]), ex.read_file(h("x"), "/etc/hostname"),
                 ex.write_file(h("x"), "/etc/x", b"")):
        with pytest.raises(ExecError) as e:
            await call
        assert e.value.kind == "unreachable" and "10.0.0.7" in e.value.message
    assert (await ex.run(h("y"), ["true"])).ok  # only the host the plan names


async def test_fail_hosts_fail_every_apply_command_only():
    ex = DryRunExecutor(speed=0, faults=FaultPlan({"x": Fault(fail=True)}))
    host = h("x")
    assert (await ex.run(host, ["sysctl", "-n", "net.ipv4.ip_forward"])).ok  # outside a step
    token = CURRENT.set(StepPhase("sysctl", "check"))
    assert (await ex.run(host, ["sysctl", "-n", "net.ipv4.ip_forward"])).ok
    CURRENT.set(StepPhase("sysctl", "apply"))
    try:
        r = await ex.run(host, ["sysctl", "-w", "net.ipv4.ip_forward=1"])
        assert r.exit_status == 1
        assert r.stderr == 'sysctl: setting key "net.ipv4.ip_forward": Read-only file system\n'
        r = await ex.run(host, ["mkdir", "-p", "/var/lib/k8s-tui"])
        assert "cannot create directory '/var/lib/k8s-tui': Read-only file system" in r.stderr
        with pytest.raises(ExecError, match="Read-only file system"):
            await ex.write_file(host, "/etc/sysctl.d/k.conf", b"x")
    finally:
        CURRENT.reset(token)
    assert ex.sim("x").sysctl_get("net.ipv4.ip_forward") == "0"


async def test_sysctl_reads_knowledge_base_defaults_and_remembers_writes():
    ex = DryRunExecutor(speed=0)
    r = await ex.run(h(), ["sysctl", "-n", "net.core.somaxconn", "net.ipv4.tcp_rmem", "net.ipv4.ip_forward"])
    assert r.stdout == "4096\n4096\t131072\t33554432\n0\n"
    r = await ex.run(h(), ["sysctl", "-w", "net.core.somaxconn=8192", "net.ipv4.tcp_rmem=4096 87380 6291456"])
    assert r.stdout == "net.core.somaxconn = 8192\nnet.ipv4.tcp_rmem = 4096 87380 6291456\n"
    r = await ex.run(h(), ["sysctl", "net.core.somaxconn", "net.ipv4.tcp_rmem"])
    assert r.stdout == "net.core.somaxconn = 8192\nnet.ipv4.tcp_rmem = 4096\t87380\t6291456\n"
    # another host is untouched
    assert (await ex.run(h("other"), ["sysctl", "-n", "net.core.somaxconn"])).stdout == "4096\n"


async def test_sysctl_p_loads_a_written_file():
    ex = DryRunExecutor(speed=0, missing_sysctls={"net.no.such"})
    await ex.write_file(h(), "/etc/sysctl.d/k.conf", b"# c\nnet.core.somaxconn = 1024\n-net.no.such = 1\nnet.ipv4.ip_local_reserved_ports = 30000-32767,8080\n")
    r = await ex.run(h(), ["sysctl", "-p", "/etc/sysctl.d/k.conf"])
    assert r.ok and r.stdout == "net.core.somaxconn = 1024\nnet.ipv4.ip_local_reserved_ports = 30000-32767,8080\n"
    assert ex.sim("node1").sysctl_get("net.ipv4.ip_local_reserved_ports") == "8080,30000-32767"
    r = await ex.run(h(), ["sysctl", "-p", "/etc/sysctl.d/none.conf"])
    assert r.exit_status == 1 and "No such file" in r.stderr
    r = await ex.run(h(), ["sysctl", "--system"])
    assert r.exit_status == 1


async def test_missing_keys_and_kernel_versions():
    ex = DryRunExecutor(speed=0, missing_sysctls={"net.bridge.bridge-nf-call-iptables"}, kernels={"old": "4.9.0-19-amd64"})
    r = await ex.run(h(), ["sysctl", "-n", "net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables"])
    assert r.exit_status == 1 and r.stdout == "0\n"
    assert r.stderr == "sysctl: cannot stat /proc/sys/net/bridge/bridge-nf-call-iptables: No such file or directory\n"
    assert (await ex.run(h(), ["sysctl", "-e", "-n", "net.bridge.bridge-nf-call-iptables"])).ok
    assert not (await ex.run(h(), ["test", "-e", "/proc/sys/net/bridge/bridge-nf-call-iptables"])).ok
    # tcp_tw_recycle was removed in 4.12: a 6.1 host lacks it, a 4.9 host has it
    assert not (await ex.run(h(), ["test", "-e", "/proc/sys/net/ipv4/tcp_tw_recycle"])).ok
    assert (await ex.run(h("old"), ["test", "-e", "/proc/sys/net/ipv4/tcp_tw_recycle"])).ok
    assert (await ex.run(h("old"), ["uname", "-r"])).stdout == "4.9.0-19-amd64\n"


async def test_files_hostname_cat_rm():
    ex = DryRunExecutor(speed=0, files={"/etc/motd": "hi\n"})
    assert (await ex.run(h("n7"), ["hostname"])).stdout == "n7\n"
    assert (await ex.run(h(), ["cat", "/etc/motd"])).stdout == "hi\n"
    assert (await ex.run(h(), ["cat", "/proc/sys/net/core/somaxconn"])).stdout == "4096\n"
    assert await ex.read_file(h(), "/proc/sys/net/core/somaxconn") == b"4096\n"
    assert await ex.read_file(h(), "/etc/none") is None
    assert (await ex.run(h(), ["rm", "-f", "--", "/etc/motd"])).ok
    assert await ex.read_file(h(), "/etc/motd") is None
    r = await ex.run(h(), ["cat", "/etc/motd"])
    assert r.exit_status == 1 and r.stderr == "cat: /etc/motd: No such file or directory\n"


async def test_write_file_reports_changes_and_backups_like_the_ssh_executor():
    ex = DryRunExecutor(speed=0)
    w1 = await ex.write_file(h(), "/etc/a.conf", b"1\n", backup_dir="/b")
    assert w1.changed and w1.backup == "/b/a.conf.absent"
    w2 = await ex.write_file(h(), "/etc/a.conf", b"1\n", backup_dir="/b")
    assert not w2.changed and w2.backup is None
    w3 = await ex.write_file(h(), "/etc/a.conf", b"2\n", backup_dir="/b")
    assert w3.changed and w3.backup == "/b/a.conf"
    assert ex.sim("node1").files["/b/a.conf"] == b"1\n"
    assert "/b/a.conf.absent" not in ex.sim("node1").files
    w4 = await ex.write_file(h(), "/etc/a.conf", b"2\n", mode=0o600)
    assert w4.changed  # same bytes, other mode
