"""The kubeadm output parser and live progress, on real recorded output (tests/fixtures/kubeadm)."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_tui.backends.kubeadm.hints import RULES, hints_for
from k8s_tui.backends.kubeadm.output import (
    INIT_PHASES,
    JOIN_PHASES,
    KubeadmProgress,
    detect_kind,
    hint_for_line,
    one_line,
    parse_kubeadm_output,
    phase_of_line,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kubeadm"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def report(name: str):
    return parse_kubeadm_output(fixture(name))


ALL_INIT = list(INIT_PHASES)
# v1.18: kubelet-start ran right after preflight, etcd after the control-plane manifests
OLD_ORDER = [
    "preflight",
    "kubelet-start",
    "certs",
    "kubeconfig",
    "control-plane",
    "etcd",
    "wait-control-plane",
    "upload-config",
    "upload-certs",
    "mark-control-plane",
    "bootstrap-token",
    "kubelet-finalize",
    "addons",
    "show-join-command",
]

# name -> (kind, status, version, phases_reached, failed_phase)
EXPECTED = {
    "init-single-v1.32.txt": ("init", "succeeded", "v1.32.13", ALL_INIT, None),
    "init-single-v1.18.txt": ("init", "succeeded", "v1.18.2", OLD_ORDER, None),
    "init-ha-upload-certs-v1.28.txt": ("init", "succeeded", "v1.28.12", ALL_INIT, None),
    "init-ha-upload-certs-v1.32.txt": ("init", "succeeded", "v1.32.7", ALL_INIT, None),
    "join-worker-v1.32.txt": ("join", "succeeded", None, ["preflight", "kubelet-start"], None),
    "join-control-plane-v1.32.txt": (
        "join",
        "succeeded",
        None,
        ["preflight", "control-plane-prepare", "kubelet-start", "control-plane-join"],
        None,
    ),
    "join-control-plane-certs-expired-v1.32.txt": ("join", "failed", None, ["control-plane-prepare"], "control-plane-prepare"),
    "join-failure-connection-refused.txt": ("join", "failed", None, ["preflight"], "preflight"),
    "join-failure-timeout.txt": ("join", "failed", None, ["preflight"], "preflight"),
    "preflight-swap-v1.17.txt": ("init", "failed", "v1.17.2", ["preflight"], "preflight"),
    "preflight-ip-forward-v1.23.txt": ("init", "failed", "v1.23.5", ["preflight"], "preflight"),
    "preflight-cri-v1.25.txt": ("init", "failed", "v1.25.6", ["preflight"], "preflight"),
    "wait-control-plane-timeout-api-check.txt": ("init", "failed", None, ["wait-control-plane"], "wait-control-plane"),
    "wait-control-plane-timeout-v1.19.txt": ("init", "failed", None, ["wait-control-plane"], "wait-control-plane"),
    "wait-control-plane-timeout-crio.txt": ("init", "failed", None, ["wait-control-plane"], "wait-control-plane"),
}


def test_every_fixture_has_an_expectation_and_a_source():
    names = sorted(p.name for p in FIXTURES.glob("*.txt"))
    assert names == sorted(EXPECTED)
    sources = (FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    for name in names:
        assert f"`{name}`" in sources, f"{name} is not listed in SOURCES.md"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_kind_status_phases(name):
    kind, status, version, phases, failed = EXPECTED[name]
    r = report(name)
    assert r.kind == kind
    assert r.status == status
    assert r.succeeded is (status == "succeeded")
    assert r.kubernetes_version == version
    assert r.phases_reached == phases
    assert r.failed_phase == failed


# ---- join commands: exactly one line, as a user would paste it

V132_HASH = "sha256:65c4da3121f57d2e67ea6c1c1349544c9e295d78790b199b5c3be908ffe5ed6c"
V132_KEY = "70614009469f9fc7a97c392253492c509f1884281f59ccd7725b3200e3271794"
V128_HASH = "sha256:9273b274f38a86f1a4244b8f5861846b03df185a5fae65ec7abda7c775159343"
V128_KEY = "c4fa3b3c313a4586481087c051808223240235bd182eac5f7d08022056c2008f"


def test_ha_v132_join_lines_and_expiry():
    r = report("init-ha-upload-certs-v1.32.txt")
    assert r.join_worker == f"kubeadm join k8s-lab.lab.vezpi.me:6443 --token 8etamd.g8whseg60kg09nu1 --discovery-token-ca-cert-hash {V132_HASH}"
    assert r.join_control_plane == (
        f"kubeadm join k8s-lab.lab.vezpi.me:6443 --token 8etamd.g8whseg60kg09nu1 --discovery-token-ca-cert-hash {V132_HASH} "
        f"--control-plane --certificate-key {V132_KEY}"
    )
    assert r.token == "8etamd.g8whseg60kg09nu1"
    assert r.ca_cert_hash == V132_HASH
    assert r.certificate_key == V132_KEY
    assert r.certs_uploaded
    assert r.token_ttl_hours == 24
    assert r.certificate_key_ttl_hours == 2


def test_ha_v128_tab_continuations_joined():
    r = report("init-ha-upload-certs-v1.28.txt")
    assert "\t" in fixture("init-ha-upload-certs-v1.28.txt")
    assert r.join_worker == f"kubeadm join 172.31.42.243:6443 --token zn9nc8.yzjycysxsnu0cxze --discovery-token-ca-cert-hash {V128_HASH}"
    assert r.join_control_plane == (
        f"kubeadm join 172.31.42.243:6443 --token zn9nc8.yzjycysxsnu0cxze --discovery-token-ca-cert-hash {V128_HASH} "
        f"--control-plane --certificate-key {V128_KEY}"
    )
    assert r.certificate_key == V128_KEY
    assert (r.token_ttl_hours, r.certificate_key_ttl_hours) == (24, 2)
    for cmd in (r.join_worker, r.join_control_plane):
        assert "\n" not in cmd and "\t" not in cmd and "\\" not in cmd and "  " not in cmd


def test_single_v132_worker_join_trailing_space_and_no_certs():
    r = report("init-single-v1.32.txt")
    assert r.join_worker == (
        "kubeadm join 10.60.63.1:6443 --token cj1u0k.fucyrjoxei8zw43m --discovery-token-ca-cert-hash "
        "sha256:0b54fa516bad51f8de14b4300b69f020212682576ecc601d357879afe3009143"
    )
    assert r.join_control_plane is None
    assert r.certificate_key is None and not r.certs_uploaded
    assert r.token_ttl_hours == 24
    assert r.certificate_key_ttl_hours is None
    assert r.preflight_warnings == [{"check": "FileExisting-ethtool", "message": "ethtool not found in system path"}]
    assert r.preflight_errors == []
    assert r.error_lines == []


def test_old_v118_four_space_continuation():
    r = report("init-single-v1.18.txt")
    assert r.join_worker == (
        "kubeadm join 192.168.1.210:6443 --token kma6jl.3p5bnlzm4a2na2u8 --discovery-token-ca-cert-hash "
        "sha256:d72014dfc5404668895759c29f732fe59f6283f7d44621be8586b17511893507"
    )
    assert r.token == "kma6jl.3p5bnlzm4a2na2u8"


def test_join_runs_have_no_join_commands_or_expiry():
    for name in ("join-worker-v1.32.txt", "join-control-plane-v1.32.txt", "join-failure-timeout.txt"):
        r = report(name)
        assert r.join_worker is None and r.join_control_plane is None
        assert r.token_ttl_hours is None and r.certificate_key_ttl_hours is None


def test_one_line_joins_continuations():
    assert one_line(["  kubeadm join a:6443 --token t \\", "\t--discovery-token-ca-cert-hash sha256:x \\", "\t--control-plane "]) == (
        "kubeadm join a:6443 --token t --discovery-token-ca-cert-hash sha256:x --control-plane"
    )


def test_token_ttl_from_output():
    text = fixture("init-single-v1.32.txt").replace(
        "[init] Using Kubernetes version", "# kubeadm init --token-ttl 2h30m\n[init] Using Kubernetes version"
    )
    assert parse_kubeadm_output(text).token_ttl_hours == 2.5
    never = fixture("init-single-v1.32.txt").replace(
        "[init] Using Kubernetes version", "root@oss01:~# kubeadm init --token-ttl 0\n[init] Using Kubernetes version"
    )
    r = parse_kubeadm_output(never)
    assert r.token and r.token_ttl_hours is None


# ---- failures


def test_preflight_errors_checks_and_messages():
    r = report("preflight-swap-v1.17.txt")
    assert r.preflight_errors == [{"check": "Swap", "message": "running with swap on is not supported. Please disable swap"}]
    assert r.preflight_warnings[0]["check"] == "IsDockerSystemdCheck"
    assert r.warnings == [
        "Cannot validate kube-proxy config - no validator is available",
        "Cannot validate kubelet config - no validator is available",
    ]
    r = report("preflight-ip-forward-v1.23.txt")
    assert r.preflight_errors == [
        {"check": "FileContent--proc-sys-net-ipv4-ip_forward", "message": "/proc/sys/net/ipv4/ip_forward contents are not set to 1"}
    ]
    assert "error execution phase preflight: [preflight] Some fatal errors occurred:" in r.error_lines


def test_preflight_error_message_spanning_two_lines():
    r = report("preflight-cri-v1.25.txt")
    (err,) = r.preflight_errors
    assert err["check"] == "CRI"
    assert err["message"].startswith("container runtime is not running: output: time=")
    assert err["message"].endswith('unknown service runtime.v1.RuntimeService"\n, error: exit status 1')
    assert r.preflight_warnings[0]["check"] == "Swap"


def test_wait_control_plane_timeouts():
    r = report("wait-control-plane-timeout-api-check.txt")
    assert r.error_lines == [
        "[api-check] The API server is not healthy after 4m0.001642922s",
        "context deadline exceeded",
        "error execution phase wait-control-plane: could not initialize a Kubernetes cluster",
    ]
    assert r.needs_kubelet_journal
    r = report("wait-control-plane-timeout-v1.19.txt")
    assert r.error_lines == [
        "timed out waiting for the condition",
        "error execution phase wait-control-plane: couldn't initialize a Kubernetes cluster",
    ]
    assert r.needs_kubelet_journal


def test_join_failures():
    r = report("join-control-plane-certs-expired-v1.32.txt")
    assert (r.failed_phase, r.failed_subphase) == ("control-plane-prepare", "download-certs")
    r = report("join-failure-connection-refused.txt")
    assert r.error_lines[0].startswith("error execution phase preflight: couldn't validate the identity of the API Server")
    assert not r.needs_kubelet_journal


def test_initial_timeout_line_in_a_successful_old_run_is_not_a_failure():
    # kubeadm 1.17 printed "[kubelet-check] Initial timeout of 40s passed." late in runs that then
    # succeeded (github.com/Leozhanggg/k8s-installer kubeadm-init.log); the line alone is no error
    text = fixture("init-single-v1.18.txt").replace(
        "[bootstrap-token] Using token", "[kubelet-check] Initial timeout of 40s passed.\n[bootstrap-token] Using token"
    )
    r = parse_kubeadm_output(text)
    assert r.status == "succeeded"
    assert r.phases_reached == OLD_ORDER
    assert r.error_lines == []


def test_unfinished_run_is_incomplete():
    text = "[init] Using Kubernetes version: v1.33.2\n[preflight] Running pre-flight checks\n"
    r = parse_kubeadm_output(text)
    assert (r.kind, r.status, r.succeeded, r.failed_phase) == ("init", "incomplete", False, None)
    assert "did not finish" in r.summary()


def test_json_keys():
    j = report("init-ha-upload-certs-v1.32.txt").to_json()
    for key in ("succeeded", "failed_phase", "preflight_errors", "join_worker", "join_control_plane"):
        assert key in j
    for key in ("phases_reached", "preflight_warnings", "error_lines", "token", "ca_cert_hash", "certificate_key"):
        assert key in j
    assert j["token_ttl_hours"] == 24 and j["certificate_key_ttl_hours"] == 2


# ---- live progress


def test_progress_feed_init_in_order():
    p = KubeadmProgress()
    changes = p.feed_text(fixture("init-single-v1.32.txt"))
    assert [c.phase for c in changes] == ALL_INIT
    assert [c.number for c in changes] == list(range(1, 15))
    assert all(c.total == len(INIT_PHASES) for c in changes)
    assert changes[0].previous is None and changes[1].previous == "preflight"
    assert changes[-1].fraction == 1.0
    assert p.kind == "init" and p.status == "succeeded"


def test_progress_check_lines_belong_to_wait_control_plane():
    p = KubeadmProgress(kind="init")
    assert p.feed("[kubelet-start] Starting the kubelet").phase == "kubelet-start"
    c = p.feed("[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s")
    assert c.phase == "wait-control-plane"
    assert p.feed("[api-check] Waiting for a healthy API server. This can take up to 4m0s") is None
    # v1.33+ (kubernetes/minikube issue #21261)
    assert phase_of_line("[control-plane-check] Checking kube-apiserver at https://192.168.105.74:8443/livez") == "wait-control-plane"
    assert p.feed("[addons] Applied essential addon: CoreDNS").phase == "addons"


def test_progress_old_order_and_unknown_prefixes():
    p = KubeadmProgress()
    out = []
    for line in [
        "[init] Using Kubernetes version: v1.18.2",
        "[preflight] Running pre-flight checks",
        "[kubelet-start] Starting the kubelet",
        "[something-new] a prefix this parser has never seen",
        "[certs] Using certificateDir folder \"/etc/kubernetes/pki\"",
        "I0312 01:04:12.448846    8516 waitcontrolplane.go:83] [wait-control-plane] Waiting for the API server to be healthy",
        "[apiclient] All control plane components are healthy after 21.005103 seconds",
        "[kubelet] Creating a ConfigMap \"kubelet-config-1.18\" in namespace kube-system",
    ]:
        c = p.feed(line)
        if c:
            out.append(c.phase)
    assert out == ["preflight", "kubelet-start", "certs", "wait-control-plane", "upload-config"]


def test_progress_join_and_failure():
    p = KubeadmProgress(kind="join")  # the runner knows what it started
    changes = p.feed_text(fixture("join-control-plane-v1.32.txt"))
    assert [c.phase for c in changes] == ["preflight", "control-plane-prepare", "kubelet-start", "control-plane-join"]
    assert all(c.total == len(JOIN_PHASES) for c in changes)
    assert p.status == "succeeded"
    # left to guess, the kind is known from the second line on (join's preflight reads kubeadm-config)
    p = KubeadmProgress()
    changes = p.feed_text(fixture("join-control-plane-v1.32.txt"))
    assert [c.phase for c in changes] == ["preflight", "control-plane-prepare", "kubelet-start", "control-plane-join"]
    assert p.kind == "join" and all(c.kind == "join" for c in changes[1:])
    p = KubeadmProgress()
    p.feed_text(fixture("preflight-ip-forward-v1.23.txt"))
    assert (p.status, p.failed_phase) == ("failed", "preflight")


def test_detect_kind():
    assert detect_kind(fixture("join-worker-v1.32.txt").splitlines()) == "join"
    assert detect_kind(fixture("wait-control-plane-timeout-crio.txt").splitlines()) == "init"
    assert detect_kind(["[preflight] Running pre-flight checks"]) == "unknown"


# ---- hints


def hint_ids(name):
    return [h["id"] for h in report(name).hints]


@pytest.mark.parametrize(
    "name, ids",
    [
        ("preflight-swap-v1.17.txt", ["swap", "cgroup-driver"]),
        ("preflight-ip-forward-v1.23.txt", ["ip-forward"]),
        ("preflight-cri-v1.25.txt", ["cri", "swap"]),
        ("wait-control-plane-timeout-api-check.txt", ["apiserver-unhealthy", "control-plane-timeout"]),
        ("wait-control-plane-timeout-v1.19.txt", ["control-plane-timeout"]),
        ("wait-control-plane-timeout-crio.txt", ["control-plane-timeout"]),
        ("join-control-plane-certs-expired-v1.32.txt", ["certificate-key-expired"]),
        ("join-failure-connection-refused.txt", ["api-unreachable"]),
        ("join-failure-timeout.txt", ["api-unreachable"]),
        ("init-single-v1.32.txt", ["missing-tool", "sandbox-image"]),
        ("init-ha-upload-certs-v1.28.txt", []),
    ],
)
def test_fixture_hints(name, ids):
    assert hint_ids(name) == ids


def test_hint_texts_say_what_to_do():
    by_id = {r.id: r.hint for r in RULES}
    assert "net.ipv4.ip_forward = 1" in by_id["ip-forward"] and "sysctl step" in by_id["ip-forward"]
    assert "swap step" in by_id["swap"]
    assert "kubeadm reset" in by_id["port-in-use"]
    assert "containerd" in by_id["cri"]
    t = by_id["control-plane-timeout"]
    assert "journalctl -xeu kubelet" in t and "SystemdCgroup" in t and "sandbox" in t and "swap" in t
    assert "kubeadm token create --print-join-command" in by_id["token-invalid"]
    assert "kubeadm init phase upload-certs --upload-certs" in by_id["certificate-key-expired"]


def test_port_hint_names_the_port():
    h = hint_for_line("\t[ERROR Port-6443]: Port 6443 is in use")
    assert h.id == "port-in-use" and "6443" in h.hint and "kubeadm reset" in h.hint
    h = hint_for_line("\t[ERROR Port-10250]: Port 10250 is in use")
    assert "10250" in h.hint


@pytest.mark.parametrize(
    "line, rule",
    [
        # kubernetes-sigs/kind issue #2798
        ('could not find a JWS signature in the cluster-info ConfigMap for token ID "abcdef"', "token-invalid"),
        # kubernetes/kubeadm issue #668 (v1.9)
        (
            '[discovery] Failed to connect to API Server "10.0.0.1:6443": there is no JWS signed token in the '
            'cluster-info ConfigMap. This token id "aec65f" is invalid for this cluster, can\'t connect',
            "token-invalid",
        ),
        # format string in cmd/kubeadm/app/util/apiclient/wait.go
        ("[kubelet-check] The kubelet is not healthy after 4m0.000208828s", "control-plane-timeout"),
        ("[control-plane-check] kube-apiserver is not healthy after 4m0.001452919s", "apiserver-unhealthy"),
        ("\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: /etc/kubernetes/manifests/kube-apiserver.yaml already exists", "leftovers"),
        ("\t[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty", "leftovers"),
        ("\t[ERROR SystemVerification]: missing required cgroups: memory", "cgroups-missing"),
        ("\t[ERROR NumCPU]: the number of available CPUs 1 is less than the required 2", "num-cpu"),
        ("\t[WARNING Service-Kubelet]: kubelet service is not enabled, please run 'systemctl enable kubelet.service'", "kubelet-service"),
    ],
)
def test_hint_for_line(line, rule):
    h = hint_for_line(line)
    assert h is not None and h.id == rule


def test_no_hint_for_harmless_lines():
    assert hint_for_line("[certs] Generating \"ca\" certificate and key") is None
    assert hint_for_line("\t[WARNING SystemVerification]: missing optional cgroups: hugetlb") is None


def test_hints_for_report_dedupes_and_orders():
    text = (
        "[init] Using Kubernetes version: v1.30.2\n[preflight] Running pre-flight checks\n"
        "error execution phase preflight: [preflight] Some fatal errors occurred:\n"
        "\t[ERROR Port-6443]: Port 6443 is in use\n\t[ERROR Port-10259]: Port 10259 is in use\n"
        "\t[ERROR FileAvailable--etc-kubernetes-manifests-etcd.yaml]: /etc/kubernetes/manifests/etcd.yaml already exists\n"
        "\t[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty\n"
    )
    r = parse_kubeadm_output(text)
    assert [h.id for h in hints_for(r)] == ["port-in-use", "port-in-use", "leftovers"]
