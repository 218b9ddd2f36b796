"""The sysctl step and its rollback against the dry-run executor (golden command lists)."""

from __future__ import annotations

import json

import pytest

from k8s_tui.engine.dryrun import DryRunExecutor
from k8s_tui.engine.events import OutputLine, StepFinished
from k8s_tui.engine.faults import FaultPlan
from k8s_tui.engine.planning import FactsLiteStep
from k8s_tui.engine.runner import Runner, RunPlan, Stage
from k8s_tui.hostprep.sysctl import (
    CHECK_SCRIPT,
    SysctlRollback,
    SysctlStep,
    normalise,
    parse_sysctl_n,
    parse_sysctl_named,
    same_value,
)
from k8s_tui.knowledge import KernelVersion
from k8s_tui.model.hosts import Host, Role

VALUES = {
    "net.ipv4.ip_forward": 1,
    "net.core.somaxconn": 32768,
    "net.ipv4.tcp_rmem": (4096, 87380, 6291456),
    "net.ipv4.ip_local_reserved_ports": "30000-32767,8080",
}
FILE = "/etc/sysctl.d/90-k8s-tui.conf"
RUN = "20250101-120000-abcd"
BACKUP = f"/var/lib/k8s-tui/backup/{RUN}"
KEYS = list(VALUES)
# the order the step reads them in: port lists first (an empty one must not be the last line)
READ = ["net.ipv4.ip_local_reserved_ports", "net.ipv4.ip_forward", "net.core.somaxconn", "net.ipv4.tcp_rmem"]
MANIFEST = f"{BACKUP}/sysctl/90-k8s-tui.conf.json"


def is_check(argv, keys=READ, manifest=MANIFEST):
    """The check's one command: the fixed script, then file, digest, manifest and keys as arguments."""
    return (argv[:4] == ["sh", "-c", CHECK_SCRIPT, "k8s-tui-sysctl"] and argv[4] == FILE
            and len(argv[5]) == 64 and argv[6] == manifest and argv[7:] == keys)


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path / "state"))


def host(name="node1"):
    return Host(name=name, address="10.0.0.1", roles=[Role.control_plane])


async def run_steps(ex, steps, *, name="node1", run_id=RUN, facts=True):
    stages = ([Stage("facts", [FactsLiteStep()])] if facts else []) + [Stage("s", steps)]
    r = Runner(None, RunPlan(stages), ex, hosts=[host(name)], run_id=run_id)
    events = []
    r.bus.subscribe(events.append)
    res = await r.run()
    fin = {e.step_id: e for e in events if isinstance(e, StepFinished)}
    logs = [e.text for e in events if isinstance(e, OutputLine) and e.stream == "info"]
    return res, fin, logs


# -- parsing ---------------------------------------------------------------------------------


def test_parse_sysctl_n_keeps_tabs_and_drops_trailing_empty_lines():
    assert parse_sysctl_n("1\n4096\t131072\t6291456\n") == ["1", "4096\t131072\t6291456"]
    assert parse_sysctl_n("1\n2\n\n") == ["1", "2"]  # asyncssh's occasional extra empty line
    assert parse_sysctl_n("1\r\n2\r\n") == ["1", "2"]
    assert parse_sysctl_n("1\n\n2\n") == ["1", "", "2"]  # an empty value in the middle is a value
    assert parse_sysctl_n("") == []


def test_parse_sysctl_named():
    out = "net.ipv4.ip_forward = 1\nnet.ipv4.tcp_rmem = 4096\t131072\t6291456\nnet.ipv4.ip_local_reserved_ports = \n"
    assert parse_sysctl_named(out) == {
        "net.ipv4.ip_forward": "1",
        "net.ipv4.tcp_rmem": "4096\t131072\t6291456",
        "net.ipv4.ip_local_reserved_ports": "",
    }


def test_values_compare_by_meaning_not_by_spelling():
    assert same_value("net.ipv4.tcp_rmem", (4096, 87380, 6291456), "4096\t87380\t6291456")
    assert same_value("net.ipv4.tcp_rmem", (4096, 87380, 6291456), " 4096  87380 6291456 ")
    assert not same_value("net.ipv4.tcp_rmem", (4096, 87380, 6291456), "4096\t87380\t4194304")
    assert same_value("net.core.somaxconn", 4096, "4096")
    assert same_value("net.ipv4.ip_local_reserved_ports", "30000-32767,8080", "8080,30000-32767")
    assert same_value("net.ipv4.ip_local_reserved_ports", "", "")
    assert normalise("net.ipv4.ip_local_port_range", (1024, 65535)) == (1024, 65535)


# -- the step --------------------------------------------------------------------------------


