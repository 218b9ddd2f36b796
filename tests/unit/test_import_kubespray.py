"""Import of kubespray inventories (INI, hosts.yaml, master's sample form), checked against
ansible-core's own reading of the same files, round trips through the renderer, malformed input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_tui.backends.importers import import_kubespray, to_plan
from k8s_tui.backends.importers.ansible_inventory import parse_inventory
from k8s_tui.backends.render import render, write_rendered
from k8s_tui.cli import main
from k8s_tui.model.plan import load_plan, load_plan_text
from k8s_tui.yamlio import InputError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "inventories"
GOLDEN_PLAN = Path(__file__).resolve().parents[1] / "golden" / "render" / "plan.yaml"
PROD = FIX / "kubespray" / "inventory" / "prod"

EXPECTED = {
    "node1": ("95.54.0.12", "root", 22, ["control-plane", "etcd"]),
    "node2": ("95.54.0.13", "ubuntu", 22, ["control-plane", "etcd", "worker"]),
    "node3": ("95.54.0.14", "root", 22, ["etcd", "worker"]),
    "node4": ("95.54.0.15", "root", 2222, ["worker"]),
    "node5": ("10.3.0.5", "root", 22, ["worker"]),  # no ansible_host: access_ip before ip
    "node6": ("10.3.0.6", "root", 22, ["worker"]),  # only ip
}


def ansible_bin(name: str) -> str | None:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def hosts_of(res):
    return {h.name: (h.address, h.user, h.port, [r.value for r in h.roles]) for h in res.hosts}


def notices(res, kind=None):
    return [(Path(n.source).name, n.line, n.kind, n.message) for n in res.notices if kind is None or n.kind == kind]


def test_ini_documented_form():
    res = import_kubespray(PROD / "inventory.ini")
    assert hosts_of(res) == EXPECTED
    assert res.name == "prod"  # inventory/<cluster>/inventory.ini
    node1 = next(h for h in res.hosts if h.name == "node1")
    assert node1.labels == {"kubespray/ip": "10.3.0.1", "kubespray/etcd_member_name": "etcd1"}
    assert next(h for h in res.hosts if h.name == "node5").key_file == "~/.ssh/k8s"


def test_ini_reads_group_vars_beside_it():
    res = import_kubespray(PROD)  # the directory works too
    assert res.fields == {
        "kubernetes_version": "1.32.5", "cni": "cilium", "service_cidr": "10.233.0.0/18",
        "pod_cidr": "10.233.64.0/18", "kube_proxy_mode": "iptables", "container_runtime": "containerd",
    }
    assert res.tuning == {"kernel.pid_max": 4194304, "net.core.somaxconn": 32768}
    assert res.field_origin["kube_proxy_mode"].endswith("k8s-cluster.yml:7")


def test_nothing_is_lost_silently():
    res = import_kubespray(PROD / "inventory.ini")
    got = notices(res)
    assert ("inventory.ini", 5, "comment", "the third etcd member") in got  # an inline comment
    assert ("inventory.ini", 1, "comment", "kubespray inventory in the documented form (docs/ansible/inventory.md):") in got
    assert any(n[:3] == ("inventory.ini", 28, "unknown") and "[monitoring]" in n[3] for n in got)
    assert any(n[:3] == ("inventory.ini", 8, "secret") and "ansible_become_password" in n[3] for n in got)
    assert any(n[:3] == ("inventory.ini", 8, "unknown") and "node_labels" in n[3] for n in got)
    assert any(n[0] == "all.yml" and n[2] == "unmapped" and "bin_dir" in n[3] for n in got)
    assert any(n[0] == "k8s-cluster.yml" and n[1] == 8 and "cluster_name" in n[3] for n in got)
    # the secret itself is nowhere in the plan
    plan, _ = to_plan(res)
    assert "hunter2" not in plan.to_yaml()


def test_yaml_form_gives_the_same_hosts_and_roles():
    ini = import_kubespray(PROD / "inventory.ini")
    yml = import_kubespray(FIX / "kubespray-yaml" / "hosts.yaml")
    assert hosts_of(yml) == hosts_of(ini) == EXPECTED
    assert [h.labels for h in yml.hosts] == [h.labels for h in ini.hosts]
    assert ("hosts.yaml", 9, "secret") in [n[:3] for n in notices(yml)]
    assert ("hosts.yaml", 1, "comment") in [n[:3] for n in notices(yml)]


def test_master_sample_form_etcd_children_expands():
    res = import_kubespray(FIX / "kubespray-yaml" / "sample-master.ini")
    assert {n: r[3] for n, r in hosts_of(res).items()} == {
        "node1": ["control-plane", "etcd"], "node2": ["control-plane", "etcd"], "node3": ["control-plane", "etcd"],
        "node4": ["worker"], "node5": ["worker"], "node6": ["worker"],
    }
    comments = notices(res, "comment")
    assert ("sample-master.ini", 3, "comment", "ip=10.3.0.1 etcd_member_name=etcd1") in comments


@pytest.mark.parametrize("src", ["kubespray/inventory/prod/inventory.ini", "kubespray-yaml/hosts.yaml",
                                 "kubespray-yaml/sample-master.ini", "kubeasz/clusters/k8s-01/hosts"])
def test_parser_agrees_with_ansible(src):
    exe = ansible_bin("ansible-inventory")
    if not exe:
        pytest.skip("ansible-inventory (ansible-core) is not installed")
    r = subprocess.run([exe, "-i", str(FIX / src), "--list"], capture_output=True, text=True,
                       env={**os.environ, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"})
    assert r.returncode == 0, r.stderr
    theirs = json.loads(r.stdout)
    ours = parse_inventory(FIX / src)

    def members(group):
        out = set(theirs.get(group, {}).get("hosts", []))
        for c in theirs.get(group, {}).get("children", []):
            out |= members(c)
        return out

    for g in ours.groups:
        if g in ("all", "ungrouped"):
            continue
        assert ours.members(g) == members(g), g
    for host in ours.hosts:
        mine = {k: v for k, (v, _, _) in ours.effective_vars(host).items()}
        hv = theirs["_meta"]["hostvars"].get(host, {})
        for k, v in mine.items():
            assert hv.get(k) == v, (host, k)


def test_round_trip_plan_render_import():
    plan = load_plan(GOLDEN_PLAN)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        write_rendered(render(plan, "kubespray"), d)
        res = import_kubespray(Path(d) / "inventory" / "demo" / "inventory.ini")
    back, _ = to_plan(res)
    assert [(h.name, h.address, h.user, h.port, h.key_file, h.proxy_jump, h.roles) for h in back.hosts] == \
           [(h.name, h.address, h.user, h.port, h.key_file, h.proxy_jump, h.roles) for h in plan.hosts]
    for f in ("kubernetes_version", "pod_cidr", "service_cidr", "cni", "kube_proxy_mode", "container_runtime",
              "control_plane_endpoint"):
        assert getattr(back, f) == getattr(plan, f), f
    assert back.name == "demo"
    from k8s_tui.backends.rendered import plan_sysctls

    assert plan_sysctls(back) == plan_sysctls(plan)  # the additional_sysctl list comes back as tuning


def test_round_trip_without_etcd_role_adds_stacked_etcd(tmp_path):
    plan = load_plan_text(GOLDEN_PLAN.read_text().replace("[control-plane, etcd]", "[control-plane]"))
    write_rendered(render(plan, "kubespray"), tmp_path)
    back, _ = to_plan(import_kubespray(tmp_path / "inventory" / "demo"))
    assert {h.name: [r.value for r in h.roles] for h in back.hosts}["cp1"] == ["control-plane", "etcd"]


def test_update_keeps_tuning_and_says_what_changed():
    plan = load_plan(GOLDEN_PLAN)
    res = import_kubespray(FIX / "kubespray-yaml" / "sample-master.ini")
    new, changes = to_plan(res, plan)
    assert new.tuning == plan.tuning and new.preset == plan.preset and new.name == "demo"
    assert [h.name for h in new.hosts] == ["node1", "node2", "node3", "node4", "node5", "node6"]
    assert "host - cp1 (not in " in "\n".join(changes)
    assert any(c.startswith("host + node4 (worker) 95.54.0.15") for c in changes)
    assert "tool stays kubeadm" in "\n".join(changes)


def test_update_keeps_what_the_inventory_does_not_say(tmp_path):
    plan = load_plan(GOLDEN_PLAN)
    inv = tmp_path / "inventory.ini"
    inv.write_text("[kube_control_plane]\ncp2 ansible_host=10.9.9.9\n[kube_node]\nw1\n")
    new, changes = to_plan(import_kubespray(inv), plan)
    cp2 = new.inventory.get("cp2")
    assert (cp2.address, cp2.user, cp2.port, cp2.key_file) == ("10.9.9.9", "ops", 2222, "~/.ssh/id_ed25519")
    assert cp2.roles == [r for r in cp2.roles if r.value == "control-plane"]
    assert "host ~ cp2: address 10.0.0.12 -> 10.9.9.9; roles control-plane,etcd -> control-plane" in changes
    w1 = new.inventory.get("w1")
    assert w1.proxy_jump == "jump@10.0.0.1:22" and w1.address == "w1"


MALFORMED = [
    ("unclosed.ini", "unclosed.ini:1: section header '[kube_control_plane' is not closed"),
    ("badvar.ini", "badvar.ini:2: host variable 'oops' is not key=value"),
    ("duplicate.ini", "duplicate.ini:6: host 'node2' is listed twice in [kube_node] (first on line 5)"),
    ("cycle.ini", "cycle.ini:8: group cycle: a -> b -> a"),
    ("badname.ini", "badname.ini:2: host 'Node_1': name: 'Node_1' is not a valid node name"),
    ("conflict.ini", "conflict.ini:4: host 'node1' sets ansible_host='1.2.3.5' but line 1 set ansible_host='1.2.3.4'"),
    ("quote.ini", "quote.ini:2: cannot split host line"),
    ("undefined_child.ini", "undefined_child.ini:6: [k8s_cluster:children] names group 'kube_nodes'"),
    ("duplicate.yaml", "duplicate.yaml line 6 column 9: broken YAML: found duplicate key \"node1\""),
    ("cycle.yaml", "cycle.yaml:7: group cycle: a -> b -> a"),
    ("no_control_plane.ini", "no host is in [kube_control_plane]"),
]


@pytest.mark.parametrize("name,message", MALFORMED)
def test_malformed(name, message):
    with pytest.raises(InputError) as e:
        import_kubespray(FIX / "malformed" / name)
    assert message in str(e.value)
    assert str(FIX / "malformed" / name) in str(e.value)


@pytest.mark.parametrize("name", [m[0] for m in MALFORMED])
def test_cli_malformed_writes_nothing(tmp_path, capsys, name):
    out = tmp_path / "plan.yaml"
    assert main(["import", "kubespray", str(FIX / "malformed" / name), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    assert not out.exists()


def test_cli_import_new_then_update(tmp_path, capsys):
    out = tmp_path / "plan.yaml"
    assert main(["import", "kubespray", str(PROD), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "notices" in text and "inventory.ini:8: secret" in text
    assert "wrote" in text
    plan = load_plan(out)
    assert plan.tool.value == "kubespray" and plan.name == "prod" and len(plan.hosts) == 6
    assert plan.tuning.values["kernel.pid_max"] == 4194304
    # tune it, then import again: the tuning stays, nothing else changed
    out.write_text(out.read_text().replace("  net.core.somaxconn: 32768", "  net.core.somaxconn: 4096"))
    assert main(["import", "kubespray", str(PROD), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "tuning kept; the source sets these differently: net.core.somaxconn=32768" in text
    assert load_plan(out).tuning.values["net.core.somaxconn"] == 4096


def test_cli_import_dry_run(tmp_path, capsys):
    out = tmp_path / "plan.yaml"
    assert main(["import", "kubespray", str(PROD), "-o", str(out), "--dry-run"]) == 0
    assert "would write" in capsys.readouterr().out
    assert not out.exists()
