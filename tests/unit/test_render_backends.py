"""Every renderer against golden files, one sample plan; the rendered inventories read by real Ansible.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest tests/unit/test_render_backends.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from k8s_tui.backends.render import render, write_rendered
from k8s_tui.backends.rendered import plan_sysctls
from k8s_tui.cli import main
from k8s_tui.knowledge import format_value
from k8s_tui.model.plan import load_plan, load_plan_text

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "render"
PLAN = GOLDEN / "plan.yaml"
TOOLS = ["kubespray", "kubeasz", "kops", "kubeadm"]


def ansible_bin(name: str) -> str | None:
    """The tool beside this Python (a venv's bin) first, then PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


@pytest.fixture(scope="module")
def plan():
    return load_plan(PLAN)


@pytest.mark.parametrize("tool", TOOLS)
def test_golden(plan, tool):
    rendered = render(plan, tool)
    base = GOLDEN / tool
    if os.environ.get("UPDATE_GOLDEN"):
        if base.exists():
            shutil.rmtree(base)
        write_rendered(rendered, base)
    want = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
    assert sorted(f.path for f in rendered.files) == want
    for f in rendered.files:
        assert f.content == (base / f.path).read_text(encoding="utf-8"), f"{tool}: {f.path} differs from its golden file"


def test_every_tool_gets_the_same_sysctls(plan):
    values = plan_sysctls(plan)
    assert values["net.core.somaxconn"] == 32768  # the plan's tuning on top of the preset
    assert values["kernel.panic"] == 10  # from the kubespray preset
    pairs = {f"{k}={format_value(v)}" for k, v in values.items()}
    spray = YAML(typ="safe").load(render(plan, "kubespray").get("inventory/demo/group_vars/all/all.yml").content)
    assert {f"{d['name']}={d['value']}" for d in spray["additional_sysctl"]} == pairs
    asz = render(plan, "kubeasz").get("roles/prepare/templates/95-k8s-sysctl.conf.j2").content
    assert {ln.replace(" = ", "=") for ln in asz.splitlines() if ln and not ln.startswith("#")} == pairs
    kops = YAML(typ="safe").load(render(plan, "kops").get("kops/cluster.yaml").content)
    assert set(kops["spec"]["sysctlParameters"]) == pairs
    # kubeadm: what `k8s-tui apply` writes, kubeadm-minimum under the same values
    adm = render(plan, "kubeadm").get("etc/sysctl.d/90-k8s-tui.conf").content
    assert {ln.replace(" = ", "=") for ln in adm.splitlines() if ln and not ln.startswith("#")} >= pairs


def test_yaml_files_parse_and_keep_types(plan):
    y = YAML(typ="safe")
    k8s = y.load(render(plan, "kubespray").get("inventory/demo/group_vars/k8s_cluster/k8s-cluster.yml").content)
    assert k8s == {
        "kube_version": "1.33.2", "kube_network_plugin": "calico", "kube_proxy_mode": "ipvs",
        "kube_pods_subnet": "10.244.0.0/16", "kube_service_addresses": "10.96.0.0/12", "container_manager": "containerd",
    }
    docs = list(y.load_all(render(plan, "kops").get("kops/instancegroups.yaml").content))
    assert [d["metadata"]["name"] for d in docs] == ["control-plane-1", "control-plane-2", "control-plane-3", "nodes"]
    assert docs[-1]["spec"]["minSize"] == 2
    cluster = y.load(render(plan, "kops").get("kops/cluster.yaml").content)
    assert cluster["apiVersion"] == "kops.k8s.io/v1alpha2"
    assert cluster["spec"]["kubeProxy"] == {"proxyMode": "ipvs"}
    assert cluster["spec"]["nonMasqueradeCIDR"] == "10.0.0.0/8"
    cfg = y.load(render(plan, "kubeasz").get("clusters/demo/config.yml").content)
    assert cfg == {"CLUSTER_NAME": "demo", "K8S_VER": "1.33.2"}


def test_short_version_stays_a_string():
    p = load_plan_text(PLAN.read_text().replace("kubernetes_version: 1.33.2", "kubernetes_version: '1.30'"))
    k8s = render(p, "kubespray").get("inventory/demo/group_vars/k8s_cluster/k8s-cluster.yml").content
    assert 'kube_version: "1.30"' in k8s
    assert YAML(typ="safe").load(k8s)["kube_version"] == "1.30"


def test_no_etcd_role_means_stacked_etcd(plan):
    text = PLAN.read_text().replace("[control-plane, etcd]", "[control-plane]")
    p = load_plan_text(text)
    inv = render(p, "kubespray").get("inventory/demo/inventory.ini").content
    assert "[etcd:children]\nkube_control_plane\n" in inv
    hosts = render(p, "kubeasz").get("clusters/demo/hosts").content
    etcd = hosts.split("[etcd]\n")[1].split("\n\n")[0].splitlines()
    assert [ln.split()[0] for ln in etcd] == ["10.0.0.11", "10.0.0.12", "10.0.0.13"]


def test_kubeasz_sysctl_template_has_no_jinja(plan):
    text = render(plan, "kubeasz").get("roles/prepare/templates/95-k8s-sysctl.conf.j2").content
    assert "{{" not in text and "{%" not in text and "{#" not in text
    assert "net.core.somaxconn = 32768" in text


def test_kops_commands_refuse_placeholders(plan, tmp_path):
    write_rendered(render(plan, "kops"), tmp_path)
    script = tmp_path / "kops" / "commands.sh"
    assert os.access(script, os.X_OK)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "kops").write_text("#!/bin/sh\necho kops \"$@\" >> \"$KOPS_LOG\"\n")
    (fake / "kops").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "KOPS_STATE_STORE": "s3://x", "KOPS_LOG": str(tmp_path / "log")}
    r = subprocess.run(["sh", str(script)], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "fill in the FILL-IN fields" in r.stderr
    assert not (tmp_path / "log").exists()
    for name in ("cluster.yaml", "instancegroups.yaml"):
        p = tmp_path / "kops" / name
        p.write_text(p.read_text().replace("FILL-IN-cloud", "aws").replace("FILL-IN-state-store", "s3://x")
                     .replace("FILL-IN-zone", "eu-west-1a").replace("FILL-IN-machine-type", "t3.medium"))
    r = subprocess.run(["sh", str(script)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    log = (tmp_path / "log").read_text().splitlines()
    assert log[0] == "kops create -f cluster.yaml"
    assert "kops update cluster --name demo.k8s.local --yes --admin" in log


def test_cli_render(tmp_path, capsys):
    for tool in TOOLS:
        assert main(["render", str(PLAN), "--tool", tool, "--out", str(tmp_path / tool)]) == 0
    out = capsys.readouterr().out
    assert "kubespray: 3 files" in out
    mods = (tmp_path / "kubeadm" / "etc" / "modules-load.d" / "k8s-tui.conf").read_text().splitlines()
    assert {"overlay", "br_netfilter", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"} <= set(mods)  # ipvs mode


def test_cli_render_bad_plan(tmp_path, capsys):
    bad = tmp_path / "plan.yaml"
    bad.write_text("name: demo\nhosts:\n  - {name: Bad_Name, address: 1.2.3.4}\n")
    assert main(["render", str(bad), "--tool", "kubespray", "--out", str(tmp_path / "out")]) == 2
    assert "line 3" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ real ansible-inventory


def ansible_inventory(path: Path) -> dict:
    exe = ansible_bin("ansible-inventory")
    if not exe:
        pytest.skip("ansible-inventory (ansible-core) is not installed")
    r = subprocess.run([exe, "-i", str(path), "--list"], capture_output=True, text=True,
                       env={**os.environ, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1", "ANSIBLE_NOCOLOR": "1"})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def members(inv: dict, group: str) -> set[str]:
    out = set(inv.get(group, {}).get("hosts", []))
    for child in inv.get(group, {}).get("children", []):
        out |= members(inv, child)
    return out


def test_ansible_reads_rendered_kubespray_inventory(plan, tmp_path):
    write_rendered(render(plan, "kubespray"), tmp_path)
    inv = ansible_inventory(tmp_path / "inventory/demo/inventory.ini")
    assert members(inv, "kube_control_plane") == {"cp1", "cp2", "cp3"}
    assert members(inv, "etcd") == {"cp1", "cp2", "cp3"}
    assert members(inv, "kube_node") == {"w1", "w2"}
    assert members(inv, "k8s_cluster") == {"cp1", "cp2", "cp3", "w1", "w2"}
    hv = inv["_meta"]["hostvars"]
    assert hv["cp2"]["ansible_host"] == "10.0.0.12"
    assert hv["cp2"]["ansible_user"] == "ops"
    assert hv["cp2"]["ansible_port"] == 2222
    assert hv["cp2"]["ansible_ssh_private_key_file"] == "~/.ssh/id_ed25519"
    assert hv["w1"]["ansible_ssh_common_args"] == "-o ProxyJump=jump@10.0.0.1:22"
    # group_vars beside the inventory reach every host
    assert hv["w2"]["kube_proxy_mode"] == "ipvs"
    assert hv["w2"]["kube_version"] == "1.33.2"
    assert hv["cp1"]["kube_pods_subnet"] == "10.244.0.0/16"
    sysctl = {d["name"]: d["value"] for d in hv["cp1"]["additional_sysctl"]}
    assert sysctl["net.core.somaxconn"] == 32768
    assert sysctl["net.ipv4.tcp_rmem"] == "4096 87380 6291456"


def test_ansible_reads_rendered_kubeasz_inventory(plan, tmp_path):
    write_rendered(render(plan, "kubeasz"), tmp_path)
    inv = ansible_inventory(tmp_path / "clusters/demo/hosts")
    assert members(inv, "etcd") == {"10.0.0.11", "10.0.0.12", "10.0.0.13"}
    assert members(inv, "kube_master") == {"10.0.0.11", "10.0.0.12", "10.0.0.13"}
    assert members(inv, "kube_node") == {"10.0.0.21", "10.0.0.22"}
    hv = inv["_meta"]["hostvars"]
    assert hv["10.0.0.12"]["k8s_nodename"] == "cp2"
    assert hv["10.0.0.12"]["ansible_port"] == 2222
    assert hv["10.0.0.21"]["ansible_ssh_common_args"] == "-o ProxyJump=jump@10.0.0.1:22"
    for h in ("10.0.0.11", "10.0.0.22"):
        assert hv[h]["PROXY_MODE"] == "ipvs"
        assert hv[h]["CLUSTER_NETWORK"] == "calico"
        assert hv[h]["SERVICE_CIDR"] == "10.96.0.0/12"
        assert hv[h]["CLUSTER_CIDR"] == "10.244.0.0/16"
