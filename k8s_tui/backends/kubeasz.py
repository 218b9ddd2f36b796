"""kubeasz: the cluster inventory, config overrides and sysctl file for a plan.

Layout (relative to the kubeasz base directory, /etc/kubeasz by default)::

    clusters/<name>/hosts                              [etcd] [kube_master] [kube_node] ... [all:vars]
    clusters/<name>/config.yml                         only the keys the plan decides (see below)
    roles/prepare/templates/95-k8s-sysctl.conf.j2      the plan's sysctls, for the prepare role

``hosts`` follows ``example/hosts.multi-node`` of kubeasz 3.6/3.7: hosts by IP with
``k8s_nodename``, and the same ``[all:vars]`` keys with kubeasz's defaults where a plan has no
value. ``config.yml`` holds only K8S_VER and CLUSTER_NAME: the full file is the one
``ezctl new <name>`` writes from ``example/config.yml`` with the versions of the downloaded
binaries; ``run-tool`` passes ours after it (``-e @theirs -e @ours``), so ours win. The prepare
role templates ``95-k8s-sysctl.conf.j2`` to ``/etc/sysctl.d/95-k8s-sysctl.conf`` and loads it
with ``sysctl -p``; ours holds the plan's values (already resolved for the proxy mode, so no
Jinja is left in it).

The plan's network settings (model/network.py) map onto kubeasz's example/config.yml keys as far
as it has them: ``image_repository`` -> ``SANDBOX_IMAGE`` (``<repository>/pause:<tag>``; kubeasz
runs the control plane from binaries, so the pause image is the only Kubernetes image it pulls by
name). kubeasz has no per-registry mirror list (``ENABLE_MIRROR_REGISTRY`` switches on the mirrors
built into its containerd template; ``INSECURE_REG`` is for plain-HTTP registries, not mirrors), no
proxy setting and no package repository (ezdown fetches binaries): config.yml says so in comments.
"""

from __future__ import annotations

import ipaddress

from ..hostprep.sysctl_conf import render_sysctl_conf
from ..model.hosts import Host
from ..model.plan import ClusterPlan, Cni, Tool
from ..yamlio import InputError
from .rendered import Rendered, RenderedFile, ini_value, plan_sysctls, quoted, sysctl_header, yaml_text

DEFAULT_BASE = "/etc/kubeasz"
SYSCTL_TEMPLATE = "roles/prepare/templates/95-k8s-sysctl.conf.j2"
NETWORK = {Cni.calico: "calico", Cni.flannel: "flannel", Cni.cilium: "cilium", Cni.none: "none", Cni.manifest: "none"}
# ezctl setup steps 01..07 (ezctl usage-setup): number, name, playbook
STEPS = [
    ("01", "prepare", "01.prepare.yml"),
    ("02", "etcd", "02.etcd.yml"),
    ("03", "container-runtime", "03.runtime.yml"),
    ("04", "kube-master", "04.kube-master.yml"),
    ("05", "kube-node", "05.kube-node.yml"),
    ("06", "network", "06.network.yml"),
    ("07", "cluster-addon", "07.cluster-addon.yml"),
]


def cluster_dir(plan: ClusterPlan) -> str:
    return f"clusters/{plan.name}"


def _line(h: Host) -> str:
    words = [h.address, f"k8s_nodename={ini_value(h.name)}"]
    if h.user != "root":
        words.append(f"ansible_user={ini_value(h.user)}")
    if h.port != 22:
        words.append(f"ansible_port={h.port}")
    if h.key_file:
        words.append(f"ansible_ssh_private_key_file={ini_value(h.key_file)}")
    if h.proxy_jump:
        words.append(f"ansible_ssh_common_args={ini_value('-o ProxyJump=' + h.proxy_jump)}")
    return " ".join(words)


def render_hosts(plan: ClusterPlan, base_dir: str = DEFAULT_BASE) -> str:
    seen: dict[str, str] = {}
    for h in plan.hosts:
        if h.address in seen:
            raise InputError(f"kubeasz lists hosts by address: {h.name} and {seen[h.address]} both have {h.address}")
        seen[h.address] = h.name
    etcd = [h for h in plan.hosts if h.is_etcd]
    lines = [f"# kubeasz inventory for cluster {plan.name}, written by k8s-tui from its plan.", ""]
    lines.append("# 'etcd' cluster should have odd member(s) (1,3,5,...)")
    if not etcd:
        lines.append("# no host has the etcd role: etcd runs on the control planes")
        etcd = [h for h in plan.hosts if h.is_control_plane]
    lines += ["[etcd]", *[_line(h) for h in etcd], ""]
    lines += ["# master node(s)", "[kube_master]", *[_line(h) for h in plan.hosts if h.is_control_plane], ""]
    lines += ["# work node(s)", "[kube_node]", *[_line(h) for h in plan.hosts if h.is_worker], ""]
    lines += ["# [optional] kubeasz extras, not used by this plan", "[harbor]", "", "[ex_lb]", "", "[chrony]", ""]
    port = "6443"
    allvars = [
        ("SECURE_PORT", f'"{port}"'),
        ("CONTAINER_RUNTIME", '"containerd"'),
        ("CLUSTER_NETWORK", f'"{NETWORK[plan.cni]}"'),
        ("PROXY_MODE", f'"{plan.kube_proxy_mode.value}"'),
        ("SERVICE_CIDR", f'"{plan.service_cidr}"'),
        ("CLUSTER_CIDR", f'"{plan.pod_cidr}"'),
        ("NODE_PORT_RANGE", '"30000-32767"'),
        ("CLUSTER_DNS_DOMAIN", '"cluster.local"'),
        ("bin_dir", '"/opt/kube/bin"'),
        ("base_dir", f'"{base_dir}"'),
        ("cluster_dir", f'"{{{{ base_dir }}}}/clusters/{plan.name}"'),
        ("ca_dir", '"/etc/kubernetes/ssl"'),
        ("k8s_nodename", "''"),
        ("ansible_python_interpreter", "/usr/bin/python3"),
    ]
    lines.append("[all:vars]")
    lines.append("# from the plan: CLUSTER_NETWORK PROXY_MODE SERVICE_CIDR CLUSTER_CIDR; the rest are kubeasz's defaults")
    if plan.cni in (Cni.none, Cni.manifest):
        lines.append("# CLUSTER_NETWORK none: step 06 installs no network add-on" +
                     (f"; apply {plan.cni_manifest} yourself" if plan.cni_manifest else ""))
    lines += [f"{k}={v}" for k, v in allvars]
    return "\n".join(lines) + "\n"


