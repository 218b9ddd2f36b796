"""kubespray: the inventory and group_vars for a plan, and the command that runs it.

Layout (kubespray's own ``inventory/sample``, copied to ``inventory/<name>``)::

    inventory/<name>/inventory.ini                       hosts and groups
    inventory/<name>/group_vars/k8s_cluster/k8s-cluster.yml   version, CNI, proxy mode, subnets
    inventory/<name>/group_vars/all/all.yml              additional_sysctl (+ API load balancer)

Group vars here replace kubespray's ``inventory/sample`` files of the same name, whose settings
then fall back to the role defaults (``roles/kubespray_defaults``). ``additional_sysctl`` goes
through ``ansible.posix.sysctl`` into ``sysctl_file_path`` (/etc/sysctl.d/99-sysctl.conf),
after kubespray's own settings (ip_forward, the kubelet's protected keys, ...).

The plan's network settings (model/network.py) go to all.yml, under kubespray's names:
``kube_image_repo`` (roles/kubespray_defaults/defaults/main/download.yml, default
"registry.k8s.io"), ``containerd_registries_mirrors`` (docs/CRI/containerd.md: a list of
``{prefix, mirrors: [{host, capabilities, skip_verify}]}``; kubespray writes hosts.toml from it),
``http_proxy``, ``https_proxy`` and ``no_proxy`` (inventory/sample/group_vars/all/all.yml; our
no_proxy is the whole list the kubeadm path uses, so kubespray's generated one is replaced).
kubespray downloads Kubernetes binaries rather than packages, so ``package_repository`` has no
equivalent there (its offline.yml ``files_repo`` wants a different layout); the header says so.
"""

from __future__ import annotations

import ipaddress

from ..model.hosts import Host
from ..model.plan import ClusterPlan, Cni, Tool
from .rendered import RenderedFile, Rendered, ini_value, quoted, plan_sysctls, protected_keys, sysctl_value_for_yaml, yaml_text

LABEL_PREFIX = "kubespray/"
LABEL_VARS = ("ip", "access_ip", "ip6", "access_ip6", "etcd_member_name")
NETWORK_PLUGIN = {Cni.calico: "calico", Cni.flannel: "flannel", Cni.cilium: "cilium", Cni.none: "cni", Cni.manifest: "cni"}
RUNTIME = {"containerd": "containerd", "cri-o": "crio"}


def inventory_dir(plan: ClusterPlan) -> str:
    return f"inventory/{plan.name}"


def host_vars(h: Host) -> list[tuple[str, str]]:
    """Connection variables (and the kubespray variables an import kept as labels)."""
    out = [("ansible_host", h.address), ("ansible_user", h.user)]
    if h.port != 22:
        out.append(("ansible_port", str(h.port)))
    if h.key_file:
        out.append(("ansible_ssh_private_key_file", h.key_file))
    if h.proxy_jump:
        out.append(("ansible_ssh_common_args", f"-o ProxyJump={h.proxy_jump}"))
    for var in LABEL_VARS:
        v = h.labels.get(LABEL_PREFIX + var)
        if v:
            out.append((var, v))
    return out


def render_inventory(plan: ClusterPlan) -> str:
    cps = [h for h in plan.hosts if h.is_control_plane]
    etcd = [h for h in plan.hosts if h.is_etcd]
    nodes = [h for h in plan.hosts if h.is_worker]
    lines = [
        f"# kubespray inventory for cluster {plan.name}, written by k8s-tui from its plan.",
        "# Groups as in kubespray's docs/ansible/inventory.md; k8s_cluster is their union.",
        "",
        "[all]",
    ]
    for h in plan.hosts:
        lines.append(" ".join([h.name] + [f"{k}={ini_value(v)}" for k, v in host_vars(h)]))
    lines += ["", "[kube_control_plane]", *[h.name for h in cps], ""]
    if etcd:
        lines += ["[etcd]", *[h.name for h in etcd], ""]
    else:
        lines += ["# no host has the etcd role: etcd runs stacked on the control planes", "[etcd:children]", "kube_control_plane", ""]
    lines += ["[kube_node]", *[h.name for h in nodes], ""]
    lines += ["[calico_rr]", "", "[k8s_cluster:children]", "kube_control_plane", "kube_node", "calico_rr"]
    return "\n".join(lines) + "\n"


def render_k8s_cluster(plan: ClusterPlan) -> str:
    data = {
        "kube_version": quoted(plan.kubernetes_version),
        "kube_network_plugin": NETWORK_PLUGIN[plan.cni],
        "kube_proxy_mode": plan.kube_proxy_mode.value,
        "kube_pods_subnet": plan.pod_cidr,
        "kube_service_addresses": plan.service_cidr,
        "container_manager": RUNTIME[plan.container_runtime.value],
    }
    header = [
        f"kubespray cluster settings for {plan.name}, written by k8s-tui from its plan.",
        "Settings not listed here keep kubespray's defaults (roles/kubespray_defaults).",
    ]
    if plan.cni is Cni.manifest:
        header.append(f"kube_network_plugin cni: apply your network add-on yourself after the run: {plan.cni_manifest}")
    elif plan.cni is Cni.none:
        header.append("kube_network_plugin cni: no network add-on is installed; nodes stay NotReady until you add one")
    return yaml_text(data, header)


