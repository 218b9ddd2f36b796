"""Import of a kubeasz cluster inventory (example/hosts.multi-node form), round trip, malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_tui.backends.importers import import_kubeasz, to_plan
from k8s_tui.backends.importers.kubeasz import default_node_name
from k8s_tui.backends.render import render, write_rendered
from k8s_tui.cli import main
from k8s_tui.model.plan import load_plan
from k8s_tui.yamlio import InputError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "inventories"
HOSTS = FIX / "kubeasz" / "clusters" / "k8s-01" / "hosts"
GOLDEN_PLAN = Path(__file__).resolve().parents[1] / "golden" / "render" / "plan.yaml"


def test_hosts_roles_and_names():
    res = import_kubeasz(HOSTS)
    assert {h.name: (h.address, [r.value for r in h.roles]) for h in res.hosts} == {
        "master-01": ("192.168.1.1", ["control-plane", "etcd"]),
        "master-02": ("192.168.1.2", ["control-plane", "etcd"]),
        "master-03": ("192.168.1.3", ["control-plane", "etcd"]),
        "worker-01": ("192.168.1.4", ["worker"]),
        "k8s-192-168-1-5": ("192.168.1.5", ["worker"]),  # no k8s_nodename: kubeasz's own default name
    }


def test_all_vars_map_to_plan_fields_without_quotes():
    res = import_kubeasz(HOSTS)
    assert res.fields == {
        "container_runtime": "containerd", "cni": "flannel", "kube_proxy_mode": "ipvs",
        "service_cidr": "10.68.0.0/16", "pod_cidr": "172.20.0.0/16", "kubernetes_version": "1.30.1",
    }
    assert res.name == "k8s-01"
    plan, changes = to_plan(res)
    assert plan.tool.value == "kubeasz" and plan.name == "k8s-01"
    assert "kube_proxy_mode: ipvs (" in "\n".join(changes) and res.field_origin["kube_proxy_mode"].endswith("hosts:47")


def test_extras_and_comments_are_reported():
    res = import_kubeasz(HOSTS)
    got = [(n.line, n.kind, n.message) for n in res.notices]
    assert (1, "comment", "'etcd' cluster should have odd member(s) (1,3,5,...)") in got
    assert (23, "comment", "192.168.1.8 NEW_INSTALL=false") in got
    assert any(line == 26 and kind == "unmapped" and "[ex_lb] (192.168.1.6, 192.168.1.7)" in msg for line, kind, msg in got)
    assert any(line == 37 and "SECURE_PORT" in msg for line, kind, msg in got)
    assert any(line == 18 and kind == "default" and "k8s-192-168-1-5" in msg for line, kind, msg in got)


def test_default_node_name_is_rfc1123():
    assert default_node_name("10.0.0.1") == "k8s-10-0-0-1"
    assert default_node_name("fd00::1") == "k8s-fd00--1"


def test_round_trip(tmp_path):
    plan = load_plan(GOLDEN_PLAN)
    write_rendered(render(plan, "kubeasz"), tmp_path)
    back, _ = to_plan(import_kubeasz(tmp_path / "clusters" / "demo" / "hosts"))
    assert [(h.name, h.address, h.user, h.port, h.key_file, h.proxy_jump, h.roles) for h in back.hosts] == \
           [(h.name, h.address, h.user, h.port, h.key_file, h.proxy_jump, h.roles) for h in plan.hosts]
    for f in ("kubernetes_version", "pod_cidr", "service_cidr", "cni", "kube_proxy_mode", "name"):
        assert getattr(back, f) == getattr(plan, f), f


def test_old_dashed_groups(tmp_path):
    p = tmp_path / "hosts"
    p.write_text("[etcd]\n10.0.0.1 NODE_NAME=etcd1\n[kube-master]\n10.0.0.1\n[kube-node]\n10.0.0.2\n")
    res = import_kubeasz(p)
    assert {h.name: [r.value for r in h.roles] for h in res.hosts} == {
        "k8s-10-0-0-1": ["control-plane", "etcd"], "k8s-10-0-0-2": ["worker"]}
    assert any("NODE_NAME" in n.message for n in res.notices)


@pytest.mark.parametrize("name,message", [
    ("kubeasz_dup_nodename", "kubeasz_dup_nodename:5: node name 'a' is used by 192.168.1.1 too"),
    ("kubeasz_badname", "kubeasz_badname:2: k8s_nodename 'Bad_Name!' is not a valid node name"),
    ("unclosed.ini", "unclosed.ini:1: section header"),
    ("cycle.ini", "group cycle"),
])
def test_malformed(name, message, tmp_path, capsys):
    with pytest.raises(InputError) as e:
        import_kubeasz(FIX / "malformed" / name)
    assert message in str(e.value)
    out = tmp_path / "plan.yaml"
    assert main(["import", "kubeasz", str(FIX / "malformed" / name), "-o", str(out)]) == 2
    assert not out.exists()


def test_cli(tmp_path, capsys):
    out = tmp_path / "plan.yaml"
    assert main(["import", "kubeasz", str(HOSTS), "-o", str(out)]) == 0
    assert len(load_plan(out).hosts) == 5
    assert "hosts:26: unmapped: group [ex_lb]" in capsys.readouterr().out