def render_config(plan: ClusterPlan) -> str:
    data = {"CLUSTER_NAME": quoted(plan.name), "K8S_VER": quoted(plan.kubernetes_version)}
    header = [
        f"kubeasz settings the plan for {plan.name} decides, written by k8s-tui.",
        "This is not a whole config.yml: `ezctl new NAME` writes that one (from example/config.yml, with the",
        "versions of the binaries ezdown fetched). k8s-tui run-tool passes this file after it, so these win;",
        "by hand: ansible-playbook ... -e @clusters/NAME/config.yml -e @THIS_FILE playbooks/01.prepare.yml",
    ]
    header += _network(plan, data)
    return yaml_text(data, header)


def _network(plan: ClusterPlan, data: dict) -> list[str]:
    from ..hostprep.runtime import pause_image

    notes = []
    if plan.image_repository:
        data["SANDBOX_IMAGE"] = quoted(pause_image(plan.k8s_minor, plan.image_repository))
        notes.append("SANDBOX_IMAGE: the pause image from the plan's image_repository (kubeadm's tag for this version)")
    if plan.registry_mirrors:
        notes.append("registry_mirrors: kubeasz has no per-registry mirror setting in config.yml (ENABLE_MIRROR_REGISTRY")
        notes.append("turns on the mirrors built into roles/containerd/templates/config.toml.j2); add these there by hand:")
        for reg, mirrors in sorted(plan.registry_mirrors.items()):
            notes.append(f"  {reg}: {', '.join(mirrors)}")
    if plan.proxy is not None and plan.proxy.enabled:
        notes.append("proxy: kubeasz has no proxy setting; ezdown needs the internet on the deploy host only, and the")
        notes.append(f"nodes pull images through containerd: give containerd HTTP(S)_PROXY by hand ({plan.proxy.https or plan.proxy.http})")
    if plan.package_repository:
        notes.append(f"package_repository {plan.package_repository}: no equivalent (kubeasz installs binaries ezdown fetched)")
    return notes


def render_sysctl_template(plan: ClusterPlan) -> str:
    text = render_sysctl_conf(plan_sysctls(plan), header=[
        *sysctl_header(plan),
        "replaces kubeasz's roles/prepare/templates/95-k8s-sysctl.conf.j2; the prepare role writes it to",
        "/etc/sysctl.d/95-k8s-sysctl.conf and loads it with sysctl -p",
    ])
    for marker in ("{{", "{%", "{#"):
        if marker in text:  # values are numbers; this only guards a future header change
            raise InputError(f"the sysctl template would contain Jinja syntax {marker!r}")
    return text


def render(plan: ClusterPlan) -> Rendered:
    out = Rendered(Tool.kubeasz)
    d = cluster_dir(plan)
    out.files += [
        RenderedFile(f"{d}/hosts", render_hosts(plan)),
        RenderedFile(f"{d}/config.yml", render_config(plan)),
        RenderedFile(SYSCTL_TEMPLATE, render_sysctl_template(plan)),
    ]
    for h in plan.hosts:
        try:
            ipaddress.ip_address(h.address)
        except ValueError:
            out.notes.append(f"{h.name}: kubeasz expects IP addresses (certificates and ezctl use them); {h.address} is a name")
    if plan.container_runtime.value != "containerd":
        out.notes.append(f"kubeasz installs containerd; the plan's {plan.container_runtime.value} is not available there")
    out.notes.append(f"in the kubeasz directory: ezctl new {plan.name}, then put these files in place "
                     f"(or use run-tool --checkout), then ezctl setup {plan.name} 01 .. 07")
    return out


def step_argv(plan: ClusterPlan, playbook: str, overrides: str) -> list[str]:
    """What ``ezctl setup <cluster> <step>`` runs (it echoes this command), plus our overrides."""
    d = cluster_dir(plan)
    return ["ansible-playbook", "-i", f"{d}/hosts", "-e", f"@{d}/config.yml", "-e", f"@{overrides}", f"playbooks/{playbook}"]
