"""Real Ansible against three real SSH test hosts: the sysctls of a plan, rendered for kubespray,
applied by a playbook of our own through `run-tool`'s code path, then read back on every host.

The playbook (tests/fixtures/ansible/apply_sysctl.yml) stands in for kubespray's cluster.yml in a
checkout made here: it reads the rendered inventory and group_vars (additional_sysctl) like
kubespray would, and uses only ansible.builtin copy + command (sysctl -p).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

from k8s_tui.backends.tool_runs import prepare, run_tool
from k8s_tui.engine.local import LocalExecutor
from k8s_tui.model.hosts import Host, Role
from k8s_tui.model.plan import ClusterPlan
from k8s_tui.model.tuning import TuningProfile

pytestmark = pytest.mark.testhosts

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "ansible"
BIN = str(Path(sys.executable).parent)
VALUES = {
    "net.core.somaxconn": 8192,
    "net.ipv4.tcp_rmem": "4096 87380 6291456",
    "net.ipv4.ip_local_port_range": "10240 65000",
    "vm.max_map_count": 262144,  # global: shadowed per test host
}
WANT = {
    "net.core.somaxconn": "8192",
    "net.ipv4.tcp_rmem": "4096 87380 6291456",
    "net.ipv4.ip_local_port_range": "10240 65000",
    "vm.max_map_count": "262144",
}


def machine_values() -> dict[str, str]:
    return {k: " ".join(Path("/proc/sys/" + k.replace(".", "/")).read_text().split()) for k in WANT}


@pytest.fixture
def ansible(monkeypatch):
    path = BIN + os.pathsep + os.environ.get("PATH", "")
    if not shutil.which("ansible-playbook", path=path):
        pytest.skip("ansible-playbook (ansible-core) is not installed: pip install ansible-core")
    monkeypatch.setenv("PATH", path)


def test_rendered_sysctls_applied_by_real_ansible(testhosts3, ansible, tmp_path):
    ths = testhosts3
    before_machine = machine_values()
    plan = ClusterPlan(
        name="real",
        tool="kubespray",
        kube_proxy_mode="iptables",
        hosts=[Host(name=th.name, address=th.address, port=th.port, user=th.user, key_file=th.key_file,
                    roles=[Role.control_plane, Role.etcd] if i == 0 else [Role.worker]) for i, th in enumerate(ths)],
        tuning=TuningProfile(values=VALUES),
    )
    checkout = tmp_path / "kubespray"
    checkout.mkdir()
    (checkout / "cluster.yml").write_text((FIX / "apply_sysctl.yml").read_text())
    (checkout / "ansible.cfg").write_text(
        "[defaults]\ninterpreter_python = /usr/bin/python3\nforks = 3\n"
        "[ssh_connection]\n"
        f"ssh_args = -o UserKnownHostsFile={ths[0].known_hosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes "
        "-o ConnectTimeout=10\n"
    )
    run = prepare(plan, "kubespray", checkout=str(checkout), out_dir=tmp_path / "out")
    lines: list[str] = []
    res = asyncio.run(run_tool(run, lambda cwd, env: LocalExecutor(cwd=cwd, env=env),
                               on_line=lambda step, stream, line: lines.append(line)))
    assert res.ok, "\n".join(lines)

    prog = res.outcomes[0].progress
    names = [th.name for th in ths]
    grid = {t.title: row for t, row in prog.grid()}
    assert grid == {"Write the sysctl file": dict.fromkeys(prog.hosts, "changed"),
                    "Load it": dict.fromkeys(prog.hosts, "changed")}
    assert sorted(prog.hosts) == sorted(names)
    assert {h: (r.ok, r.changed, r.failed, r.unreachable) for h, r in prog.recap.items()} == dict.fromkeys(names, (2, 2, 0, 0))

    for th in ths:
        for k, v in WANT.items():
            assert " ".join(th.sysctl(k).split()) == v, f"{th.name}: {k}"
        body = th.path("/etc/sysctl.d/90-k8s-tui.conf").read_text()
        assert "net.core.somaxconn = 8192\n" in body and "net.ipv4.tcp_rmem = 4096 87380 6291456\n" in body
    assert machine_values() == before_machine  # nothing leaked onto this machine
