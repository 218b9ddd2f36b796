"""The kubeadm --config files: every key written must be a documented field of its type."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from k8s_tui.backends.kubeadm.config import (
    CRI_SOCKETS,
    api_version,
    conntrack_max,
    init_args,
    join_args,
    kubernetes_version,
    render_join_config,
    render_kubeadm_config,
    wants_upload_certs,
)
from k8s_tui.model.plan import ClusterPlan, Runtime

# ---------------------------------------------------------------------------------------------
# Documented field names, copied from the generated API references in kubernetes/website.
# A dict is a struct (field -> type), [x] a list of x, MAP a map with free keys, None a scalar.
# ---------------------------------------------------------------------------------------------
MAP = "map"

# content/en/docs/reference/config-api/kubeadm-config.v1beta4.md
V4_ARG = {"name": None, "value": None}  # `Arg`
V4_ENDPOINT = {"advertiseAddress": None, "bindPort": None}  # `APIEndpoint`
V4_BOOTSTRAP_TOKEN = {"token": None, "description": None, "ttl": None, "expires": None, "usages": [None], "groups": [None]}
V4_NODE_REGISTRATION = {  # `NodeRegistrationOptions`
    "name": None,
    "criSocket": None,
    "taints": [MAP],
    "kubeletExtraArgs": [V4_ARG],
    "ignorePreflightErrors": [None],
    "imagePullPolicy": None,
    "imagePullSerial": None,
}
V4_TIMEOUTS = {  # `Timeouts`
    "controlPlaneComponentHealthCheck": None,
    "kubeletHealthCheck": None,
    "kubernetesAPICall": None,
    "etcdAPICall": None,
    "tlsBootstrap": None,
    "discovery": None,
    "upgradeManifests": None,
}
V4_PATCHES = {"directory": None}
V4_COMPONENT = {"extraArgs": [V4_ARG], "extraVolumes": [MAP], "extraEnvs": [MAP]}  # `ControlPlaneComponent`
V4_INIT = {  # `InitConfiguration`
    "apiVersion": None,
    "kind": None,
    "bootstrapTokens": [V4_BOOTSTRAP_TOKEN],
    "dryRun": None,
    "nodeRegistration": V4_NODE_REGISTRATION,
    "localAPIEndpoint": V4_ENDPOINT,
    "certificateKey": None,
    "skipPhases": [None],
    "patches": V4_PATCHES,
    "timeouts": V4_TIMEOUTS,
}
V4_CLUSTER = {  # `ClusterConfiguration`
    "apiVersion": None,
    "kind": None,
    "etcd": MAP,
    "networking": {"serviceSubnet": None, "podSubnet": None, "dnsDomain": None},  # `Networking`
    "kubernetesVersion": None,
    "controlPlaneEndpoint": None,
    "apiServer": {**V4_COMPONENT, "certSANs": [None]},  # `APIServer`
    "controllerManager": V4_COMPONENT,
    "scheduler": V4_COMPONENT,
    "dns": {"imageRepository": None, "imageTag": None, "disabled": None},  # `DNS`
    "proxy": {"disabled": None},  # `Proxy`
    "certificatesDir": None,
    "imageRepository": None,
    "featureGates": MAP,
    "clusterName": None,
    "encryptionAlgorithm": None,
    "certificateValidityPeriod": None,
    "caCertificateValidityPeriod": None,
}
V4_JOIN = {  # `JoinConfiguration`
    "apiVersion": None,
    "kind": None,
    "dryRun": None,
    "nodeRegistration": V4_NODE_REGISTRATION,
    "caCertPath": None,
    "discovery": {  # `Discovery`
        "bootstrapToken": {  # `BootstrapTokenDiscovery`
            "token": None,
            "apiServerEndpoint": None,
            "caCertHashes": [None],
            "unsafeSkipCAVerification": None,
        },
        "file": {"kubeConfigPath": None},
        "tlsBootstrapToken": None,
    },
    "controlPlane": {"localAPIEndpoint": V4_ENDPOINT, "certificateKey": None},  # `JoinControlPlane`
    "skipPhases": [None],
    "patches": V4_PATCHES,
    "timeouts": V4_TIMEOUTS,
}

# content/en/docs/reference/config-api/kubeadm-config.v1beta3.md
V3_ENDPOINT = V4_ENDPOINT
V3_NODE_REGISTRATION = {
    "name": None,
    "criSocket": None,
    "taints": [MAP],
    "kubeletExtraArgs": MAP,  # map[string]string in v1beta3
    "ignorePreflightErrors": [None],
    "imagePullPolicy": None,
}
V3_COMPONENT = {"extraArgs": MAP, "extraVolumes": [MAP]}
V3_INIT = {
    "apiVersion": None,
    "kind": None,
    "bootstrapTokens": [V4_BOOTSTRAP_TOKEN],
    "nodeRegistration": V3_NODE_REGISTRATION,
    "localAPIEndpoint": V3_ENDPOINT,
    "certificateKey": None,
    "skipPhases": [None],
    "patches": V4_PATCHES,
}
V3_CLUSTER = {
    "apiVersion": None,
    "kind": None,
    "etcd": MAP,
    "networking": {"serviceSubnet": None, "podSubnet": None, "dnsDomain": None},
    "kubernetesVersion": None,
    "controlPlaneEndpoint": None,
    "apiServer": {**V3_COMPONENT, "certSANs": [None], "timeoutForControlPlane": None},
    "controllerManager": V3_COMPONENT,
    "scheduler": V3_COMPONENT,
    "dns": {"imageRepository": None, "imageTag": None},
    "certificatesDir": None,
    "imageRepository": None,
    "featureGates": MAP,
    "clusterName": None,
}
V3_JOIN = {
    "apiVersion": None,
    "kind": None,
    "nodeRegistration": V3_NODE_REGISTRATION,
    "caCertPath": None,
    "discovery": {
        "bootstrapToken": {"token": None, "apiServerEndpoint": None, "caCertHashes": [None], "unsafeSkipCAVerification": None},
        "file": {"kubeConfigPath": None},
        "tlsBootstrapToken": None,
        "timeout": None,
    },
    "controlPlane": {"localAPIEndpoint": V3_ENDPOINT, "certificateKey": None},
    "skipPhases": [None],
    "patches": V4_PATCHES,
}

# content/en/docs/reference/config-api/kube-proxy-config.v1alpha1.md
KUBE_PROXY = {
    "apiVersion": None,
    "kind": None,
    "featureGates": MAP,
    "bindAddress": None,
    "healthzBindAddress": None,
    "metricsBindAddress": None,
    "bindAddressHardFail": None,
    "enableProfiling": None,
    "clusterCIDR": None,
    "hostnameOverride": None,
    "clientConnection": MAP,
    "iptables": MAP,
    "ipvs": MAP,
    "oomScoreAdj": None,
    "mode": None,
    "portRange": None,
    "conntrack": {  # `KubeProxyConntrackConfiguration`
        "maxPerCore": None,
        "min": None,
        "tcpEstablishedTimeout": None,
        "tcpCloseWaitTimeout": None,
    },
    "configSyncPeriod": None,
    "nodePortAddresses": [None],
    "winkernel": MAP,
    "showHiddenMetricsForVersion": None,
    "detectLocalMode": None,
    "detectLocal": MAP,
}

# content/en/docs/reference/config-api/kubelet-config.v1beta1.md (the fields k8s-tui may write)
KUBELET = {
    "apiVersion": None,
    "kind": None,
    "enableServer": None,
    "staticPodPath": None,
    "syncFrequency": None,
    "cgroupsPerQOS": None,
    "cgroupDriver": None,
    "cpuManagerPolicy": None,
    "featureGates": MAP,
    "failSwapOn": None,
    "memorySwap": MAP,
}

SCHEMAS = {
    ("kubeadm.k8s.io/v1beta4", "InitConfiguration"): V4_INIT,
    ("kubeadm.k8s.io/v1beta4", "ClusterConfiguration"): V4_CLUSTER,
    ("kubeadm.k8s.io/v1beta4", "JoinConfiguration"): V4_JOIN,
    ("kubeadm.k8s.io/v1beta3", "InitConfiguration"): V3_INIT,
    ("kubeadm.k8s.io/v1beta3", "ClusterConfiguration"): V3_CLUSTER,
    ("kubeadm.k8s.io/v1beta3", "JoinConfiguration"): V3_JOIN,
    ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration"): KUBE_PROXY,
    ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"): KUBELET,
}


def undocumented(value, schema, path="") -> list[str]:
    """Every key path in ``value`` that the schema does not document."""
    if schema is MAP:
        return []
    if isinstance(schema, list):
        assert isinstance(value, list), f"{path} should be a list"
        return [p for i, v in enumerate(value) for p in undocumented(v, schema[0], f"{path}[{i}]")]
    if schema is None:
        assert not isinstance(value, (dict, list)), f"{path} should be a plain value"
        return []
    assert isinstance(value, dict), f"{path} should be a mapping"
    bad = []
    for k, v in value.items():
        if k not in schema:
            bad.append(f"{path}.{k}".lstrip("."))
        else:
            bad += undocumented(v, schema[k], f"{path}.{k}")
    return bad


def load_docs(text: str) -> list[dict]:
    return [d for d in YAML(typ="safe").load_all(text) if d is not None]


def check_documented(text: str) -> list[dict]:
    docs = load_docs(text)
    for d in docs:
        key = (d["apiVersion"], d["kind"])
        assert key in SCHEMAS, f"unexpected document {key}"
        assert undocumented(d, SCHEMAS[key]) == [], key
    return docs


def plan_for(version="1.33.2", *, tuning=None, preset=None, mode="nftables", runtime="containerd", endpoint=None, cps=1):
    hosts = [{"name": f"cp{i + 1}", "address": f"10.0.0.{11 + i}", "roles": ["control-plane"]} for i in range(cps)]
    hosts.append({"name": "w1", "address": "10.0.0.21", "roles": ["worker"]})
    data = {
        "name": "lab",
        "kubernetes_version": version,
        "kube_proxy_mode": mode,
        "container_runtime": runtime,
        "hosts": hosts,
        "tuning": {"values": tuning or {}},
    }
    if preset:
        data["preset"] = preset
    if endpoint:
        data["control_plane_endpoint"] = endpoint
    return ClusterPlan.model_validate(data)


TOKEN = "abcdef.0123456789abcdef"
KEY = "e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204"
HASH = "sha256:" + "7c2e69131a36ae2a042a339b33381c6d0d43887e2de83720eff5359e26aec866"


@pytest.mark.parametrize("version, api", [("1.31.0", "kubeadm.k8s.io/v1beta4"), ("1.35.1", "kubeadm.k8s.io/v1beta4"), ("1.30.4", "kubeadm.k8s.io/v1beta3"), ("1.28", "kubeadm.k8s.io/v1beta3")])
def test_api_version_by_kubernetes_version(version, api):
    assert api_version(plan_for(version)) == api


@pytest.mark.parametrize("version", ["1.33.2", "1.30.4"])
def test_init_config_fields_are_documented(version):
    plan = plan_for(version, tuning={"net.netfilter.nf_conntrack_max": 1048576}, cps=3, mode="ipvs")
    text = render_kubeadm_config(plan, plan.hosts[0], token=TOKEN, certificate_key=KEY)
    docs = check_documented(text)
    assert [d["kind"] for d in docs] == ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration", "KubeProxyConfiguration"]


@pytest.mark.parametrize("version", ["1.33.2", "1.30.4"])
@pytest.mark.parametrize("host_index", [1, 3])  # a second control plane, a worker
def test_join_config_fields_are_documented(version, host_index):
    plan = plan_for(version, cps=3)
    text = render_join_config(plan, plan.hosts[host_index], api_endpoint="10.0.0.11:6443", token=TOKEN, ca_cert_hash=HASH, certificate_key=KEY if host_index == 1 else None)
    (doc,) = check_documented(text)
    assert doc["kind"] == "JoinConfiguration"


def test_init_v1beta4_values():
    plan = plan_for("1.33.2")
    init, cluster, kubelet, proxy = load_docs(render_kubeadm_config(plan, plan.hosts[0], token=TOKEN))
    assert init["apiVersion"] == cluster["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert init["bootstrapTokens"] == [{"token": TOKEN, "description": "k8s-tui join token", "ttl": "24h0m0s"}]
    assert init["localAPIEndpoint"] == {"advertiseAddress": "10.0.0.11", "bindPort": 6443}
    assert init["nodeRegistration"] == {
        "name": "cp1",
        "criSocket": "unix:///var/run/containerd/containerd.sock",
        "kubeletExtraArgs": [{"name": "node-ip", "value": "10.0.0.11"}],
    }
    assert init["timeouts"]["controlPlaneComponentHealthCheck"] == "4m0s"
    assert "certificateKey" not in init
    assert cluster["kubernetesVersion"] == "v1.33.2"
    assert cluster["clusterName"] == "lab"
    assert cluster["controlPlaneEndpoint"] == "10.0.0.11:6443"
    assert cluster["networking"] == {"podSubnet": "10.244.0.0/16", "serviceSubnet": "10.96.0.0/12"}
    assert kubelet == {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", "cgroupDriver": "systemd", "failSwapOn": True}
    assert proxy == {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration", "mode": "nftables"}


def test_init_v1beta3_maps_and_timeout():
    plan = plan_for("1.30.4", mode="iptables")
    init, cluster, _, proxy = load_docs(render_kubeadm_config(plan, plan.hosts[0]))
    assert init["apiVersion"] == "kubeadm.k8s.io/v1beta3"
    assert init["nodeRegistration"]["kubeletExtraArgs"] == {"node-ip": "10.0.0.11"}
    assert "timeouts" not in init and "bootstrapTokens" not in init
    assert cluster["apiServer"] == {"timeoutForControlPlane": "4m0s"}
    assert proxy["mode"] == "iptables"


def test_version_without_patch_uses_stable_label():
    assert kubernetes_version(plan_for("1.33")) == "stable-1.33"
    assert kubernetes_version(plan_for("1.33.4")) == "v1.33.4"


def test_cri_socket_per_runtime():
    plan = plan_for(runtime="cri-o")
    init = load_docs(render_kubeadm_config(plan, plan.hosts[0]))[0]
    assert init["nodeRegistration"]["criSocket"] == CRI_SOCKETS[Runtime.crio] == "unix:///var/run/crio/crio.sock"


def test_dns_name_host_gets_no_advertise_address():
    plan = ClusterPlan.model_validate(
        {"name": "lab", "kubernetes_version": "1.33.2", "hosts": [{"name": "cp1", "address": "cp1.example.org", "roles": ["control-plane"]}]}
    )
    init, cluster, _, _ = load_docs(render_kubeadm_config(plan, plan.hosts[0]))
    assert "localAPIEndpoint" not in init
    assert "kubeletExtraArgs" not in init["nodeRegistration"]
    assert cluster["controlPlaneEndpoint"] == "cp1.example.org:6443"


def test_plan_endpoint_wins():
    plan = plan_for(endpoint="k8s-api.example.org:8443", cps=3)
    cluster = load_docs(render_kubeadm_config(plan, plan.hosts[0]))[1]
    assert cluster["controlPlaneEndpoint"] == "k8s-api.example.org:8443"


def test_upload_certs_and_certificate_key():
    ha = plan_for(cps=3)
    assert wants_upload_certs(ha) and not wants_upload_certs(plan_for(cps=1))
    text = render_kubeadm_config(ha, ha.hosts[0], certificate_key=KEY)
    assert load_docs(text)[0]["certificateKey"] == KEY
    assert "# run: kubeadm init --config FILE --upload-certs" in text
    text = render_kubeadm_config(ha, ha.hosts[0], certificate_key=KEY, upload_certs=False)
    assert "certificateKey" not in load_docs(text)[0]
    assert init_args("/etc/kubernetes/k8s-tui/kubeadm.yaml", upload_certs=True) == [
        "kubeadm", "init", "--config", "/etc/kubernetes/k8s-tui/kubeadm.yaml", "--upload-certs"
    ]
    assert join_args("/x.yaml") == ["kubeadm", "join", "--config", "/x.yaml"]


# ---- conntrack: only when the plan tunes nf_conntrack_max


def test_no_conntrack_block_when_not_tuned():
    plan = plan_for(tuning={"net.core.somaxconn": 32768})
    text = render_kubeadm_config(plan, plan.hosts[0])
    assert "conntrack" not in text
    assert conntrack_max(plan) is None


def test_conntrack_block_when_tuned_with_comment():
    plan = plan_for(tuning={"net.netfilter.nf_conntrack_max": 1048576})
    text = render_kubeadm_config(plan, plan.hosts[0])
    proxy = load_docs(text)[3]
    assert proxy["conntrack"] == {"maxPerCore": 0, "min": 1048576}
    comment = text[text.index("# conntrack:") : text.index("\nconntrack:")]
    assert "maxPerCore: 0" in comment and "leave" in comment and "min is then ignored" in comment
    assert "/etc/sysctl.d/90-k8s-tui.conf" in comment


def test_conntrack_from_preset():
    # kubeasz 3.6.5 writes net.netfilter.nf_conntrack_max=1000000
    plan = plan_for(preset="kubeasz-3.6.5", mode="ipvs")
    assert conntrack_max(plan) == 1000000
    assert load_docs(render_kubeadm_config(plan, plan.hosts[0]))[3]["conntrack"] == {"maxPerCore": 0, "min": 1000000}


# ---- join


def test_join_control_plane_block():
    plan = plan_for(cps=3)
    doc = load_docs(render_join_config(plan, plan.hosts[1], api_endpoint="10.0.0.11:6443", token=TOKEN, ca_cert_hash=HASH, certificate_key=KEY))[0]
    assert doc["discovery"] == {"bootstrapToken": {"apiServerEndpoint": "10.0.0.11:6443", "token": TOKEN, "caCertHashes": [HASH]}}
    assert doc["controlPlane"] == {"localAPIEndpoint": {"advertiseAddress": "10.0.0.12", "bindPort": 6443}, "certificateKey": KEY}
    assert doc["nodeRegistration"]["name"] == "cp2"


def test_join_worker_has_no_control_plane_block():
    plan = plan_for("1.30.4", cps=1)
    doc = load_docs(render_join_config(plan, plan.hosts[1], api_endpoint="10.0.0.11:6443", token=TOKEN, ca_cert_hash=HASH))[0]
    assert "controlPlane" not in doc
    assert doc["nodeRegistration"]["kubeletExtraArgs"] == {"node-ip": "10.0.0.21"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"token": "not-a-token"},
        {"ca_cert_hash": "7c2e69131a36"},
        {"certificate_key": "xyz"},
        {"api_endpoint": "http://10.0.0.11:6443"},
    ],
)
def test_join_refuses_bad_values(kwargs):
    plan = plan_for()
    args = {"api_endpoint": "10.0.0.11:6443", "token": TOKEN, "ca_cert_hash": HASH, **kwargs}
    with pytest.raises(ValueError):
        render_join_config(plan, plan.hosts[1], **args)