async def test_fresh_host_golden_commands_and_writes():
    ex = DryRunExecutor(speed=0)
    res, fin, logs = await run_steps(ex, [SysctlStep(VALUES, "90-k8s-tui.conf")])
    assert fin["sysctl"].status == "changed", fin["sysctl"].message
    cmds = ex.commands("node1", step_id="sysctl")
    assert is_check(cmds[0])  # check: live values, the file and the manifest in one command
    assert cmds[1:] == [
        ["sysctl", "-p", FILE],  # apply
        ["sysctl", "-n", *READ],  # verify: read back
        ["cat", "--", FILE],
    ]
    writes = ex.writes("node1")
    # the write program creates the backup directory (the manifest's) before writing
    assert [(w.path, w.mode, w.backup_dir) for w in writes] == [
        (MANIFEST, 0o600, f"{BACKUP}/sysctl"),
        (FILE, 0o644, f"{BACKUP}/sysctl"),
    ]
    manifest = json.loads(writes[0].content)
    assert manifest["existed"] is False and manifest["path"] == FILE
    assert manifest["live"] == {
        "net.ipv4.ip_forward": "0",
        "net.core.somaxconn": "4096",
        "net.ipv4.tcp_rmem": "4096\t131072\t33554432",
        "net.ipv4.ip_local_reserved_ports": "",
    }
    body = writes[1].content.decode()
    assert body.splitlines()[2:] == [
        "net.ipv4.ip_forward = 1",
        "net.core.somaxconn = 32768",
        "net.ipv4.tcp_rmem = 4096 87380 6291456",
        "net.ipv4.ip_local_reserved_ports = 30000-32767,8080",
    ]
    assert body.startswith("# Kernel parameters for a Kubernetes node")
    assert "net.core.somaxconn: 4096 -> 32768" in logs
    assert fin["sysctl"].message.startswith("4 of 4 values changed")
    # the check is one read-only command; apply writes the manifest before the file
    kinds = [(c.kind, c.phase) for c in ex.calls if c.step_id == "sysctl"]
    assert kinds == [("run", "check"), ("write", "apply"), ("write", "apply"), ("run", "apply"),
                     ("run", "verify"), ("run", "verify")]


async def test_second_run_is_unchanged_and_only_reads():
    ex = DryRunExecutor(speed=0)
    step = SysctlStep(VALUES, "90-k8s-tui.conf")
    await run_steps(ex, [step])
    n = len(ex.calls)
    res, fin, _ = await run_steps(ex, [step], run_id="20250101-130000-abcd")
    assert fin["sysctl"].status == "unchanged"
    assert "already set" in fin["sysctl"].message
    later = [c for c in ex.calls[n:] if c.step_id == "sysctl"]
    assert len(later) == 1 and later[0].kind == "run"  # only the check's one command
    assert is_check(later[0].argv, manifest="/var/lib/k8s-tui/backup/20250101-130000-abcd/sysctl/90-k8s-tui.conf.json")


async def test_a_changed_file_alone_makes_the_step_rewrite_it():
    ex = DryRunExecutor(speed=0)
    step = SysctlStep(VALUES, "90-k8s-tui.conf")
    await run_steps(ex, [step])
    ex.sim("node1").files[FILE] += b"# a hand edit\n"
    _, fin, logs = await run_steps(ex, [step], run_id="20250101-130000-abcd")
    assert fin["sysctl"].status == "changed"
    assert f"{FILE} differs from the planned content" in logs
    assert "0 of 4 values changed" in fin["sysctl"].message


async def test_an_existing_file_is_backed_up_in_the_manifest():
    old = b"net.core.somaxconn = 1024\n"
    ex = DryRunExecutor(speed=0, files={FILE: old}, sysctls={"net.core.somaxconn": 1024})
    await run_steps(ex, [SysctlStep(VALUES, "90-k8s-tui.conf")])
    manifest = json.loads(ex.sim("node1").files[f"{BACKUP}/sysctl/90-k8s-tui.conf.json"])
    assert manifest["existed"] is True
    import base64

    assert base64.b64decode(manifest["content_b64"]) == old
    assert manifest["live"]["net.core.somaxconn"] == "1024"
    assert ex.sim("node1").files[f"{BACKUP}/sysctl/90-k8s-tui.conf"] == old  # the executor's own copy


async def test_an_existing_file_is_read_byte_for_byte_and_restored():
    old = b"# \xff not utf-8\r\nnet.core.somaxconn = 1024"  # no final newline
    ex = DryRunExecutor(speed=0, files={FILE: old})
    _, fin, logs = await run_steps(ex, [SysctlStep(VALUES, "90-k8s-tui.conf")])
    assert fin["sysctl"].status == "changed"
    assert f"{FILE} differs from the planned content" in logs
    import base64

    manifest = json.loads(ex.sim("node1").files[MANIFEST])
    assert base64.b64decode(manifest["content_b64"]) == old
    _, fin, _ = await run_steps(ex, [SysctlRollback("90-k8s-tui.conf", RUN)], run_id="20250101-140000-abcd")
    assert fin["sysctl-rollback"].status == "changed"
    assert ex.sim("node1").files[FILE] == old


