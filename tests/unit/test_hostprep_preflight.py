"""Preflight: the pure report from all hosts' facts, and the step that fails a host on errors."""

from __future__ import annotations

from dataclasses import replace

from k8s_tui.engine.runner import RunPlan, Stage
from k8s_tui.hostprep.facts import FactsStep, FactsStore, HostFacts
from k8s_tui.hostprep.preflight import PreflightStep, preflight_report

from .hostprep_helpers import executor, make_plan, run

PLAN = make_plan(hosts=[
    {"name": "cp1", "address": "10.0.0.1", "roles": ["control-plane"]},
    {"name": "w1", "address": "10.0.0.2", "roles": ["worker"]},
    {"name": "w2", "address": "10.0.0.3", "roles": ["worker"]},
])


def good(name: str, i: int) -> HostFacts:
    return HostFacts(host=name, os_id="debian", os_version="12", os_name="Debian GNU/Linux 12 (bookworm)",
                     kernel_release="6.1.0-18-amd64", hostname=name, cpus=2, memory_mb=3900,
                     product_uuid=f"4c4c4544-0000-0000-0000-00000000000{i}", macs={"eth0": f"52:54:00:00:00:0{i}"},
                     listening={22: "sshd"}, complete=True)


def facts(**over) -> dict[str, HostFacts]:
    fs = {n: good(n, i) for i, n in enumerate(["cp1", "w1", "w2"])}
    for name, changes in over.items():
        fs[name] = replace(fs[name], **changes)
    return fs


def codes(findings, host=None, severity=None):
    return sorted(f.code for f in findings if (host is None or f.host == host) and (severity is None or f.severity == severity))


def test_clean_hosts_pass():
    assert preflight_report(PLAN, facts()) == []


def test_duplicates_across_hosts_are_errors_on_each_host():
    fs = facts(w1={"hostname": "CP1", "product_uuid": "4c4c4544-0000-0000-0000-000000000000", "macs": {"eth0": "52:54:00:00:00:00", "cni0": "x"}},
               w2={"macs": {"ens3": "52:54:00:00:00:00"}})
    r = preflight_report(PLAN, fs)
    assert codes(r, "cp1") == ["duplicate-host-name", "duplicate-mac", "duplicate-product_uuid"]
    assert codes(r, "w1") == ["duplicate-host-name", "duplicate-mac", "duplicate-product_uuid"]
    assert codes(r, "w2") == ["duplicate-mac"]
    mac = next(f for f in r if f.host == "cp1" and f.code == "duplicate-mac")
    assert "w1 (eth0)" in mac.message and "w2 (ens3)" in mac.message and "MAC" in mac.fix


def test_placeholder_uuids_and_virtual_interfaces_do_not_count():
    fs = facts(cp1={"product_uuid": "03000200-0400-0500-0006-000700080009", "macs": {"eth0": "52:54:00:00:00:00", "cni0": "aa:aa:aa:aa:aa:aa"}},
               w1={"product_uuid": "03000200-0400-0500-0006-000700080009", "macs": {"eth0": "52:54:00:00:00:01", "cni0": "aa:aa:aa:aa:aa:aa"}},
               w2={"product_uuid": None})
    assert preflight_report(PLAN, fs) == []


def test_control_plane_resources():
    r = preflight_report(PLAN, facts(cp1={"cpus": 1, "memory_mb": 1500}, w1={"cpus": 1, "memory_mb": 900}))
    assert codes(r, "cp1", "error") == ["cpus", "memory"] and codes(r, "w1") == []


def test_ports_in_use():
    r = preflight_report(PLAN, facts(cp1={"listening": {22: "sshd", 6443: "haproxy", 2380: ""}}, w1={"listening": {10250: "kubelet"}},
                                     w2={"listening": {6443: "nginx"}}))
    msgs = [f.message for f in r if f.code == "port-in-use"]
    assert "port 6443 is in use by haproxy" in msgs and "port 2380 is in use" in msgs
    assert codes(r, "w1") == ["port-in-use"] and "reset" in next(f.fix for f in r if f.host == "w1")
    assert codes(r, "w2") == []  # 6443 is no business of a worker


def test_existing_cluster_ours_or_not():
    busy = {6443: "kube-apiserver", 10250: "kubelet", 2379: "etcd"}
    ours = facts(cp1={"existing": ["/etc/kubernetes/admin.conf", "/etc/kubernetes/k8s-tui/kubeadm.yaml"], "listening": busy})
    assert preflight_report(PLAN, ours) == []
    theirs = facts(cp1={"existing": ["/etc/kubernetes/admin.conf"], "listening": busy})
    r = preflight_report(PLAN, theirs)
    assert codes(r) == ["existing-cluster"] and "kubeadm reset" in r[0].fix


