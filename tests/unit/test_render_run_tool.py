"""run-tool: the rendered files driving real ansible-playbook runs through the LocalExecutor.

The kubespray checkout and the kubeasz directory are stand-ins made here, with playbooks of our own
(connection local, debug/assert only): what runs is real Ansible reading our rendered inventory,
group_vars and config overrides, streamed line by line into the progress parser.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

from k8s_tui.backends.ansible_output import Recap, TaskStarted
from k8s_tui.backends.tool_runs import ToolMissing, prepare, prepare_kops, run_tool
from k8s_tui.cli import main
from k8s_tui.engine.dryrun import DryRunExecutor
from k8s_tui.engine.local import LocalExecutor
from k8s_tui.model.plan import load_plan

GOLDEN_PLAN = Path(__file__).resolve().parents[1] / "golden" / "render" / "plan.yaml"
BIN = str(Path(sys.executable).parent)

CLUSTER_YML = """\
- name: Check what k8s-tui rendered
  hosts: k8s_cluster
  gather_facts: false
  connection: local
  tasks:
    - name: Proxy mode and version come from group_vars
      ansible.builtin.assert:
        that:
          - kube_proxy_mode == "ipvs"
          - kube_version == "1.33.2"
          - additional_sysctl | selectattr('name', 'equalto', 'net.core.somaxconn') | map(attribute='value') | first == 32768
        quiet: true
    - name: Only workers
      ansible.builtin.debug:
        msg: "worker {{ inventory_hostname }}"
      when: inventory_hostname in groups['kube_node']