async def test_keys_the_kernel_lacks_are_left_out_and_said_so():
    values = {**VALUES, "net.ipv4.tcp_tw_recycle": 0, "net.bridge.bridge-nf-call-iptables": 1}
    # tcp_tw_recycle: removed in 4.12 (known from the kernel version); bridge: br_netfilter not loaded
    ex = DryRunExecutor(speed=0, missing_sysctls={"net.bridge.bridge-nf-call-iptables"})
    _, fin, logs = await run_steps(ex, [SysctlStep(values, "90-k8s-tui.conf")])
    assert fin["sysctl"].status == "changed"
    cmds = ex.commands("node1", step_id="sysctl")
    assert is_check(cmds[0], keys=[*READ, "net.bridge.bridge-nf-call-iptables"])  # one command, missing or not
    assert cmds[1:] == [["sysctl", "-p", FILE], ["sysctl", "-n", *READ], ["cat", "--", FILE]]
    assert any(ln.startswith("net.ipv4.tcp_tw_recycle: left out (removed in kernel 4.12") for ln in logs)
    assert any(ln.startswith("net.bridge.bridge-nf-call-iptables: left out (this host has no /proc/sys/net/bridge/") for ln in logs)
    body = ex.sim("node1").files[FILE].decode()
    assert "# net.ipv4.tcp_tw_recycle left out: removed in kernel 4.12, this host runs 6.1" in body
    assert "# net.bridge.bridge-nf-call-iptables left out: this host has no /proc/sys/net/bridge/bridge-nf-call-iptables" in body
    assert "\nnet.bridge" not in body and "\nnet.ipv4.tcp_tw_recycle" not in body
    assert "left out 2" in fin["sysctl"].message


async def test_without_facts_the_kernel_version_is_unknown_and_proc_decides():
    ex = DryRunExecutor(speed=0, kernel="4.19.0-26-amd64")
    values = {"net.ipv4.ip_forward": 1, "net.ipv4.tcp_tw_recycle": 0}
    _, fin, logs = await run_steps(ex, [SysctlStep(values, "90-k8s-tui.conf")], facts=False)
    assert fin["sysctl"].status == "changed"
    assert "/proc/sys/net/ipv4/tcp_tw_recycle" in ex.sim("node1").files[FILE].decode()


async def test_a_clamped_value_fails_verify_with_key_wanted_and_got():
    ex = DryRunExecutor(speed=0, clamp={"net.core.somaxconn": 4096})
    res, fin, _ = await run_steps(ex, [SysctlStep(VALUES, "90-k8s-tui.conf")])
    f = fin["sysctl"]
    assert f.status == "failed"
    assert "net.core.somaxconn: wanted 32768, got 4096" in f.message
    assert "clamp" in f.hint
    assert res.summary["node1"]["failed_step"] == "sysctl"


async def test_apply_failure_on_a_read_only_host():
    ex = DryRunExecutor(speed=0, faults=FaultPlan.from_doc({"fail-node1": "fail"}))
    res, fin, _ = await run_steps(ex, [SysctlStep(VALUES, "90-k8s-tui.conf")], name="fail-node1")
    assert fin["facts"].status == "ok"  # read-only steps still work
    f = fin["sysctl"]
    assert f.status == "failed" and "Read-only file system" in f.message
    assert FILE not in ex.sim("fail-node1").files


async def test_sysctl_p_errors_fail_the_step_with_the_kernel_message():
    class RefusingDryRun(DryRunExecutor):
        def _sim_sysctl(self, host, sim, args):
            if args[:1] == ["-p"]:
                return [("stdout", "net.ipv4.ip_forward = 1"),
                        ("stderr", 'sysctl: setting key "net.core.somaxconn": Invalid argument')], 1
            return super()._sim_sysctl(host, sim, args)

    ex = RefusingDryRun(speed=0)
    _, fin, _ = await run_steps(ex, [SysctlStep(VALUES, "90-k8s-tui.conf")])
    f = fin["sysctl"]
    assert f.status == "failed"
    assert 'setting key "net.core.somaxconn": Invalid argument' in f.message
    assert f"rollback {RUN}" in f.hint