def test_operating_systems():
    r = preflight_report(PLAN, facts(
        cp1={"os_id": "ubuntu", "os_version": "18.04", "os_name": "Ubuntu 18.04"},
        w1={"os_id": "alpine", "os_version": "3.19", "os_name": "Alpine Linux"},
        w2={"os_id": "linuxmint", "os_like": ("ubuntu", "debian"), "os_version": "21.3", "os_name": "Linux Mint 21.3"},
    ))
    assert codes(r, "cp1", "error") == ["os-too-old"]
    assert codes(r, "w1", "error") == ["os-unsupported"] and "Debian 11+" in r[[f.host for f in r].index("w1")].fix
    assert codes(r, "w2", "warning") == ["os-derivative"]
    ok = facts(cp1={"os_id": "rocky", "os_version": "9.4"}, w1={"os_id": "ubuntu", "os_version": "24.04"}, w2={"os_id": "rhel", "os_version": "8.10"})
    assert preflight_report(PLAN, ok) == []


def test_kernel_rules_for_proxy_mode_and_tuned_keys():
    r = preflight_report(PLAN, facts(cp1={"kernel_release": "4.18.0-553.el8_10.x86_64"}, w1={"kernel_release": "5.10.0-28-amd64"}))
    assert codes(r, "cp1", "error") == ["kernel-nftables", "kernel-too-old"]
    assert codes(r, "w1", "error") == ["kernel-nftables"] and "iptables or ipvs" in r[-1].fix
    ipvs = make_plan(kube_proxy_mode="ipvs", hosts=PLAN.model_dump()["hosts"])
    assert codes(preflight_report(ipvs, facts(w1={"kernel_release": "5.10.0-28-amd64"}))) == []
    tuned = make_plan(hosts=PLAN.model_dump()["hosts"],
                      tuning={"values": {"net.ipv4.tcp_syn_linear_timeouts": 4, "net.ipv4.tcp_tw_recycle": 0, "vm.swappiness": 1}})
    r = preflight_report(tuned, facts(cp1={"kernel_release": "6.1.0"}, w1={"kernel_release": "4.19.0", "sysctls_missing": ["vm.swappiness"]}))
    assert codes(r, "cp1", "warning") == ["sysctl-removed", "sysctl-too-new"]
    assert codes(r, "w1", "warning") == ["sysctl-missing", "sysctl-removed", "sysctl-too-new"] and codes(r, "w1", "error") == ["kernel-nftables"]
    # a key whose module the modules step loads is not reported missing
    r = preflight_report(PLAN, facts(cp1={"sysctls_missing": ["net.bridge.bridge-nf-call-iptables"]}))
    assert r == []


def test_warnings_swap_versions_ha_and_incomplete_facts():
    plan = make_plan(hosts=[{"name": "cp1", "address": "10.0.0.1", "roles": ["control-plane"]},
                            {"name": "cp2", "address": "10.0.0.4", "roles": ["control-plane"]},
                            {"name": "w1", "address": "10.0.0.2", "roles": ["worker"]}])
    fs = facts(cp1={"swaps": ["/dev/sda2 partition 999"], "version_lines": {"kubeadm": "v1.30.1"}}, w1={"complete": False})
    fs["cp2"] = good("cp2", 7)
    del fs["w2"]
    r = preflight_report(plan, fs)
    assert all(f.severity == "warning" for f in r)
    assert codes(r, "cp1") == ["kubeadm-version", "swap-on"] and codes(r, "w1") == ["facts-incomplete"]
    assert [f.code for f in r if f.host is None] == ["ha-endpoint"] and codes(r, "cp2") == []


def test_hosts_without_facts_are_not_judged():
    fs = facts()
    del fs["w2"]
    assert preflight_report(PLAN, fs) == []


def test_step_fails_only_the_hosts_with_errors_and_logs_every_finding():
    store = FactsStore()
    ex = executor()
    rp = RunPlan([Stage("facts", [FactsStep(store=store)]), Stage("preflight", [PreflightStep(store)])])

    # the dry-run facts say 2 CPUs / 3.9 GB: a control plane with too little memory comes from a transcript
    from k8s_tui.engine.dryrun import Transcript

    small = Transcript(match=r"(?s)sh -c .* k8s-tui-facts( .*)?",
                       lines=[("stdout", ln) for ln in ("os.ID=debian", "os.VERSION_ID=12", "kernel={kernel}", "hostname={host}",
                                                        "cpus=1", "mem_kb=1000000", "end=1")])
    ex = executor(transcripts=[small])
    ev = run(PLAN, rp, ex)
    assert ev.status("cp1", "preflight") == "failed"
    fin = ev.finished[("cp1", "preflight")]
    assert "2 preflight errors" in fin.message and "CPU" in fin.message and "2 GB" in fin.hint
    assert ev.status("w1", "preflight") == "ok" and ev.status("w2", "preflight") == "ok"
    logged = ev.text("cp1", "preflight", "info")
    assert any(t.startswith("ERROR cp1: 1 CPU") and "-- fix:" in t for t in logged)
