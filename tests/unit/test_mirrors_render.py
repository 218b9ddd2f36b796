"""Mirrors, a package repository and a proxy (issue 12): what each tool gets from the plan's
network settings, against golden files (tests/golden/network/<tool>/, from tests/golden/network/plan.yaml);
the host steps on the dry-run executor; the image pre-pull step; bad values refused.

K8S_TUI_UPDATE_GOLDEN=1 rewrites the golden files after a deliberate change; review the diff.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from k8s_tui.backends.kubeadm.dryrun import KubeadmDryRunExecutor
from k8s_tui.backends.kubeadm.images import IMAGES_CONFIG, ImagePullStep, pull_hint
from k8s_tui.backends.kubeadm.path import kubeadm_run_plan
from k8s_tui.backends.render import render, write_rendered
from k8s_tui.engine.dryrun import Transcript
from k8s_tui.hostprep.packages import APT_LIST, APT_PROXY_CONF, PackagesStep
from k8s_tui.hostprep.runtime import (
    CERTS_D,
    CONTAINERD_CONFIG,
    CONTAINERD_DROPIN,
    KUBELET_DROPIN,
    RuntimeStep,
    config_problems,
    patch_config,
    registry_config_path,
)
from k8s_tui.model.plan import ClusterPlan, load_plan

from .hostprep_helpers import executor, run, run_steps

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "network"
PLAN = GOLDEN / "plan.yaml"
TOOLS = ["kubeadm", "kubespray", "kubeasz", "kops"]
UPDATE = os.environ.get("K8S_TUI_UPDATE_GOLDEN") == "1"
PUBLIC = ("registry.k8s.io", "pkgs.k8s.io")


@pytest.fixture(scope="module")
def plan() -> ClusterPlan:
    return load_plan(PLAN)


@pytest.mark.parametrize("tool", TOOLS)
def test_each_tool_golden(plan, tool):
    rendered = render(plan, tool)
    base = GOLDEN / tool
    if UPDATE:
        shutil.rmtree(base, ignore_errors=True)
        write_rendered(rendered, base)
    want = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
    assert sorted(f.path for f in rendered.files) == want
    for f in rendered.files:
        assert f.content == (base / f.path).read_text(), f"{tool}/{f.path} differs from the golden file"


def test_kubeadm_render_has_every_network_file(plan):
    r = render(plan, "kubeadm")
    reg = r.get("etc/containerd/certs.d/registry.k8s.io/hosts.toml").content
    assert 'server = "https://registry.k8s.io"' in reg and '[host."https://k8s.example.cn"]' in reg
    assert 'capabilities = ["pull", "resolve"]' in reg
    hub = r.get("etc/containerd/certs.d/docker.io/hosts.toml").content
    assert 'server = "https://registry-1.docker.io"' in hub  # Docker Hub's API host (containerd docs/hosts.md)
    assert hub.index("hub.example.cn") < hub.index("hub2.example.cn")  # tried in the plan's order
    for unit in ("containerd", "kubelet"):
        d = r.get(f"etc/systemd/system/{unit}.service.d/http-proxy.conf").content
        no_proxy = re.search(r'"NO_PROXY=([^"]+)"', d).group(1).split(",")
        for must in ("localhost", "127.0.0.1", "::1", "10.244.0.0/16", "10.96.0.0/12", "api.corp.example",
                     "10.0.0.11", "cp1", "10.0.0.21", "w1", ".corp", "git.corp.example"):
            assert must in no_proxy, (unit, must)
        assert '"https_proxy=http://proxy.corp.example:3128"' in d and '"HTTP_PROXY=http://proxy.corp.example:3128"' in d
    assert "https://mirror.example.cn/kubernetes-new/core/stable/v1.33/deb/ /" in r.get("etc/apt/sources.list.d/kubernetes.list").content
    assert "imageRepository: registry.example.cn/google_containers" in r.get("kubeadm/cp1-init.yaml").content
    assert "imageRepository: registry.example.cn/google_containers" in r.get("kubeadm/cp1-images.yaml").content
    assert any("pause:3.10" in n and "config_path" in n for n in r.notes)


def test_dropin_escapes_percent_and_keeps_a_password_private():
    from k8s_tui.hostprep.runtime import proxy_dropin, proxy_has_secret

    p = ClusterPlan(**BASE, proxy={"http": "http://user:p%40ss@proxy.corp.example:3128"})
    d = proxy_dropin(p, "containerd")
    assert 'Environment="HTTP_PROXY=http://user:p%%40ss@proxy.corp.example:3128"' in d  # systemd.unit(5) specifiers
    assert proxy_has_secret(p) and not proxy_has_secret(load_plan(PLAN))
    ex = executor()
    assert run_steps(p, [RuntimeStep()], ex).status("cp1", "runtime") == "changed"
    assert [c.mode for c in ex.writes("cp1") if c.path == CONTAINERD_DROPIN] == [0o600]


def test_unset_fields_render_nothing_new():
    p = ClusterPlan(name="plain", kubernetes_version="1.33.2",
                    hosts=[{"name": "cp1", "address": "10.0.0.11", "roles": ["control-plane"]}])
    r = render(p, "kubeadm")
    assert [f.path for f in r.files] == ["etc/sysctl.d/90-k8s-tui.conf", "etc/modules-load.d/k8s-tui.conf", "kubeadm/cp1-init.yaml"]
    assert "imageRepository" not in r.get("kubeadm/cp1-init.yaml").content
    for tool in ("kubespray", "kubeasz", "kops"):
        text = "".join(f.content for f in render(p, tool).files)
        for key in ("kube_image_repo", "containerd_registries_mirrors", "http_proxy", "SANDBOX_IMAGE", "egressProxy",
                    "registryMirrors", "containerProxy"):
            assert key not in text, (tool, key)


def test_tools_say_where_they_have_no_equivalent(plan):
    spray = render(plan, "kubespray").get("inventory/corp/group_vars/all/all.yml").content
    assert "kube_image_repo: registry.example.cn/google_containers" in spray
    assert "prefix: docker.io" in spray and "http_proxy: http://proxy.corp.example:3128" in spray
    assert "package_repository https://mirror.example.cn" in spray and "no equivalent" in spray
    easz = render(plan, "kubeasz").get("clusters/corp/config.yml").content
    assert 'SANDBOX_IMAGE: "registry.example.cn/google_containers/pause:3.10"' in easz
    assert "no per-registry mirror setting" in easz and "no proxy setting" in easz
    kops = render(plan, "kops").get("kops/cluster.yaml").content
    assert "containerProxy: registry.example.cn/google_containers" in kops and "host: proxy.corp.example" in kops
    assert "port: 3128" in kops and "kops has no equivalent" in kops


# ---------------------------------------------------------------------- bad values refused

BASE = {"name": "x", "kubernetes_version": "1.33.2", "hosts": [{"name": "cp1", "address": "10.0.0.11", "roles": ["control-plane"]}]}


@pytest.mark.parametrize("field,value,words", [
    ("package_repository", "ftp://mirror.example.cn/k8s", "http"),
    ("package_repository", "https://mirror.example.cn/k8s stable", "character"),
    ("package_repository", "https://mirror.example.cn/$(reboot)", "character"),
    ("proxy", {"http": "http://proxy .corp:3128"}, "character"),
    ("proxy", {"https": "http://proxy:3128", "no_proxy": ["a b"]}, "no_proxy"),
    ("registry_mirrors", {"dockerio": ["https://hub.example.cn"]}, "registry"),
    ("registry_mirrors", {"docker.io": ["hub.example.cn"]}, "http"),
    ("registry_mirrors", {"docker.io": []}, "at least one"),
    ("image_repository", "https://registry.example.cn/google_containers", "scheme"),
    ("image_repository", "registry.example.cn/Google Containers", "path"),
])
def test_bad_values_refused_naming_the_field(field, value, words):
    with pytest.raises(ValidationError) as e:
        ClusterPlan(**BASE, **{field: value})
    text = str(e.value)
    assert field in text and words in text


@pytest.mark.parametrize("old,new,field", [
    ("http: http://proxy.corp.example:3128", "http: http://proxy corp.example:3128", "proxy"),
    ("package_repository: https://mirror.example.cn", "package_repository: file:///mirror.example.cn", "package_repository"),
    ("  docker.io: [", "  dockerhub: [", "registry_mirrors"),
    ('["https://k8s.example.cn"]', '["https://k8s.example.cn/`id`"]', "registry_mirrors"),
])
@pytest.mark.parametrize("command", ["render", "check"])
def test_render_and_check_refuse_bad_network_values(tmp_path, capsys, old, new, field, command):
    """A bad URL, a proxy with a space, an unknown registry name: refused before anything is written,
    with the file, line and field named."""
    from k8s_tui.cli import main

    bad = tmp_path / "plan.yaml"
    text = PLAN.read_text()
    assert old in text
    bad.write_text(text.replace(old, new, 1))
    out_dir = tmp_path / "out"
    argv = ["render", str(bad), "--tool", "kubeadm", "--out", str(out_dir)] if command == "render" else ["check", str(bad)]
    code = main(argv)
    out = capsys.readouterr()
    said = out.out + out.err
    assert code == 2 and field in said and "plan.yaml" in said, said
    assert not out_dir.exists()


# ---------------------------------------------------------------------- host steps (dry run)

V2 = """version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
"""
V3 = """version = 3
[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = 'registry.k8s.io/pause:3.10'
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = true
"""


def test_config_path_in_the_cri_registry_section_for_1x_and_2x():
    img = "registry.example.cn/google_containers/pause:3.10"
    p2 = patch_config(V2, img, mirrors=True)
    assert registry_config_path(p2) == CERTS_D and config_problems(p2, img, mirrors=True) == []
    assert p2.count("config_path") == 1 and 'sandbox_image = "registry.example.cn/google_containers/pause:3.10"' in p2
    p3 = patch_config(V3, img, mirrors=True)
    assert "[plugins.'io.containerd.cri.v1.images'.registry]" in p3 and registry_config_path(p3) == CERTS_D
    # containerd 2.x's default already lists certs.d among others: left alone
    v3_default = V3 + "[plugins.'io.containerd.cri.v1.images'.registry]\n  config_path = '/etc/containerd/certs.d:/etc/docker/certs.d'\n"
    assert config_problems(v3_default.replace("pause:3.10", "x"), "x", mirrors=True) == []
    # without mirrors nothing about the registry is touched
    assert "config_path = \"\"" in patch_config(V2, img)


def test_runtime_step_writes_mirrors_and_dropins_then_unchanged(plan):
    ex = executor(files={CONTAINERD_CONFIG: V2})
    ev = run_steps(plan, [RuntimeStep()], ex)
    assert ev.status("cp1", "runtime") == "changed", ev.failures()
    files = ex.sim("cp1").files
    assert registry_config_path(files[CONTAINERD_CONFIG].decode()) == CERTS_D
    assert b"registry.example.cn/google_containers/pause:3.10" in files[CONTAINERD_CONFIG]
    assert f"{CERTS_D}/docker.io/hosts.toml" in files and f"{CERTS_D}/registry.k8s.io/hosts.toml" in files
    assert b"NO_PROXY=" in files[CONTAINERD_DROPIN] and files[KUBELET_DROPIN].startswith(b"# written by k8s-tui: the HTTP proxy of cluster corp for kubelet.")
    cmds = ex.commands("cp1", step_id="runtime", phase="apply")
    assert ["systemctl", "daemon-reload"] in cmds and ["systemctl", "restart", "containerd"] in cmds
    assert ["systemctl", "try-restart", "kubelet"] in cmds
    assert cmds.index(["systemctl", "daemon-reload"]) < cmds.index(["systemctl", "restart", "containerd"])
    assert run_steps(plan, [RuntimeStep()], ex, run_id="again").status("cp1", "runtime") == "unchanged"


def test_packages_step_uses_the_repository_and_the_proxy(plan):
    ex = executor()
    ev = run_steps(plan, [PackagesStep()], ex)
    assert ev.status("cp1", "packages") == "changed", ev.failures()
    files = ex.sim("cp1").files
    assert b"https://mirror.example.cn/kubernetes-new/core/stable/v1.33/deb/ /" in files[APT_LIST]
    assert b'Acquire::http::Proxy "http://proxy.corp.example:3128";' in files[APT_PROXY_CONF]
    cmds = ex.commands("cp1", step_id="packages")
    curl = next(c for c in cmds if c[0] == "curl")
    assert curl[-1] == "https://mirror.example.cn/kubernetes-new/core/stable/v1.33/deb/Release.key"
    assert curl[curl.index("--proxy") + 1] == "http://proxy.corp.example:3128"
    # the proxy file is written before the first apt-get update reads the sources
    calls = [c for c in ex.calls if c.host == "cp1" and c.step_id == "packages"]
    first_update = next(i for i, c in enumerate(calls) if c.kind == "run" and "update" in c.argv)
    assert any(c.kind == "write" and c.path == APT_PROXY_CONF for c in calls[:first_update])


def test_rhel_repo_file_has_the_proxy(plan):
    ex = executor("rhel")
    ev = run_steps(plan, [PackagesStep()], ex)
    assert ev.status("cp1", "packages") == "changed", ev.failures()
    repo = ex.sim("cp1").files["/etc/yum.repos.d/kubernetes.repo"].decode()
    assert "baseurl=https://mirror.example.cn/kubernetes-new/core/stable/v1.33/rpm/" in repo
    assert "proxy=http://proxy.corp.example:3128" in repo


def test_dry_run_never_asks_the_public_registry_or_package_repository(plan, tmp_path):
    """The plan with a mirror, a package repository and a proxy, on the whole kubeadm path
    (the dry-run executor `k8s-tui apply --dry-run` uses): no command, no file written to a host
    and no output line names registry.k8s.io or pkgs.k8s.io. Two mentions are not requests and
    are allowed: the directory certs.d/registry.k8s.io (where the mirror for that registry is
    configured) and hosts.toml's ``server``, the upstream containerd falls back to only when every
    mirror fails (and no image comes from registry.k8s.io at all: image_repository points elsewhere)."""
    ex = KubeadmDryRunExecutor()
    ev = run(plan, kubeadm_run_plan(plan, state_base=tmp_path, verify_timeout=5), ex)
    assert not ev.failures(), ev.failures()

    def requests(text: str) -> list[str]:  # comments in the files written are no requests either
        text = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith(("#", "//")))
        text = text.replace(f"{CERTS_D}/registry.k8s.io", "").replace('server = "https://registry.k8s.io"', "")
        return [p for p in PUBLIC if p in text]

    for c in ex.calls:
        if c.kind == "run":
            assert not requests(" ".join(c.argv)), c.argv
        elif c.kind == "write":
            assert not requests((c.content or b"").decode(errors="replace")), (c.host, c.path)
    # the commands as shown in the hosts' logs, and the pull step's output; other output lines
    # replay recorded runs (kubeadm init's, containerd's default config), which are not this plan's
    shown = [e.text for e in ev.lines if e.stream == "cmd" or e.step_id == "pull-images"]
    assert shown and not [t for t in shown if requests(t)]
    pulled = [e.text for e in ev.lines if e.step_id == "pull-images" and "[config/images] Pulled" in e.text]
    assert pulled and all("registry.example.cn/google_containers/" in t for t in pulled)


# ---------------------------------------------------------------------- the image pre-pull step

# a real failure (lima-vm/lima pull request #513, comment of 2022-01-03: kubeadm v1.23.1 pulled five
# images, then could not reach the registry for etcd)
FAILED_PULL = [
    ("stdout", "[config/images] Pulled k8s.gcr.io/kube-apiserver:v1.23.1"),
    ("stdout", "[config/images] Pulled k8s.gcr.io/kube-controller-manager:v1.23.1"),
    ("stdout", "[config/images] Pulled k8s.gcr.io/kube-scheduler:v1.23.1"),
    ("stdout", "[config/images] Pulled k8s.gcr.io/kube-proxy:v1.23.1"),
    ("stdout", "[config/images] Pulled k8s.gcr.io/pause:3.6"),
    ("stderr", 'failed to pull image "k8s.gcr.io/etcd:3.5.1-0": output: time="2022-01-03T17:25:59Z" level=fatal '
               'msg="pulling image: rpc error: code = Unknown desc = failed to pull and unpack image \\"k8s.gcr.io/etcd:3.5.1-0\\": '
               'failed to resolve reference \\"k8s.gcr.io/etcd:3.5.1-0\\": failed to do request: Head '
               '\\"https://k8s.gcr.io/v2/etcd/manifests/3.5.1-0\\": dial tcp 74.125.135.82:443: connect: network is unreachable"'),
    ("stderr", ", error: exit status 1"),
    ("stderr", "To see the stack trace of this error execute with --v=5 or higher"),
]


def test_pull_step_streams_each_image_and_fails_early_with_a_hint(plan):
    ex = KubeadmDryRunExecutor(transcripts=[Transcript(match=r"kubeadm config images pull .*", lines=FAILED_PULL, exit=1)])
    ev = run_steps(plan, [ImagePullStep()], ex)
    fin = ev.finished[("w1", "pull-images")]
    assert fin.status == "failed"
    assert "after 5 of 7 images" in fin.message and "k8s.gcr.io/etcd:3.5.1-0" in fin.message
    assert "from k8s.gcr.io" in fin.hint and "registry_mirrors for k8s.gcr.io" in fin.hint
    assert "proxy.corp.example" in fin.hint and "offline" in fin.hint
    logs = [e.text for e in ev.lines if e.host == "w1" and e.step_id == "pull-images"]
    assert [t for t in logs if t.startswith("pulled ")] == [
        f"pulled {i}/7: k8s.gcr.io/{n}" for i, n in enumerate(
            ["kube-apiserver:v1.23.1", "kube-controller-manager:v1.23.1", "kube-scheduler:v1.23.1", "kube-proxy:v1.23.1", "pause:3.6"], 1)]
    assert IMAGES_CONFIG in ex.sim("w1").files  # every host pulls, workers too


def test_pull_hint_without_network_settings():
    p = ClusterPlan(**BASE)
    h = pull_hint(p, "registry.k8s.io/kube-apiserver:v1.33.2")
    assert "from registry.k8s.io" in h and "image_repository" in h and "set the plan's proxy" in h and "offline" in h


def test_apply_dry_run_command_line_asks_neither(tmp_path, monkeypatch, capsys):
    """`k8s-tui apply --dry-run` on the plan: in the run's per-host logs (every command as sent,
    every output line), no command names registry.k8s.io or pkgs.k8s.io (beyond the mirror's
    certs.d directory) and no URL points at either."""
    from k8s_tui.cli import main

    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path))
    assert main(["apply", str(PLAN), "--dry-run", "--yes"]) == 0, capsys.readouterr()
    logs = list(tmp_path.glob("runs/*/hosts/*.log"))
    assert {p.name for p in logs} == {"cp1.log", "w1.log"}
    url = re.compile(r"https?://[^\s\"']*(?:registry|pkgs)\.k8s\.io")
    for p in logs:
        lines = p.read_text().splitlines()
        commands = [ln for ln in lines if ln.startswith("$ ")]
        assert any("kubeadm config images pull" in c for c in commands) and any("apt-get" in c for c in commands)
        assert not [c for c in commands if any(x in c.replace(f"{CERTS_D}/registry.k8s.io", "") for x in PUBLIC)]
        assert not [ln for ln in lines if url.search(ln)]


@pytest.mark.parametrize("version", ["1.30.4", "1.33.2"])
def test_image_repository_in_kubeadm_configs_is_a_documented_field(version):
    """imageRepository in the init config and the pre-pull config, checked against the documented
    kubeadm fields (v1beta3 and v1beta4) that tests/unit/test_kubeadm_config.py holds."""
    from k8s_tui.backends.kubeadm.config import render_images_config, render_kubeadm_config

    from .test_kubeadm_config import check_documented

    p = ClusterPlan(**{**BASE, "kubernetes_version": version}, image_repository="registry.example.cn/google_containers")
    for text in (render_kubeadm_config(p, p.hosts[0]), render_images_config(p, p.hosts[0])):
        docs = check_documented(text)
        cluster = next(d for d in docs if d["kind"] == "ClusterConfiguration")
        assert cluster["imageRepository"] == "registry.example.cn/google_containers"


def test_pull_step_leaves_an_offline_bundle_alone(tmp_path):
    """With an offline bundle the images were imported from tarballs: no pull (it would ask a registry)."""
    p = ClusterPlan(**BASE)
    if "offline_bundle" not in ClusterPlan.model_fields:
        pytest.skip("the plan has no offline_bundle field here")
    p = p.model_copy(update={"offline_bundle": str(tmp_path)})
    ex = executor()
    ev = run_steps(p, [ImagePullStep()], ex)
    assert ev.status("cp1", "pull-images") == "unchanged"
    assert not [c for c in ex.commands("cp1") if c[:2] == ["kubeadm", "config"]]


def test_containerd_install_goes_through_the_proxy_too(plan):
    """A host without containerd installs it with apt before the packages step runs: the proxy
    file is there before that apt-get update."""
    ex = executor(installed={})
    ev = run_steps(plan, [RuntimeStep()], ex)
    assert ev.status("cp1", "runtime") == "changed", ev.failures()
    calls = [c for c in ex.calls if c.host == "cp1" and c.step_id == "runtime"]
    first_update = next(i for i, c in enumerate(calls) if c.kind == "run" and "update" in c.argv)
    assert any(c.kind == "write" and c.path == APT_PROXY_CONF for c in calls[:first_update])


def test_every_download_of_a_proxied_plan_goes_through_the_proxy(tmp_path, monkeypatch, capsys):
    """The CNI manifest too (raw.githubusercontent.com is as far away as registry.k8s.io): every
    curl the dry run sends for the golden plan carries the plan's proxy."""
    from k8s_tui.cli import main

    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path))
    assert main(["apply", str(PLAN), "--dry-run", "--yes"]) == 0, capsys.readouterr()
    curls = [ln for p in tmp_path.glob("runs/*/hosts/*.log") for ln in p.read_text().splitlines()
             if re.search(r"\$ curl\b", ln) and "https://" in ln]
    assert any("calico.yaml" in ln for ln in curls), curls
    for ln in curls:
        assert "--proxy http://proxy.corp.example:3128" in ln, ln