async def test_a_retry_keeps_the_first_backup():
    ex = DryRunExecutor(speed=0, clamp={"net.core.somaxconn": 4096})
    step = SysctlStep(VALUES, "90-k8s-tui.conf")
    r = Runner(None, RunPlan([Stage("s", [step])]), ex, hosts=[host()], run_id=RUN, wait_at_end=True)
    events = []
    r.bus.subscribe(events.append)

    def on(ev):
        if isinstance(ev, StepFinished) and ev.status == "failed" and ev.attempt == 1:
            ex.sim("node1").clamp.clear()
            r.retry("node1", "sysctl")

    r.bus.subscribe(on)
    res = await r.run()
    assert res.summary["node1"]["ok"]
    manifest = json.loads(ex.sim("node1").files[f"{BACKUP}/sysctl/90-k8s-tui.conf.json"])
    assert manifest["live"]["net.core.somaxconn"] == "4096"  # the value before the run, not the clamped one
    assert [c.path for c in ex.writes("node1")].count(f"{BACKUP}/sysctl/90-k8s-tui.conf.json") == 1


def test_step_refuses_bad_names():
    with pytest.raises(ValueError):
        SysctlStep({"net.ipv4.ip_forward": 1}, "../x.conf")
    with pytest.raises(ValueError):
        SysctlStep({"net.ipv4.ip_forward; reboot": 1}, "x.conf")
    with pytest.raises(ValueError):
        SysctlStep({"net.ipv4.ip_local_reserved_ports": "8080\nkernel.core_pattern=|/bin/sh"}, "x.conf")
    with pytest.raises(ValueError):
        SysctlRollback("x.conf", "$(id)")


def test_render_follows_the_kernel():
    step = SysctlStep({"net.ipv4.ip_forward": 1, "net.ipv4.tcp_tw_recycle": 0}, "k.conf")
    old = step.render(KernelVersion(4, 9), [])
    new = step.render(KernelVersion(6, 1), [])
    assert "\nnet.ipv4.tcp_tw_recycle = 0" in old
    assert "# net.ipv4.tcp_tw_recycle left out" in new


# -- rollback ----------------------------------------------------------------------------------


async def test_rollback_removes_a_file_that_did_not_exist_and_restores_live_values():
    ex = DryRunExecutor(speed=0)
    await run_steps(ex, [SysctlStep(VALUES, "90-k8s-tui.conf")])
    sim = ex.sim("node1")
    assert sim.sysctls["net.core.somaxconn"] == "32768"
    n = len(ex.calls)
    _, fin, _ = await run_steps(ex, [SysctlRollback("90-k8s-tui.conf", RUN)], run_id="20250101-140000-abcd")
    assert fin["sysctl-rollback"].status == "changed", fin["sysctl-rollback"].message
    assert FILE not in sim.files
    assert sim.sysctl_get("net.core.somaxconn") == "4096"
    assert sim.sysctl_get("net.ipv4.tcp_rmem") == "4096\t131072\t33554432"
    assert sim.sysctl_get("net.ipv4.ip_forward") == "0"
    cmds = [c.argv for c in ex.calls[n:] if c.kind == "run" and c.step_id == "sysctl-rollback"]
    assert ["rm", "-f", "--", FILE] in cmds
    assert [
        "sysctl", "-w",
        "net.ipv4.ip_local_reserved_ports=",
        "net.ipv4.ip_forward=0",
        "net.core.somaxconn=4096",
        "net.ipv4.tcp_rmem=4096 131072 33554432",
    ] in cmds
    # the removed file is kept in the rollback run's own backup
    assert sim.files["/var/lib/k8s-tui/backup/20250101-140000-abcd/sysctl/90-k8s-tui.conf"].startswith(b"# Kernel")
    # and a second rollback has nothing left to do
    _, fin2, _ = await run_steps(ex, [SysctlRollback("90-k8s-tui.conf", RUN)], run_id="20250101-150000-abcd")
    assert fin2["sysctl-rollback"].status == "unchanged"


async def test_rollback_restores_a_previous_file_exactly():
    old = b"# mine\nnet.core.somaxconn = 1024\n"
    ex = DryRunExecutor(speed=0, files={FILE: old}, sysctls={"net.core.somaxconn": 1024})
    await run_steps(ex, [SysctlStep(VALUES, "90-k8s-tui.conf")])
    _, fin, _ = await run_steps(ex, [SysctlRollback("90-k8s-tui.conf", RUN)], run_id="20250101-140000-abcd")
    assert fin["sysctl-rollback"].status == "changed"
    assert ex.sim("node1").files[FILE] == old
    assert ex.sim("node1").sysctl_get("net.core.somaxconn") == "1024"


async def test_rollback_without_a_backup_is_a_no_op():
    ex = DryRunExecutor(speed=0)
    _, fin, logs = await run_steps(ex, [SysctlRollback("90-k8s-tui.conf", RUN)])
    assert fin["sysctl-rollback"].status == "unchanged"
    assert "nothing to restore" in fin["sysctl-rollback"].message
    assert not ex.writes()
