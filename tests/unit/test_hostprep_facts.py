"""Host facts: the one-round-trip script, its parser, and the step."""

from __future__ import annotations

import os
import platform
import subprocess

from k8s_tui.hostprep.facts import (
    FACTS_SCRIPT,
    VERSIONS_SCRIPT,
    FactsStep,
    FactsStore,
    HostFacts,
    parse_facts,
    parse_version,
)
from k8s_tui.knowledge import KernelVersion

from .hostprep_helpers import executor, make_plan, run_steps

SAMPLE = """\
os.PRETTY_NAME="Ubuntu 22.04.4 LTS"
os.NAME="Ubuntu"
os.VERSION_ID="22.04"
os.ID=ubuntu
os.ID_LIKE=debian
kernel=5.15.0-105-generic
arch=x86_64
hostname=node-a
cpus=4
mem_kb=8127348
swap=/swap.img file 4194300
product_uuid=4C4C4544-0042-3510-8052-B4C04F4E3732
mac.eth0=52:54:00:12:34:56
mac.cni0=aa:bb:cc:dd:ee:ff
mac.veth1234=aa:bb:cc:dd:ee:00
exists=/etc/kubernetes/kubelet.conf
exists=/etc/passwd
kubelet_active=active
containerd_active=active
containerd_version=containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da
kubeadm_version=v1.30.2
kubelet_version=Kubernetes v1.30.2
missing=kubectl
pkgmgr=apt-get
listen=0.0.0.0:22 users:(("sshd",pid=612,fd=3))
listen=127.0.0.53%lo:53 users:(("systemd-resolve",pid=500,fd=14))
listen=[::]:10250 users:(("kubelet",pid=900,fd=20))
listen=*:2379
sysctl.net.ipv4.tcp_mem=45981\t61310\t91962
sysctl.vm.swappiness=60
sysctl_missing=net.netfilter.nf_conntrack_max
garbage line without an equals sign
unknown_key=whatever
end=1
""".replace("\\t", "\t")


def test_parse_facts_reads_every_field():
    f = parse_facts("a", SAMPLE)
    assert (f.os_id, f.os_version, f.os_like, f.os_name) == ("ubuntu", "22.04", ("debian",), "Ubuntu 22.04.4 LTS")
    assert f.family == "debian" and f.kernel == KernelVersion(5, 15, 0) and f.arch == "x86_64"
    assert (f.hostname, f.cpus, f.memory_mb) == ("node-a", 4, 7936)
    assert f.swaps == ["/swap.img file 4194300"]
    assert f.product_uuid == "4C4C4544-0042-3510-8052-B4C04F4E3732"
    assert f.physical_macs() == {"eth0": "52:54:00:12:34:56"}  # cni0 and veth* are virtual
    assert f.existing == ["/etc/kubernetes/kubelet.conf"]  # only the files the script may report
    assert f.has_cluster and not f.made_by_us and f.kubelet_active
    assert f.version("containerd") == "1.7.27" and f.version("kubeadm") == "1.30.2" and f.version("kubelet") == "1.30.2"
    assert f.tool_state("kubectl") == "missing" and f.version("kubectl") is None
    assert f.listening == {22: "sshd", 53: "systemd-resolve", 10250: "kubelet", 2379: ""}
    assert f.sysctls == {"net.ipv4.tcp_mem": "45981\t61310\t91962", "vm.swappiness": "60"}
    assert f.sysctls_missing == ["net.netfilter.nf_conntrack_max"] and f.complete
    assert "already a Kubernetes node" in f.summary()


def test_parse_facts_tolerates_little_and_broken_output():
    f = parse_facts("a", "cpus=two\nmem_kb=\nkernel=weird\nlisten_hex=0100007F:1F90\nlisten=nonsense\n")
    assert f.cpus is None and f.memory_mb is None and f.kernel is None and not f.complete
    assert f.listening == {8080: ""} and f.family == "other" and f.product_uuid is None
    assert f.tool_state("kubeadm") == "unknown"  # not said either way
    assert parse_facts("a", "").summary().startswith("?")


def test_family_from_os_release_or_package_manager():
    assert parse_facts("a", "os.ID=rocky\nos.ID_LIKE=\"rhel centos fedora\"\n").family == "rhel"
    assert parse_facts("a", "os.ID=almalinux\n").family == "rhel"
    assert parse_facts("a", "os.ID=debian\n").family == "debian"
    assert parse_facts("a", "os.ID=linuxmint\nos.ID_LIKE=\"ubuntu debian\"\n").family == "debian"
    assert parse_facts("a", "os.ID=something\npkgmgr=dnf\n").family == "rhel"
    assert parse_facts("a", "os.ID=alpine\n").family == "other"


def test_parse_version():
    assert parse_version("v1.33.0") == "1.33.0"
    assert parse_version("Client Version: v1.33.1") == "1.33.1"
    assert parse_version("containerd github.com/containerd/containerd/v2 v2.0.4 1a43cb6a") == "2.0.4"
    assert parse_version("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1") == "1.6.20"
    assert parse_version("command not found") is None and parse_version(None) is None


def test_the_scripts_are_fixed_text_and_run_here_for_real():
    # the values (sysctl keys) are arguments, never part of the script
    r = subprocess.run(["sh", "-c", FACTS_SCRIPT, "k8s-tui-facts", "kernel.ostype", "no.such.key"],
                       capture_output=True, text=True, timeout=30)
    f = parse_facts("here", r.stdout)
    assert f.complete and f.kernel_release == platform.release()
    assert f.cpus == os.cpu_count() and f.memory_mb and f.memory_mb > 100
    assert f.hostname == platform.node()
    assert f.sysctls.get("kernel.ostype") == "Linux" and f.sysctls_missing == ["no.such.key"]
    v = parse_facts("here", subprocess.run(["sh", "-c", VERSIONS_SCRIPT, "k8s-tui-versions"], capture_output=True,
                                           text=True, timeout=30).stdout)
    assert v.complete and all(v.tool_state(t) in ("present", "missing") for t in ("containerd", "kubeadm", "kubelet", "kubectl"))


def test_facts_step_one_round_trip_stores_facts_for_later_steps():
    plan = make_plan()
    ex = executor()
    store = FactsStore()
    step = FactsStep(["net.ipv4.ip_forward", "vm.swappiness"], store)
    ev = run_steps(plan, [step], ex, facts=False)
    assert ev.status("cp1", "facts") == "ok"
    cmds = ex.commands("cp1", step_id="facts")
    assert len(cmds) == 1 and cmds[0][:2] == ["sh", "-c"] and cmds[0][3:] == ["k8s-tui-facts", "net.ipv4.ip_forward", "vm.swappiness"]
    f = store["cp1"]
    assert isinstance(f, HostFacts) and f.os_id == "debian" and f.hostname == "cp1" and f.kernel == KernelVersion(6, 1, 0)
    assert set(store) == {"cp1", "w1"}
    assert "Debian GNU/Linux 12" in ev.finished[("cp1", "facts")].message
    assert not [c for c in ex.calls if c.kind == "write"]


def test_facts_step_refuses_keys_that_are_not_sysctl_keys():
    import pytest

    with pytest.raises(ValueError):
        FactsStep(["vm.swappiness; rm -rf /"])
