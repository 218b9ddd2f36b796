"""The ``kubeadm --config`` files for a plan: one for ``kubeadm init``, one per joining host.

Field names follow the generated API references in kubernetes/website
(content/en/docs/reference/config-api/kubeadm-config.v1beta4.md and .v1beta3.md,
kube-proxy-config.v1alpha1.md, kubelet-config.v1beta1.md); the unit tests hold the documented
names and check every key written here against them.

* ``kubeadm.k8s.io/v1beta4`` for Kubernetes 1.31 and later, ``v1beta3`` before. What changes
  for us: v1beta4 takes ``extraArgs``/``kubeletExtraArgs`` as a list of ``{name, value}`` (v1beta3:
  a map) and has a ``timeouts`` block in Init/JoinConfiguration (v1beta3: ``apiServer.
  timeoutForControlPlane``).
* KubeletConfiguration: ``cgroupDriver: systemd`` (containerd is configured with
  ``SystemdCgroup = true`` to match) and ``failSwapOn``.
* KubeProxyConfiguration: the plan's mode, and a ``conntrack`` block when the plan tunes
  ``net.netfilter.nf_conntrack_max`` (see ``CONNTRACK_COMMENT``).
* ClusterConfiguration ``imageRepository`` when the plan has an ``image_repository`` (kubeadm then
  pulls ``<imageRepository>/kube-apiserver:...``, ``.../coredns:...``, ``.../pause:...``); unset,
  kubeadm's default registry.k8s.io. ``images_documents`` is the config ``kubeadm config images
  pull --config`` reads on every host before init/join (backends/kubeadm/images.py).

Nothing here is a secret by itself; the token and certificate key passed in are written into the
file, which the host step uploads with mode 0600.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ...model.hosts import Host
from ...model.plan import ClusterPlan, Runtime
from ...yamlio import dump_yaml

V1BETA4 = "kubeadm.k8s.io/v1beta4"
V1BETA3 = "kubeadm.k8s.io/v1beta3"
KUBELET_API = "kubelet.config.k8s.io/v1beta1"
KUBE_PROXY_API = "kubeproxy.config.k8s.io/v1alpha1"

CRI_SOCKETS: dict[Runtime, str] = {
    Runtime.containerd: "unix:///var/run/containerd/containerd.sock",
    Runtime.crio: "unix:///var/run/crio/crio.sock",
}

API_PORT = 6443
TOKEN_TTL = "24h0m0s"
HEALTH_TIMEOUT = "4m0s"  # kubeadm's own default, written out so the file says what to expect

TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
CERT_KEY_RE = re.compile(r"^[0-9a-f]{64}$")
CA_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
ENDPOINT_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")

CONNTRACK_COMMENT = """\
# conntrack: kube-proxy sets net.netfilter.nf_conntrack_max itself when it starts. With
# maxPerCore > 0 it computes max(maxPerCore x CPUs, min) (defaults 32768 and 131072) and
# writes that to the sysctl when the node's value is lower, so it would override the
# value this plan tunes. maxPerCore: 0 tells kube-proxy to leave nf_conntrack_max as the
# node has it ("0 to leave the limit as-is and ignore min", kube-proxy-config.v1alpha1;
# getConntrackMax in kubernetes cmd/kube-proxy/app/server_linux.go). min is then ignored;
# it is written only to record the plan's value, which k8s-tui's sysctl step sets in
# /etc/sysctl.d/{sysctl_file}."""


def api_version(plan: ClusterPlan) -> str:
    """kubeadm's config API for the plan's Kubernetes version (v1beta4 arrived in 1.31)."""
    return V1BETA4 if plan.k8s_minor >= 31 else V1BETA3


def kubernetes_version(plan: ClusterPlan) -> str:
    """``v1.33.2`` for a full version; ``stable-1.33`` (kubeadm looks up the newest patch) for ``1.33``."""
    v = plan.kubernetes_version
    return f"v{v}" if v.count(".") == 2 else f"stable-1.{plan.k8s_minor}"


def is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
        return True
    except ValueError:
        return False


def _host_port(address: str, port: int) -> str:
    if is_ip(address) and ipaddress.ip_address(address).version == 6:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def control_plane_endpoint(plan: ClusterPlan) -> str | None:
    """The plan's endpoint, else the first control plane's address and the API port."""
    if plan.control_plane_endpoint:
        return plan.control_plane_endpoint
    first = plan.first_control_plane()
    return _host_port(first.address, API_PORT) if first else None


def wants_upload_certs(plan: ClusterPlan) -> bool:
    """More than one control plane: the first one uploads its certificates for the others."""
    return len(plan.inventory.control_planes()) > 1


