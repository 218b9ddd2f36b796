"""kops: Cluster and InstanceGroup specs (kops.k8s.io/v1alpha2) and the commands that apply them.

kops creates its own machines in a cloud, so a plan's hosts only give the instance counts (one
control-plane instance group per control-plane host, one ``nodes`` group sized to the workers).
What a plan cannot know is written as ``FILL-IN-...`` and listed at the top of every file:
the cloud, the zones, the machine types and the state store. ``commands.sh`` refuses to run
while any ``FILL-IN`` is left.

The plan's sysctls go to the Cluster's ``spec.sysctlParameters`` (``key=value`` strings, kops PR
#7730); every instance group inherits them, and nodeup writes them to a sysctl.d drop-in and runs
``sysctl --system``. kops requires ``podCIDR`` and ``serviceClusterIPRange`` inside
``nonMasqueradeCIDR``; the renderer uses the smallest network holding both.

The plan's network settings (model/network.py), where kops has them: ``proxy`` ->
``spec.egressProxy`` (``httpProxy: {host, port}`` and ``excludes``, https://kops.sigs.k8s.io/http_proxy/;
kops takes one proxy for http and https), ``registry_mirrors`` -> ``spec.containerd.registryMirrors``
(registry -> mirror URLs, kops docs/cluster_spec.md "containerd"), ``image_repository`` ->
``spec.assets.containerProxy`` (images are pulled through it instead of their registries,
https://kops.sigs.k8s.io/operations/asset-repository/). ``package_repository`` has no equivalent
(kops downloads binaries; ``assets.fileRepository`` wants dl.k8s.io's layout); the header says so.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ..knowledge import format_value
from ..model.plan import ClusterPlan, Cni, Tool
from ..yamlio import dump_yaml
from .rendered import Rendered, RenderedFile, plan_sysctls, quoted

API_VERSION = "kops.k8s.io/v1alpha2"
FILL = "FILL-IN"
TO_FILL = [
    ("cluster.yaml", "spec.cloudProvider", "aws, gce, azure, digitalocean, hetzner, openstack or scaleway"),
    ("cluster.yaml", "spec.configBase", "the state store URL plus the cluster name, e.g. s3://my-kops-state/NAME"),
    ("cluster.yaml", "spec.subnets[].zone", "the cloud zone, e.g. eu-west-1a (and the subnet CIDR inside networkCIDR)"),
    ("instancegroups.yaml", "spec.machineType", "an instance type of that cloud, e.g. t3.medium"),
    ("commands.sh", "KOPS_STATE_STORE", "the state store bucket, e.g. s3://my-kops-state (export it)"),
]
NETWORKING = {Cni.calico: {"calico": {}}, Cni.cilium: {"cilium": {}}, Cni.flannel: {"flannel": {"backend": "vxlan"}},
              Cni.none: {"cni": {}}, Cni.manifest: {"cni": {}}}


def cluster_fqdn(plan: ClusterPlan) -> str:
    """kops names clusters by DNS name; ``.k8s.local`` means gossip, no DNS zone needed."""
    return f"{plan.name}.k8s.local"


def non_masquerade_cidr(pod: str, svc: str) -> str:
    a, b = ipaddress.ip_network(pod), ipaddress.ip_network(svc)
    if a.version != b.version:
        return "::/0" if a.version == 6 else "0.0.0.0/0"
    net = a
    while not (b.subnet_of(net)):
        net = net.supernet()
    return str(net)


def _header(what: str) -> list[str]:
    lines = [f"# {what}, written by k8s-tui from its plan.", "# kops is cloud-bound: fill in every FILL-IN before `kops create -f`:"]
    for f, field, hint in TO_FILL:
        lines.append(f"#   {f}: {field}: {hint}")
    return lines


def cluster_doc(plan: ClusterPlan) -> dict:
    fqdn = cluster_fqdn(plan)
    cps = [h for h in plan.hosts if h.is_control_plane] or [None]
    ig_names = [f"control-plane-{i}" for i in range(1, len(cps) + 1)]
    members = [{"instanceGroup": ig, "name": chr(ord("a") + i)} for i, ig in enumerate(ig_names)]
    sysctls = [DoubleQuotedScalarString(f"{k}={format_value(v)}") for k, v in plan_sysctls(plan).items()]
    spec: dict = {
        "api": {"loadBalancer": {"type": "Public"}} if len(cps) > 1 else {"dns": {}},
        "authorization": {"rbac": {}},
        "channel": "stable",
        "cloudProvider": f"{FILL}-cloud",
        "configBase": f"{FILL}-state-store/{fqdn}",
        "etcdClusters": [
            {"name": "main", "etcdMembers": members},
            {"name": "events", "etcdMembers": [dict(m) for m in members]},
        ],
        "kubeProxy": {"proxyMode": plan.kube_proxy_mode.value},
        "kubernetesApiAccess": ["0.0.0.0/0"],
        "kubernetesVersion": quoted(plan.kubernetes_version),
        "networkCIDR": "172.20.0.0/16",
        "networking": NETWORKING[plan.cni],
        "nonMasqueradeCIDR": non_masquerade_cidr(plan.pod_cidr, plan.service_cidr),
        "podCIDR": plan.pod_cidr,
        "serviceClusterIPRange": plan.service_cidr,
        "sshAccess": ["0.0.0.0/0"],
        "subnets": [{"cidr": "172.20.32.0/19", "name": f"{FILL}-zone", "type": "Public", "zone": f"{FILL}-zone"}],
        "sysctlParameters": sysctls,
        "topology": {"dns": {"type": "None"}},
    }
    spec.update(network_spec(plan))
    return {"apiVersion": API_VERSION, "kind": "Cluster", "metadata": {"name": fqdn}, "spec": spec}


def network_spec(plan: ClusterPlan) -> dict:
    """spec.egressProxy, spec.containerd.registryMirrors and spec.assets.containerProxy from the plan."""
    out: dict = {}
    if plan.image_repository:
        out["assets"] = {"containerProxy": plan.image_repository}
    if plan.registry_mirrors:
        out["containerd"] = {"registryMirrors": {r: list(m) for r, m in sorted(plan.registry_mirrors.items())}}
    proxy = plan.proxy
    if proxy is not None and proxy.enabled:
        url = urlsplit(proxy.https or proxy.http or "")
        egress: dict = {"httpProxy": {"host": url.hostname, "port": url.port or (443 if url.scheme == "https" else 80)}}
        if proxy.no_proxy:
            egress["excludes"] = ",".join(proxy.no_proxy)
        out["egressProxy"] = egress
    return out


def network_notes(plan: ClusterPlan) -> list[str]:
    notes = []
    proxy = plan.proxy
    if proxy is not None and proxy.http and proxy.https and proxy.http != proxy.https:
        notes.append(f"# egressProxy: kops takes one proxy for http and https; {proxy.https} is used, {proxy.http} is not")
    if proxy is not None and proxy.enabled:
        notes.append("# egressProxy.excludes: the plan's no_proxy; kops adds localhost, its own networks and API names itself")
    if plan.image_repository:
        notes.append(f"# assets.containerProxy: images are pulled through {plan.image_repository} (the plan's image_repository)")
    if plan.package_repository:
        notes.append(f"# package_repository {plan.package_repository}: kops has no equivalent (it downloads binaries, "
                     "assets.fileRepository wants dl.k8s.io's layout)")
    return notes


def instance_group_docs(plan: ClusterPlan) -> list[dict]:
    fqdn = cluster_fqdn(plan)
    cps = [h for h in plan.hosts if h.is_control_plane] or [None]
    workers = [h for h in plan.hosts if h.is_worker and not h.is_control_plane]
    docs = []
    for i, _ in enumerate(cps, 1):
        docs.append({
            "apiVersion": API_VERSION,
            "kind": "InstanceGroup",
            "metadata": {"labels": {"kops.k8s.io/cluster": fqdn}, "name": f"control-plane-{i}"},
            "spec": {"machineType": f"{FILL}-machine-type", "maxSize": 1, "minSize": 1,
                     "role": "ControlPlane", "subnets": [f"{FILL}-zone"]},
        })
    n = max(len(workers), 1)
    docs.append({
        "apiVersion": API_VERSION,
        "kind": "InstanceGroup",
        "metadata": {"labels": {"kops.k8s.io/cluster": fqdn}, "name": "nodes"},
        "spec": {"machineType": f"{FILL}-machine-type", "maxSize": n, "minSize": n, "role": "Node",
                 "subnets": [f"{FILL}-zone"]},
    })
    return docs


def render_commands(plan: ClusterPlan) -> str:
    fqdn = cluster_fqdn(plan)
    lines = [
        "#!/bin/sh",
        f"# kops commands for cluster {plan.name} ({fqdn}), written by k8s-tui from its plan.",
        "# kops is cloud-bound: it creates the machines itself. Fill in first:",
        *[f"#   {f}: {field}: {hint}" for f, field, hint in TO_FILL],
        "# Then run this script; `kops update cluster` without --yes only previews.",
        "set -eu",
        'cd "$(dirname "$0")"',
        ': "${KOPS_STATE_STORE:?export KOPS_STATE_STORE=s3://your-state-bucket first}"',
        f"if grep -nE '(:|-) {FILL}-' cluster.yaml instancegroups.yaml; then",
        f'  echo "fill in the {FILL} fields listed above first" >&2',
        "  exit 1",
        "fi",
        *[" ".join(a) for a in command_argvs(plan)],
    ]
    return "\n".join(lines) + "\n"


def command_argvs(plan: ClusterPlan, ssh_public_key: str = '"${SSH_PUBLIC_KEY:-$HOME/.ssh/id_rsa.pub}"') -> list[list[str]]:
    fqdn = cluster_fqdn(plan)
    return [
        ["kops", "create", "-f", "cluster.yaml"],
        ["kops", "create", "-f", "instancegroups.yaml"],
        ["kops", "create", "sshpublickey", "--name", fqdn, "-i", ssh_public_key],
        ["kops", "update", "cluster", "--name", fqdn],
        ["kops", "update", "cluster", "--name", fqdn, "--yes", "--admin"],
        ["kops", "validate", "cluster", "--name", fqdn, "--wait", "10m"],
    ]


def render(plan: ClusterPlan) -> Rendered:
    out = Rendered(Tool.kops)
    cluster = "\n".join(_header(f"kops Cluster spec for {plan.name}") + network_notes(plan)) + "\n" + dump_yaml(cluster_doc(plan))
    igs_text = "\n".join(_header(f"kops InstanceGroup specs for {plan.name}")) + "\n"
    igs_text += "# sysctlParameters are set on the Cluster spec, which every instance group inherits\n"
    igs_text += "---\n".join(dump_yaml(d) for d in instance_group_docs(plan))
    out.files += [
        RenderedFile("kops/cluster.yaml", cluster),
        RenderedFile("kops/instancegroups.yaml", igs_text),
        RenderedFile("kops/commands.sh", render_commands(plan), 0o755),
    ]
    out.notes.append("kops creates its own machines: the plan's hosts only set the instance counts; fill in every FILL-IN "
                     "(cloud, zones, machine types, state store) before kops/commands.sh")
    if plan.container_runtime.value != "containerd":
        out.notes.append("kops runs containerd; the plan's runtime is not used")
    if plan.cni is Cni.manifest:
        out.notes.append(f"networking cni: kops installs no add-on; apply {plan.cni_manifest} after the cluster is up")
    return out