def _endpoint(plan: ClusterPlan) -> dict:
    ep = plan.control_plane_endpoint
    if not ep:
        return {}
    if ep.startswith("["):
        host, _, port = ep[1:].partition("]")
        port = port.lstrip(":")
    elif ep.count(":") == 1:
        host, port = ep.split(":")
    else:
        host, port = ep, ""
    port_n = int(port) if port else 6443
    try:
        ipaddress.ip_address(host)
        return {"loadbalancer_apiserver": {"address": host, "port": port_n}}
    except ValueError:
        return {"apiserver_loadbalancer_domain_name": host, "loadbalancer_apiserver": {"address": host, "port": port_n}}


def render_all(plan: ClusterPlan) -> str:
    values = plan_sysctls(plan)
    data: dict = {}
    data.update(_endpoint(plan))
    data["additional_sysctl"] = [{"name": k, "value": sysctl_value_for_yaml(v)} for k, v in values.items()]
    header = [
        f"kubespray settings for every host of {plan.name}, written by k8s-tui from its plan.",
        "additional_sysctl: the plan's sysctls; kubespray writes them with ansible.posix.sysctl into",
        "sysctl_file_path (default /etc/sysctl.d/99-sysctl.conf) after its own settings.",
    ]
    prot = protected_keys(values)
    if prot:
        header.append("the kubelet checks these against its expected values (kubelet_protect_kernel_defaults, kubespray's")
        header.append("default true) and refuses to start when they differ: " + ", ".join(prot))
    if "apiserver_loadbalancer_domain_name" in data:
        header.append("loadbalancer_apiserver.address: put the load balancer's IP address here (kubespray wants an IP)")
    header += _network(plan, data)
    return yaml_text(data, header)


def _network(plan: ClusterPlan, data: dict) -> list[str]:
    """Put the plan's mirrors, image repository and proxy into ``data``; the header lines that explain them."""
    from ..hostprep.runtime import plan_no_proxy

    notes = []
    if plan.image_repository:
        data["kube_image_repo"] = plan.image_repository
        notes.append("kube_image_repo: where kubeadm pulls the Kubernetes images (the plan's image_repository)")
    if plan.registry_mirrors:
        data["containerd_registries_mirrors"] = [
            {"prefix": reg, "mirrors": [{"host": m, "capabilities": ["pull", "resolve"], "skip_verify": False} for m in mirrors]}
            for reg, mirrors in sorted(plan.registry_mirrors.items())
        ]
        notes.append("containerd_registries_mirrors: kubespray writes /etc/containerd/certs.d/<prefix>/hosts.toml from it")
    if plan.proxy is not None and plan.proxy.enabled:
        if plan.proxy.http:
            data["http_proxy"] = plan.proxy.http
        if plan.proxy.https:
            data["https_proxy"] = plan.proxy.https
        data["no_proxy"] = ",".join(plan_no_proxy(plan))
        notes.append("http_proxy/https_proxy/no_proxy: no_proxy lists localhost, the pod and service networks, the API")
        notes.append("endpoint and every host, as k8s-tui's kubeadm path does (it replaces the one kubespray computes)")
    if plan.package_repository:
        notes.append(f"package_repository {plan.package_repository}: kubespray has no equivalent (it downloads binaries,")
        notes.append("not kubeadm/kubelet packages; see its offline.yml files_repo for a mirror of those downloads)")
    return notes


def render(plan: ClusterPlan) -> Rendered:
    d = inventory_dir(plan)
    out = Rendered(Tool.kubespray)
    out.files += [
        RenderedFile(f"{d}/inventory.ini", render_inventory(plan)),
        RenderedFile(f"{d}/group_vars/k8s_cluster/k8s-cluster.yml", render_k8s_cluster(plan)),
        RenderedFile(f"{d}/group_vars/all/all.yml", render_all(plan)),
    ]
    out.notes.append(f"copy {d}/ into your kubespray checkout (or use run-tool --checkout), then: "
                     f"ansible-playbook -i {d}/inventory.ini cluster.yml -b")
    if plan.kubernetes_version.count(".") < 2:
        out.notes.append(f"kube_version {plan.kubernetes_version}: kubespray wants a full version (1.x.y) it has checksums for")
    if not any(h.is_etcd for h in plan.hosts):
        out.notes.append("no host has the etcd role: the inventory puts etcd on the control planes ([etcd:children] kube_control_plane)")
    return out


def playbook_argv(inventory: str, playbook: str = "cluster.yml") -> list[str]:
    return ["ansible-playbook", "-i", inventory, playbook, "-b"]