def tuned_sysctls(plan: ClusterPlan) -> dict[str, Any]:
    """The sysctl values the plan gives a host: its preset (for its kube-proxy mode) with its own values on top."""
    if plan.preset:
        from ...model.presets import get_preset
        from ...yamlio import InputError

        try:
            base = get_preset(plan.preset).resolve(plan.kube_proxy_mode.value)
        except (InputError, KeyError, ValueError):
            return dict(plan.tuning.values)
        return dict(base.merged(plan.tuning).values)
    return dict(plan.tuning.values)


def conntrack_max(plan: ClusterPlan) -> int | None:
    value = tuned_sysctls(plan).get("net.netfilter.nf_conntrack_max")
    return int(value) if isinstance(value, int) else None


def _check(value: str | None, regex: re.Pattern, what: str) -> None:
    if value is not None and not regex.match(value):
        raise ValueError(f"{what} {value!r} does not look right")


def _extra_args(plan: ClusterPlan, args: dict[str, str]) -> Any:
    if api_version(plan) == V1BETA4:
        return [{"name": k, "value": v} for k, v in args.items()]
    return dict(args)


def _node_registration(plan: ClusterPlan, host: Host) -> dict[str, Any]:
    reg: dict[str, Any] = {"name": host.name, "criSocket": CRI_SOCKETS[plan.container_runtime]}
    if is_ip(host.address):
        # the address we reach the host on is the one it should announce (hosts often have several)
        reg["kubeletExtraArgs"] = _extra_args(plan, {"node-ip": host.address})
    return reg


def _doc(api: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, **body}


def _dump(doc: dict[str, Any]) -> str:
    return dump_yaml(doc)


def init_documents(
    plan: ClusterPlan,
    host: Host,
    *,
    token: str | None = None,
    certificate_key: str | None = None,
    upload_certs: bool | None = None,
    fail_swap_on: bool = True,
) -> list[dict[str, Any]]:
    """The four documents of the init config, as plain data."""
    _check(token, TOKEN_RE, "bootstrap token")
    _check(certificate_key, CERT_KEY_RE, "certificate key")
    if upload_certs is None:
        upload_certs = wants_upload_certs(plan)
    api = api_version(plan)

    init: dict[str, Any] = {}
    if token:
        init["bootstrapTokens"] = [{"token": token, "description": "k8s-tui join token", "ttl": TOKEN_TTL}]
    if is_ip(host.address):
        init["localAPIEndpoint"] = {"advertiseAddress": host.address, "bindPort": API_PORT}
    init["nodeRegistration"] = _node_registration(plan, host)
    if certificate_key and upload_certs:
        init["certificateKey"] = certificate_key
    if api == V1BETA4:
        init["timeouts"] = {"controlPlaneComponentHealthCheck": HEALTH_TIMEOUT, "kubeletHealthCheck": HEALTH_TIMEOUT}

    cluster: dict[str, Any] = {
        "clusterName": plan.name,
        "kubernetesVersion": kubernetes_version(plan),
    }
    endpoint = control_plane_endpoint(plan)
    if endpoint:
        cluster["controlPlaneEndpoint"] = endpoint
    cluster["networking"] = {"podSubnet": plan.pod_cidr, "serviceSubnet": plan.service_cidr}
    if plan.image_repository:
        cluster["imageRepository"] = plan.image_repository
    if api == V1BETA3:
        cluster["apiServer"] = {"timeoutForControlPlane": HEALTH_TIMEOUT}

    kubelet = {"cgroupDriver": "systemd", "failSwapOn": fail_swap_on}

    proxy: dict[str, Any] = {"mode": plan.kube_proxy_mode.value}
    ct = conntrack_max(plan)
    if ct is not None:
        proxy["conntrack"] = {"maxPerCore": 0, "min": ct}

    return [
        _doc(api, "InitConfiguration", init),
        _doc(api, "ClusterConfiguration", cluster),
        _doc(KUBELET_API, "KubeletConfiguration", kubelet),
        _doc(KUBE_PROXY_API, "KubeProxyConfiguration", proxy),
    ]


def render_kubeadm_config(
    plan: ClusterPlan,
    host: Host,
    *,
    token: str | None = None,
    certificate_key: str | None = None,
    upload_certs: bool | None = None,
    fail_swap_on: bool = True,
) -> str:
    """Multi-document YAML for ``kubeadm init --config`` on ``host`` (the first control plane)."""
    docs = init_documents(
        plan, host, token=token, certificate_key=certificate_key, upload_certs=upload_certs, fail_swap_on=fail_swap_on
    )
    if upload_certs is None:
        upload_certs = wants_upload_certs(plan)
    api = docs[0]["apiVersion"]
    head = [
        f"# kubeadm init configuration for {host.name}, written by k8s-tui from plan '{plan.name}'",
        f"# {api}, Kubernetes {kubernetes_version(plan)}, container runtime {plan.container_runtime.value}",
        f"# run: {' '.join(init_args('FILE', upload_certs=upload_certs))}",
    ]
    if not token:
        head.append("# no bootstrap token given: kubeadm makes one (valid 24 h) and prints it")
    parts = []
    for doc in docs:
        text = _dump(doc)
        if doc["kind"] == "KubeProxyConfiguration" and "conntrack" in doc:
            comment = CONNTRACK_COMMENT.format(sysctl_file=plan.sysctl_file)
            text = text.replace("conntrack:\n", comment + "\nconntrack:\n", 1)
        parts.append(text)
    return "\n".join(head) + "\n" + "---\n".join(parts)