"""


def have_ansible() -> bool:
    return bool(shutil.which("ansible-playbook", path=BIN + os.pathsep + os.environ.get("PATH", "")))


needs_ansible = pytest.mark.skipif(not have_ansible(), reason="ansible-playbook (ansible-core) is not installed")


@pytest.fixture
def path_with_ansible(monkeypatch):
    monkeypatch.setenv("PATH", BIN + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("ANSIBLE_LOCAL_TEMP", "/tmp/k8s-tui-test-ansible")


@pytest.fixture
def plan():
    return load_plan(GOLDEN_PLAN)


def kubespray_checkout(tmp_path: Path) -> Path:
    co = tmp_path / "kubespray"
    co.mkdir()
    (co / "cluster.yml").write_text(CLUSTER_YML)
    (co / "ansible.cfg").write_text("[defaults]\nhost_key_checking = False\n")
    return co


def kubeasz_dir(tmp_path: Path, fail_step: str | None = None) -> Path:
    base = tmp_path / "kubeasz"
    (base / "playbooks").mkdir(parents=True)
    (base / "bin").mkdir()
    (base / "bin" / "kube-apiserver").write_text("")
    (base / "clusters" / "demo").mkdir(parents=True)
    (base / "clusters" / "demo" / "hosts").write_text("[kube_master]\n10.9.9.9\n")
    (base / "clusters" / "demo" / "config.yml").write_text('K8S_VER: "__k8s_ver__"\nCLUSTER_NAME: "cluster1"\nINSTALL_SOURCE: "online"\n')
    tmpl = base / "roles" / "prepare" / "templates"
    tmpl.mkdir(parents=True)
    (tmpl / "95-k8s-sysctl.conf.j2").write_text("net.ipv4.ip_forward = 1\n")
    for num, name, pb in [("01", "prepare", "01.prepare.yml"), ("02", "etcd", "02.etcd.yml"), ("03", "rt", "03.runtime.yml"),
                          ("04", "m", "04.kube-master.yml"), ("05", "n", "05.kube-node.yml"), ("06", "net", "06.network.yml"),
                          ("07", "add", "07.cluster-addon.yml")]:
        check = "false" if num == fail_step else 'K8S_VER == "1.33.2" and INSTALL_SOURCE == "online" and PROXY_MODE == "ipvs"'
        (base / "playbooks" / pb).write_text(
            f"- hosts: kube_master\n  gather_facts: false\n  connection: local\n  tasks:\n"
            f"    - name: Step {num}\n      ansible.builtin.assert:\n        that: {check}\n        quiet: true\n")
    return base


def run(r, dry: bool = False):
    lines, events = [], []
    if dry:
        shared = DryRunExecutor(speed=0, transcripts_dir=None)
        make = lambda cwd, env: shared  # noqa: E731
    else:
        make = lambda cwd, env: LocalExecutor(cwd=cwd, env=env)  # noqa: E731
    res = asyncio.run(run_tool(r, make, on_line=lambda s, st, ln: lines.append(ln), on_event=lambda s, e: events.append(e)))
    return res, lines, events


@needs_ansible
def test_kubespray_for_real(plan, tmp_path, path_with_ansible):
    co = kubespray_checkout(tmp_path)
    r = prepare(plan, "kubespray", checkout=str(co), out_dir=tmp_path / "out")
    assert r.steps[0].argv == ["ansible-playbook", "-i", str(tmp_path / "out/inventory/demo/inventory.ini"), "cluster.yml", "-b"]
    assert r.steps[0].cwd == str(co)
    res, lines, events = run(r)
    assert res.ok, "\n".join(lines)
    prog = res.outcomes[0].progress
    assert [t.title for t in prog.tasks] == ["Proxy mode and version come from group_vars", "Only workers"]
    grid = {t.title: row for t, row in prog.grid()}
    assert grid["Proxy mode and version come from group_vars"] == dict.fromkeys(prog.hosts, "ok")
    assert sorted(prog.hosts) == ["cp1", "cp2", "cp3", "w1", "w2"]
    assert grid["Only workers"]["w1"] == "ok" and grid["Only workers"]["cp1"] == "skipped"
    assert set(prog.recap) == {"cp1", "cp2", "cp3", "w1", "w2"} and all(rc.success for rc in prog.recap.values())
    assert any(isinstance(e, TaskStarted) for e in events) and any(isinstance(e, Recap) for e in events)
    assert sorted(p.name for p in co.iterdir()) == ["ansible.cfg", "cluster.yml"]  # the checkout is untouched


@needs_ansible
def test_kubeasz_steps_one_at_a_time(plan, tmp_path, path_with_ansible):
    base = kubeasz_dir(tmp_path)
    r = prepare(plan, "kubeasz", checkout=str(base), out_dir=tmp_path / "out")
    assert [s.title for s in r.steps] == ["01 prepare", "02 etcd", "03 container-runtime", "04 kube-master", "05 kube-node",
                                          "06 network", "07 cluster-addon"]
    assert r.steps[0].argv == ["ansible-playbook", "-i", "clusters/demo/hosts", "-e", "@clusters/demo/config.yml",
                               "-e", f"@{tmp_path / 'out/clusters/demo/config.yml'}", "playbooks/01.prepare.yml"]
    res, lines, events = run(r)
    assert res.ok, "\n".join(lines)
    assert len(res.outcomes) == 7
    hosts = (base / "clusters/demo/hosts").read_text()
    assert "10.0.0.12 k8s_nodename=cp2" in hosts and f'base_dir="{base.resolve()}"' in hosts
    sysctl = (base / "roles/prepare/templates/95-k8s-sysctl.conf.j2").read_text()
    assert "net.core.somaxconn = 32768" in sysctl
    backups = list((base / "clusters/demo/k8s-tui-backup").iterdir())
    assert len(backups) == 1
    assert (backups[0] / "hosts").read_text() == "[kube_master]\n10.9.9.9\n"
    assert (backups[0] / "95-k8s-sysctl.conf.j2").read_text() == "net.ipv4.ip_forward = 1\n"


@needs_ansible
def test_kubeasz_stops_at_the_failed_step(plan, tmp_path, path_with_ansible, capsys):
    base = kubeasz_dir(tmp_path, fail_step="03")
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(GOLDEN_PLAN.read_text())
    code = main(["run-tool", str(plan_file), "--tool", "kubeasz", "--checkout", str(base), "--progress"])
    out = capsys.readouterr().out
    assert code == 1
    assert "01 prepare: ok" in out and "02 etcd: ok" in out and "03 container-runtime: failed (exit 2)" in out
    assert "04 kube-master" not in out.split("step 3/7")[1]
    assert "--from-step 03" in out
    assert "failed      10.0.0.11" in out
    code = main(["run-tool", str(plan_file), "--tool", "kubeasz", "--checkout", str(base), "--from-step", "04"])
    assert code == 0
    assert "step 1/4: 04 kube-master" in capsys.readouterr().out


def test_dry_run_changes_nothing(plan, tmp_path, capsys, monkeypatch):
    base = kubeasz_dir(tmp_path)
    before = (base / "clusters/demo/hosts").read_text()
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(GOLDEN_PLAN.read_text())
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "ansible-playbook").write_text("#!/bin/sh\nexit 99\n")
    (fake_bin / "ansible-playbook").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    code = main(["run-tool", str(plan_file), "--tool", "kubeasz", "--checkout", str(base), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("would run in") == 8  # mkdir + 7 steps
    assert "would write " + str(base.resolve() / "clusters/demo/hosts") in out
    assert (base / "clusters/demo/hosts").read_text() == before
    assert not (tmp_path / "demo-kubeasz").exists()


@pytest.mark.parametrize("setup,message", [
    (lambda t: None, "pass --checkout DIR"),
    (lambda t: str(t / "nope"), "no such directory; to get kubespray: git clone"),
    (lambda t: (t / "empty").mkdir() or str(t / "empty"), "has no cluster.yml, so it is not a kubespray checkout"),
])
def test_kubespray_missing_checkout(plan, tmp_path, setup, message):
    with pytest.raises(ToolMissing, match=message.replace("(", r"\(")):
        prepare(plan, "kubespray", checkout=setup(tmp_path), out_dir=tmp_path / "out")


def test_missing_ansible(plan, tmp_path):
    co = kubespray_checkout(tmp_path)
    with pytest.raises(ToolMissing, match="pip install ansible-core"):
        prepare(plan, "kubespray", checkout=str(co), out_dir=tmp_path / "out", which=lambda name: None)


def test_kubeasz_needs_ezctl_new_and_ezdown(plan, tmp_path):
    base = kubeasz_dir(tmp_path)
    (base / "clusters/demo/config.yml").unlink()
    with pytest.raises(ToolMissing, match="run `./ezctl new demo`"):
        prepare(plan, "kubeasz", checkout=str(base), out_dir=tmp_path / "out")
    base = kubeasz_dir(tmp_path / "2")
    (base / "bin/kube-apiserver").unlink()
    with pytest.raises(ToolMissing, match=r"run `./ezdown -D` first"):
        prepare(plan, "kubeasz", checkout=str(base), out_dir=tmp_path / "out")
    with pytest.raises(ToolMissing, match="not a kubeasz directory"):
        prepare(plan, "kubeasz", checkout=str(tmp_path), out_dir=tmp_path / "out")


def test_kops(plan, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(ToolMissing, match="kops is not on PATH") as e:
        prepare_kops(plan, out, which=lambda n: None, env={})
    assert "kops update cluster --name demo.k8s.local --yes --admin" in str(e.value)
    assert (out / "kops" / "commands.sh").exists()
    with pytest.raises(ToolMissing, match="fill in these fields") as e:
        prepare_kops(plan, out, which=lambda n: "/usr/bin/kops", env={})
    assert "kops/cluster.yaml: cloudProvider: FILL-IN-cloud" in str(e.value)
    for name in ("cluster.yaml", "instancegroups.yaml"):
        p = out / "kops" / name
        p.write_text(p.read_text().replace("FILL-IN-cloud", "aws").replace("FILL-IN-state-store", "s3://x")
                     .replace("FILL-IN-zone", "eu-west-1a").replace("FILL-IN-machine-type", "t3.medium"))
    with pytest.raises(ToolMissing, match="KOPS_STATE_STORE is not set"):
        prepare_kops(plan, out, which=lambda n: "/usr/bin/kops", env={})
    key = tmp_path / "id.pub"
    key.write_text("ssh-ed25519 AAAA test\n")
    r = prepare_kops(plan, out, which=lambda n: "/usr/bin/kops", env={"KOPS_STATE_STORE": "s3://x", "SSH_PUBLIC_KEY": str(key)})
    assert [s.argv for s in r.steps][2] == ["kops", "create", "sshpublickey", "--name", "demo.k8s.local", "-i", str(key)]
    assert [w.path for w in r.writes] == [str((out / "kops" / "commands.sh").resolve())]  # the filled-in specs are kept
    res, _, _ = run(r, dry=True)
    assert res.ok and len(res.outcomes) == 6
    assert "aws" in (out / "kops" / "cluster.yaml").read_text()


def test_kubeadm_is_not_run_tool(plan, tmp_path, capsys):
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(GOLDEN_PLAN.read_text())
    with pytest.raises(SystemExit):
        main(["run-tool", str(plan_file), "--tool", "kubeadm"])
