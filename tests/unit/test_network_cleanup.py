"""Follow-ups of issue 12 on the dry-run executor (the real SSH hosts: tests/integration/
test_network_cleanup_real.py):

* files k8s-tui wrote for mirrors and the proxy are removed when the plan drops them, only when
  their first line says k8s-tui wrote them (a user's own file stays), with daemon-reload and the
  restarts a changed drop-in gets;
* the apt proxy file and kubernetes.repo follow the plan even when the packages are in place;
* RHEL: the proxy reaches the two dnf installs on their command line, nothing is written to dnf.conf;
* ``network_check``: the reachability stage after facts, warn-only by default, strict on request.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from k8s_tui.backends.kubeadm.dryrun import KubeadmDryRunExecutor
from k8s_tui.backends.kubeadm.path import kubeadm_run_plan
from k8s_tui.engine.dryrun import Transcript
from k8s_tui.hostprep.packages import APT_PROXY_CONF, YUM_REPO, PackagesStep, dnf_argv, written_by_k8s_tui
from k8s_tui.hostprep.runtime import CERTS_D, CONTAINERD_CONFIG, CONTAINERD_DROPIN, KUBELET_DROPIN, RuntimeStep
from k8s_tui.model.plan import ClusterPlan, load_plan_text

from .hostprep_helpers import executor, run, run_steps

HOSTS = [{"name": "cp1", "address": "10.0.0.11", "roles": ["control-plane"]}]
PROXY = {"http": "http://proxy.corp.example:3128", "https": "http://proxy.corp.example:3128", "no_proxy": [".corp"]}
MIRRORS = {"registry.k8s.io": ["https://k8s.example.cn"], "docker.io": ["https://hub.example.cn"]}
V2 = """version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
"""
HUB = f"{CERTS_D}/docker.io/hosts.toml"
K8S = f"{CERTS_D}/registry.k8s.io/hosts.toml"
QUAY = f"{CERTS_D}/quay.io/hosts.toml"
USERS_HOSTS_TOML = b'# my own mirror for quay.io\nserver = "https://quay.io"\n\n[host."https://quay.example.org"]\n'
USERS_DROPIN = b"[Service]\nEnvironment=HTTPS_PROXY=http://my-own-proxy:8080\n"


def plan(**kw) -> ClusterPlan:
    return ClusterPlan(name="corp", kubernetes_version="1.33.2", hosts=HOSTS, **kw)


def test_the_mark_is_the_first_line_comment():
    assert written_by_k8s_tui(b"# written by k8s-tui for cluster x: the mirrors of docker.io\nserver = 1\n")
    assert written_by_k8s_tui("// written by k8s-tui: the HTTP proxy of cluster x\n")
    assert not written_by_k8s_tui(b"[Service]\n# written by k8s-tui\n")  # not the first line
    assert not written_by_k8s_tui(b"# my notes: not written by k8s-tui\n")
    assert not written_by_k8s_tui(b"") and not written_by_k8s_tui(None)


# ---------------------------------------------------------------------- the runtime step


def test_dropped_mirror_and_proxy_are_removed_then_unchanged():
    ex = executor(files={CONTAINERD_CONFIG: V2})
    full = plan(registry_mirrors=MIRRORS, proxy=PROXY)
    assert run_steps(full, [RuntimeStep()], ex).status("cp1", "runtime") == "changed"
    files = ex.sim("cp1").files
    assert {HUB, K8S, CONTAINERD_DROPIN, KUBELET_DROPIN} <= set(files)
    hub_before = files[HUB]

    # the plan keeps the registry.k8s.io mirror and drops docker.io's and the proxy
    less = plan(registry_mirrors={"registry.k8s.io": ["https://k8s.example.cn"]})
    n = len(ex.calls)
    ev = run_steps(less, [RuntimeStep()], ex, run_id="less")
    fin = ev.finished[("cp1", "runtime")]
    assert fin.status == "changed", ev.failures()
    for p in (HUB, CONTAINERD_DROPIN, KUBELET_DROPIN):
        assert p not in files and p in fin.message, p
    assert K8S in files  # still wanted
    assert files["/var/lib/k8s-tui/backup/less/removed/etc_containerd_certs.d_docker.io_hosts.toml"] == hub_before
    cmds = [c.argv for c in ex.calls[n:] if c.kind == "run" and c.phase == "apply"]
    assert ["rm", "-f", "--", HUB] in cmds and ["rm", "-f", "--", CONTAINERD_DROPIN] in cmds
    assert ["rmdir", "--ignore-fail-on-non-empty", "--", f"{CERTS_D}/docker.io"] in cmds
    i = cmds.index(["systemctl", "daemon-reload"])
    assert i > cmds.index(["rm", "-f", "--", KUBELET_DROPIN])
    assert cmds.index(["systemctl", "restart", "containerd"]) > i and ["systemctl", "try-restart", "kubelet"] in cmds
    log = ev.text("cp1", "runtime")
    assert any("was written by k8s-tui and the plan no longer asks for it" in t for t in log)

    assert run_steps(less, [RuntimeStep()], ex, run_id="again").status("cp1", "runtime") == "unchanged"


def test_a_users_own_files_are_never_removed():
    ex = executor(files={CONTAINERD_CONFIG: V2, QUAY: USERS_HOSTS_TOML, CONTAINERD_DROPIN: USERS_DROPIN})
    p = plan()  # no mirrors, no proxy: neither file is the plan's
    ev = run_steps(p, [RuntimeStep()], ex)
    assert ev.status("cp1", "runtime") == "unchanged", ev.failures()
    files = ex.sim("cp1").files
    assert files[QUAY] == USERS_HOSTS_TOML and files[CONTAINERD_DROPIN] == USERS_DROPIN
    assert not [c for c in ex.calls if c.kind == "run" and c.argv[0] == "rm"]
    log = "\n".join(ev.text("cp1", "runtime"))
    assert f"{QUAY}: the plan does not ask for it, but k8s-tui did not write it" in log
    assert f"{CONTAINERD_DROPIN}: the plan does not ask for it" in log


def test_a_file_replaced_by_the_user_between_check_and_apply_stays():
    """remove_owned reads the file again before it removes it."""
    ex = executor(files={CONTAINERD_CONFIG: V2})
    run_steps(plan(proxy=PROXY), [RuntimeStep()], ex)
    step = RuntimeStep()
    real_apply = step.apply

    async def apply(ctx):
        ex.sim("cp1").files[KUBELET_DROPIN] = USERS_DROPIN  # the user took the file over meanwhile
        return await real_apply(ctx)

    step.apply = apply
    ev = run_steps(plan(), [step], ex, run_id="race")
    assert ev.status("cp1", "runtime") == "changed", ev.failures()
    files = ex.sim("cp1").files
    assert CONTAINERD_DROPIN not in files and files[KUBELET_DROPIN] == USERS_DROPIN
    assert any(f"{KUBELET_DROPIN}: not written by k8s-tui" in t for t in ev.text("cp1", "runtime"))


# ---------------------------------------------------------------------- the packages step


def test_apt_proxy_file_removed_when_the_plan_drops_the_proxy():
    ex = executor()
    assert run_steps(plan(proxy=PROXY), [PackagesStep(offline_dir="")], ex).status("cp1", "packages") == "changed"
    assert APT_PROXY_CONF in ex.sim("cp1").files
    n = len(ex.calls)
    ev = run_steps(plan(), [PackagesStep(offline_dir="")], ex, run_id="noproxy")
    fin = ev.finished[("cp1", "packages")]
    assert fin.status == "changed" and f"removed {APT_PROXY_CONF}" in fin.message, ev.failures()
    assert APT_PROXY_CONF not in ex.sim("cp1").files
    cmds = [c.argv for c in ex.calls[n:] if c.kind == "run"]
    assert not [c for c in cmds if "apt-get" in c]  # the packages were in place: nothing reinstalled
    assert run_steps(plan(), [PackagesStep(offline_dir="")], ex, run_id="again").status("cp1", "packages") == "unchanged"


def test_apt_proxy_file_follows_a_changed_proxy_without_reinstalling():
    ex = executor()
    run_steps(plan(proxy=PROXY), [PackagesStep(offline_dir="")], ex)
    other = {**PROXY, "http": "http://proxy2.corp.example:3128", "https": "http://proxy2.corp.example:3128"}
    ev = run_steps(plan(proxy=other), [PackagesStep(offline_dir="")], ex, run_id="other")
    assert ev.status("cp1", "packages") == "changed", ev.failures()
    assert b"proxy2.corp.example" in ex.sim("cp1").files[APT_PROXY_CONF]


def test_a_users_apt_proxy_file_is_left_alone():
    mine = b'Acquire::http::Proxy "http://mine:3128";\n'
    ex = executor(files={APT_PROXY_CONF: mine})
    run_steps(plan(), [PackagesStep(offline_dir="")], ex)  # installs the packages; no proxy in the plan
    ev = run_steps(plan(), [PackagesStep(offline_dir="")], ex, run_id="again")
    assert ev.status("cp1", "packages") == "unchanged"
    assert ex.sim("cp1").files[APT_PROXY_CONF] == mine


def test_rhel_proxy_on_the_dnf_command_line_and_repo_follows_the_plan():
    ex = executor("rhel")
    ev = run_steps(plan(proxy=PROXY), [RuntimeStep(), PackagesStep(offline_dir="")], ex)
    assert not ev.failures(), ev.failures()
    cmds = [c.argv for c in ex.calls if c.kind == "run" and "install" in c.argv and "dnf" in c.argv]
    np = "no_proxy=localhost,127.0.0.1,::1,.corp"
    assert cmds[0] == ["env", np, "NO_PROXY=localhost,127.0.0.1,::1,.corp", "dnf", "--setopt=proxy=http://proxy.corp.example:3128",
                       "install", "-y", "containerd"]
    assert cmds[1][:5] == ["env", np, "NO_PROXY=localhost,127.0.0.1,::1,.corp", "dnf", "--setopt=proxy=http://proxy.corp.example:3128"]
    assert not [c for c in ex.calls if c.kind == "write" and c.path.startswith("/etc/dnf/")]
    assert b"proxy=http://proxy.corp.example:3128" in ex.sim("cp1").files[YUM_REPO]
    # the plan drops the proxy: kubernetes.repo (k8s-tui's) loses its proxy= line, nothing reinstalled
    n = len(ex.calls)
    ev = run_steps(plan(), [PackagesStep(offline_dir="")], ex, run_id="noproxy")
    assert ev.status("cp1", "packages") == "changed", ev.failures()
    assert b"proxy=" not in ex.sim("cp1").files[YUM_REPO]
    assert not [c for c in ex.calls[n:] if c.kind == "run" and "install" in c.argv]


def test_rhel_a_users_kubernetes_repo_is_not_rewritten():
    mine = b"[kubernetes]\nname=Kubernetes\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.33/rpm/\nproxy=http://mine:3128\n"
    ex = executor("rhel")
    run_steps(plan(), [PackagesStep(offline_dir="")], ex)
    ex.sim("cp1").files[YUM_REPO] = mine
    assert run_steps(plan(), [PackagesStep(offline_dir="")], ex, run_id="again").status("cp1", "packages") == "unchanged"
    assert ex.sim("cp1").files[YUM_REPO] == mine


def test_dnf_argv_without_a_proxy_is_plain():
    assert dnf_argv(plan(), "yum", "install", "-y", "containerd") == ["yum", "install", "-y", "containerd"]
    assert dnf_argv(None, "dnf", "install") == ["dnf", "install"]


# ---------------------------------------------------------------------- network_check


def test_network_check_field():
    assert plan().network_check.value == "warn"
    assert plan(network_check="STRICT").network_check.value == "strict"
    with pytest.raises(ValidationError) as e:
        plan(network_check="sometimes")
    assert "network_check" in str(e.value) and "strict, warn or off" in str(e.value)
    # the default is not written into saved plans (they stay as they were); another value is
    assert "network_check" not in plan().to_yaml()
    text = plan(network_check="off").to_yaml()
    assert "network_check: off" in text and load_plan_text(text).network_check.value == "off"


UNREACHABLE = [  # curl's real messages for a name that does not resolve (exit 6)
    ("stdout", "tool=curl"),
    ("stdout", "r=1 curl 6 000 0 curl: (6) Could not resolve host: pkgs.k8s.io"),
    ("stdout", "r=2 curl 6 000 0 curl: (6) Could not resolve host: registry.k8s.io"),
    ("stdout", "end=1"),
]


def _offline_executor() -> KubeadmDryRunExecutor:
    return executor(transcripts=[Transcript(match=r"(?s)sh -c .* k8s-tui-reach .*", lines=UNREACHABLE, name="no-internet")])


def test_warn_reports_each_endpoint_with_its_hint_and_the_run_goes_on(tmp_path):
    p = plan()
    ex = _offline_executor()
    ev = run(p, kubeadm_run_plan(p, state_base=tmp_path, verify_timeout=5), ex)
    assert not ev.failures(), ev.failures()
    fin = ev.finished[("cp1", "reachability")]
    assert fin.status == "ok" and fin.message.startswith("warning: 2 of 2 endpoints do not answer")
    log = ev.text("cp1", "reachability")
    assert "warning: packages pkgs.k8s.io does not answer (dns): https://pkgs.k8s.io/core:/stable:/v1.33/deb/Release" in log
    assert any(t.startswith("  hint: set package_repository to a mirror") for t in log)
    assert any(t.startswith("  hint: set image_repository or a registry mirror") for t in log)
    assert ev.status("cp1", "verify") in ("changed", "ok")
    # it ran before any change: right after facts, and only facts' commands came before it
    assert [s for h, s in ev.finished if h == "cp1"][:4] == ["facts", "reachability", "preflight", "swap"]
    steps = [c.step_id for c in ex.calls if c.host == "cp1"]
    assert set(steps[:steps.index("reachability")]) == {"facts"}


def test_strict_stops_the_host_at_the_check(tmp_path):
    p = plan(network_check="strict")
    ex = _offline_executor()
    ev = run(p, kubeadm_run_plan(p, state_base=tmp_path, verify_timeout=5), ex)
    fin = ev.finished[("cp1", "reachability")]
    assert fin.status == "failed" and "2 of 2 endpoints do not answer" in fin.message
    assert "package_repository" in fin.hint
    assert not [c for c in ex.calls if c.step_id not in ("facts", "reachability")]  # nothing changed


def test_dry_run_says_no_request_was_sent(tmp_path):
    p = plan()
    ev = run(p, kubeadm_run_plan(p, state_base=tmp_path, verify_timeout=5), executor())
    assert ev.finished[("cp1", "reachability")].message == (
        "all 2 endpoints answer (dry run: no request was sent; the answers and times are made up)")
    assert "note: dry run: no request was sent; the answers and times are made up" in ev.text("cp1", "reachability")


def test_a_rhel_host_tries_the_rpm_repository():
    from k8s_tui.hostprep.reachability import endpoints_for

    p = plan(package_repository="https://mirror.example.cn/kubernetes-new/core/stable")
    assert endpoints_for(p)[0].url == "https://mirror.example.cn/kubernetes-new/core/stable/v1.33/deb/Release"
    assert endpoints_for(p, "rhel")[0].url == "https://mirror.example.cn/kubernetes-new/core/stable/v1.33/rpm/repodata/repomd.xml"
    assert endpoints_for(p, "rhel")[0].name == endpoints_for(p)[0].name  # one row in the table either way