def join_document(
    plan: ClusterPlan,
    host: Host,
    *,
    api_endpoint: str,
    token: str,
    ca_cert_hash: str,
    certificate_key: str | None = None,
) -> dict[str, Any]:
    if not ENDPOINT_RE.match(api_endpoint or ""):
        raise ValueError(f"API endpoint {api_endpoint!r} is not host:port")
    _check(token, TOKEN_RE, "bootstrap token")
    _check(ca_cert_hash, CA_HASH_RE, "CA certificate hash")
    _check(certificate_key, CERT_KEY_RE, "certificate key")
    api = api_version(plan)
    body: dict[str, Any] = {
        "discovery": {
            "bootstrapToken": {"apiServerEndpoint": api_endpoint, "token": token, "caCertHashes": [ca_cert_hash]}
        },
        "nodeRegistration": _node_registration(plan, host),
    }
    if host.is_control_plane:
        cp: dict[str, Any] = {}
        if is_ip(host.address):
            cp["localAPIEndpoint"] = {"advertiseAddress": host.address, "bindPort": API_PORT}
        else:
            cp["localAPIEndpoint"] = {"bindPort": API_PORT}
        if certificate_key:
            cp["certificateKey"] = certificate_key
        body["controlPlane"] = cp
    if api == V1BETA4:
        body["timeouts"] = {"controlPlaneComponentHealthCheck": HEALTH_TIMEOUT, "kubeletHealthCheck": HEALTH_TIMEOUT}
    return _doc(api, "JoinConfiguration", body)


def render_join_config(
    plan: ClusterPlan,
    host: Host,
    *,
    api_endpoint: str,
    token: str,
    ca_cert_hash: str,
    certificate_key: str | None = None,
) -> str:
    """YAML for ``kubeadm join --config`` on ``host``; a control plane gets the ``controlPlane`` block."""
    doc = join_document(
        plan, host, api_endpoint=api_endpoint, token=token, ca_cert_hash=ca_cert_hash, certificate_key=certificate_key
    )
    role = "control plane" if host.is_control_plane else "worker"
    head = [
        f"# kubeadm join configuration for {host.name} ({role}), written by k8s-tui from plan '{plan.name}'",
        f"# run: {' '.join(join_args('FILE'))}",
    ]
    if host.is_control_plane and not certificate_key:
        head.append(
            "# no certificate key: the control-plane certificates must already be on this host "
            "(or run `kubeadm init phase upload-certs --upload-certs` on a control plane for a key)"
        )
    return "\n".join(head) + "\n" + _dump(doc)


def images_documents(plan: ClusterPlan, host: Host) -> list[dict[str, Any]]:
    """What ``kubeadm config images pull --config`` needs on ``host``: the CRI socket
    (InitConfiguration.nodeRegistration) and the version and image repository (ClusterConfiguration)."""
    api = api_version(plan)
    cluster: dict[str, Any] = {"clusterName": plan.name, "kubernetesVersion": kubernetes_version(plan)}
    if plan.image_repository:
        cluster["imageRepository"] = plan.image_repository
    return [
        _doc(api, "InitConfiguration", {"nodeRegistration": {"name": host.name, "criSocket": CRI_SOCKETS[plan.container_runtime]}}),
        _doc(api, "ClusterConfiguration", cluster),
    ]


def render_images_config(plan: ClusterPlan, host: Host) -> str:
    """YAML for ``kubeadm config images pull --config FILE`` on ``host``."""
    repo = plan.image_repository or "registry.k8s.io (kubeadm's default)"
    head = [
        f"# the images kubeadm needs on {host.name}, written by k8s-tui from plan '{plan.name}': pulled before",
        f"# kubeadm init/join, so an unreachable registry fails early. Images from {repo}.",
        f"# run: {' '.join(images_pull_args('FILE'))}",
    ]
    return "\n".join(head) + "\n" + "---\n".join(_dump(d) for d in images_documents(plan, host))


def images_pull_args(config_path: str) -> list[str]:
    return ["kubeadm", "config", "images", "pull", "--config", config_path]


def init_args(config_path: str, *, upload_certs: bool = False) -> list[str]:
    """The ``kubeadm init`` command line for a config file written by ``render_kubeadm_config``."""
    args = ["kubeadm", "init", "--config", config_path]
    if upload_certs:
        args.append("--upload-certs")
    return args


def join_args(config_path: str) -> list[str]:
    return ["kubeadm", "join", "--config", config_path]
