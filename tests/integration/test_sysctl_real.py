"""The sysctl step on real test hosts over SSH: write, load, read back, rerun, roll back.

Every host is a network + mount namespace with its own sshd (tests/testbed): net.* keys are per
namespace and the global keys (vm.*) are shadowed per host, so nothing on this machine changes
(checked at the end).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.testhosts

ssh = pytest.importorskip("k8s_tui.engine.ssh")

from k8s_tui.engine.events import StepFinished  # noqa: E402
from k8s_tui.engine.executor import ExecOptions  # noqa: E402
from k8s_tui.engine.planning import FactsLiteStep  # noqa: E402
from k8s_tui.engine.runner import Runner, RunPlan, Stage  # noqa: E402
from k8s_tui.hostprep.sysctl import SysctlRollback, SysctlStep  # noqa: E402
from k8s_tui.model.hosts import Host, Role  # noqa: E402

VALUES = {
    "net.core.somaxconn": 8192,
    "net.ipv4.tcp_rmem": (4096, 87380, 6291456),
    "net.ipv4.ip_local_port_range": (10240, 65000),
    "net.ipv4.ip_local_reserved_ports": "30000-32767,8080",
    "net.ipv4.tcp_tw_recycle": 0,  # removed in 4.12: left out on these kernels
    "vm.max_map_count": 262144,  # global: shadowed per test host
}
WANT = {
    "net.core.somaxconn": "8192",
    "net.ipv4.tcp_rmem": "4096\t87380\t6291456",
    "net.ipv4.ip_local_port_range": "10240\t65000",
    "net.ipv4.ip_local_reserved_ports": "8080,30000-32767",  # the kernel sorts the list
    "vm.max_map_count": "262144",
}
FILE = "/etc/sysctl.d/90-k8s-tui.conf"


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path / "state"))


def machine_values() -> dict[str, str]:
    return {k: " ".join(Path("/proc/sys/" + k.replace(".", "/")).read_text().split()) for k in WANT}


async def run(ths, steps, run_id):
    hosts = [Host(name=th.name, address=th.address, port=th.port, user=th.user, key_file=th.key_file,
                  roles=[Role.control_plane] if i == 0 else [Role.worker]) for i, th in enumerate(ths)]
    ex = ssh.SshExecutor(ExecOptions(known_hosts=ths[0].known_hosts, connect_timeout=8))
    r = Runner(None, RunPlan([Stage("facts", [FactsLiteStep()]), Stage("s", steps)]), ex, hosts=hosts, run_id=run_id)
    events = []
    r.bus.subscribe(events.append)
    try:
        res = await r.run()
    finally:
        await ex.close()
    return res, {(e.host, e.step_id): e for e in events if isinstance(e, StepFinished)}


async def test_sysctl_step_on_real_hosts(testhosts3):
    ths = testhosts3
    before_machine = machine_values()
    before = {th.name: {k: th.sysctl(k) for k in WANT} for th in ths}

    res, fin = await run(ths, [SysctlStep(VALUES, "90-k8s-tui.conf")], "20250101-000000-real")
    for th in ths:
        f = fin[(th.name, "sysctl")]
        assert f.status == "changed", f"{th.name}: {f.message} {f.hint}"
        for k, v in WANT.items():
            assert th.sysctl(k).replace(" ", "\t") == v, k
        body = th.path(FILE).read_text()
        assert "net.ipv4.tcp_rmem = 4096 87380 6291456" in body
        assert "# net.ipv4.tcp_tw_recycle left out: removed in kernel 4.12" in body
        manifest = json.loads(th.path("/var/lib/k8s-tui/backup/20250101-000000-real/sysctl/90-k8s-tui.conf.json").read_text())
        assert manifest["live"]["net.core.somaxconn"] == before[th.name]["net.core.somaxconn"]
    assert all(s["ok"] for s in res.summary.values())

    # a rerun changes nothing and says so
    res2, fin2 = await run(ths, [SysctlStep(VALUES, "90-k8s-tui.conf")], "20250101-000001-real")
    assert {fin2[(th.name, "sysctl")].status for th in ths} == {"unchanged"}

    # roll the first run back: the file goes (it did not exist) and the live values return
    res3, fin3 = await run(ths, [SysctlRollback("90-k8s-tui.conf", "20250101-000000-real")], "20250101-000002-real")
    for th in ths:
        f = fin3[(th.name, "sysctl-rollback")]
        assert f.status == "changed", f"{th.name}: {f.message} {f.hint}"
        assert not th.path(FILE).exists()
        assert {k: th.sysctl(k) for k in WANT} == before[th.name]

    # the machine running the tests never changed
    assert machine_values() == before_machine


async def test_a_previous_file_is_restored_byte_for_byte(testhosts3):
    th = testhosts3[0]
    old = "# the admin's own file\nnet.core.somaxconn = 1024\n"
    th.run(["sh", "-c", f"mkdir -p /etc/sysctl.d && printf '%s' \"$1\" > {FILE} && sysctl -q -p {FILE}", "sh", old], check=True)
    res, fin = await run([th], [SysctlStep({"net.core.somaxconn": 4000}, "90-k8s-tui.conf")], "20250101-000010-real")
    assert fin[(th.name, "sysctl")].status == "changed"
    assert th.sysctl("net.core.somaxconn") == "4000"
    backup = th.path("/var/lib/k8s-tui/backup/20250101-000010-real/sysctl/90-k8s-tui.conf.json")
    assert base64.b64decode(json.loads(backup.read_text())["content_b64"]).decode() == old
    res, fin = await run([th], [SysctlRollback("90-k8s-tui.conf", "20250101-000010-real")], "20250101-000011-real")
    assert fin[(th.name, "sysctl-rollback")].status == "changed"
    assert th.path(FILE).read_text() == old
    assert th.sysctl("net.core.somaxconn") == "1024"


def test_headless_apply_over_ssh(testhosts3, tmp_path, capsys):
    """`apply PLAN --yes` with the real SSH executor, then a rerun that changes nothing."""
    import argparse

    from k8s_tui.cli.runs import add_commands

    ths = testhosts3
    lines = ["name: real", "hosts:"]
    for i, th in enumerate(ths):
        role = "control-plane" if i == 0 else "worker"
        lines.append(f"  - {{name: {th.name}, address: {th.address}, port: {th.port}, user: {th.user}, "
                     f"key_file: {th.key_file}, roles: [{role}]}}")
    lines += ["tuning:", "  net.core.somaxconn: 16384", "  net.ipv4.tcp_keepalive_time: 600"]
    plan = tmp_path / "plan.yaml"
    plan.write_text("\n".join(lines) + "\n")

    def cli(*argv):
        parser = argparse.ArgumentParser()
        add_commands(parser.add_subparsers(dest="command"))
        args = parser.parse_args(list(argv))
        return args.func(args)

    assert cli("apply", str(plan), "--tuning-only", "--yes", "--known-hosts", ths[0].known_hosts, "--follow") == 0
    out = capsys.readouterr().out
    for th in ths:
        assert th.sysctl("net.core.somaxconn") == "16384"
        assert f"{th.name} | $ sysctl -p /etc/sysctl.d/90-k8s-tui.conf" in out
    assert cli("apply", str(plan), "--tuning-only", "--yes", "--known-hosts", ths[0].known_hosts) == 0
    out = capsys.readouterr().out
    assert out.count("sysctl  unchanged") == 3
