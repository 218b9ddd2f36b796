"""kubeadm, kubelet, kubectl from pkgs.k8s.io (deb and rpm), held; offline from a folder."""

from __future__ import annotations

from k8s_tui.engine.dryrun import Transcript
from k8s_tui.hostprep.packages import (
    APT_LIST,
    YUM_REPO,
    PackagesStep,
    apt_source_line,
    parse_dpkg_versions,
    parse_rpm_versions,
    pick_apt_version,
    version_matches,
    yum_repo_text,
)

from .hostprep_helpers import executor, make_plan, run_steps

MADISON = """\
   kubeadm | 1.32.13-1.1 | https://pkgs.k8s.io/core:/stable:/v1.32/deb  Packages
   kubeadm | 1.32.2-1.1 | https://pkgs.k8s.io/core:/stable:/v1.32/deb  Packages
   kubeadm | 1.32.1-1.1 | https://pkgs.k8s.io/core:/stable:/v1.32/deb  Packages
"""


def test_version_rules():
    p = make_plan()  # 1.32.13
    assert version_matches(p, "1.32.13") and not version_matches(p, "1.32.1") and not version_matches(p, None)
    m = make_plan(kubernetes_version="1.32")
    assert version_matches(m, "1.32.1") and not version_matches(m, "1.33.0") and not version_matches(m, "1.320.0")
    assert pick_apt_version(p, MADISON) == "1.32.13-1.1" and pick_apt_version(m, MADISON) == "1.32.13-1.1"
    assert pick_apt_version(make_plan(kubernetes_version="1.32.5"), MADISON) is None
    assert parse_dpkg_versions("kubeadm ii  1.32.13-1.1\nkubelet rc  1.31.0-1.1\n") == {"kubeadm": "1.32.13"}
    assert parse_rpm_versions("kubelet 1.32.13\npackage kubectl is not installed\n") == {"kubelet": "1.32.13"}
    assert apt_source_line(p) == "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] https://pkgs.k8s.io/core:/stable:/v1.32/deb/ /\n"
    assert "exclude=kubelet kubeadm kubectl" in yum_repo_text(p) and "/v1.32/rpm/" in yum_repo_text(p)


def test_debian_install_pins_and_holds_then_unchanged():
    plan = make_plan()
    ex = executor(transcripts=[Transcript(match="apt-cache madison kubeadm", lines=[("stdout", ln) for ln in MADISON.splitlines()])])
    ev = run_steps(plan, [PackagesStep(offline_dir="")], ex)
    assert ev.status("cp1", "packages") == "changed", ev.failures()
    cmds = ex.commands("cp1", step_id="packages", phase="apply")
    install = next(c for c in cmds if "install" in c and "kubeadm=1.32.13-1.1" in c)
    assert "kubelet=1.32.13-1.1" in install and "kubectl=1.32.13-1.1" in install
    assert cmds.index(install) < cmds.index(["apt-mark", "hold", "kubelet", "kubeadm", "kubectl"])
    assert ex.sim("cp1").files[APT_LIST] == apt_source_line(plan).encode()
    assert run_steps(plan, [PackagesStep(offline_dir="")], ex, run_id="again").status("cp1", "packages") == "unchanged"


def test_present_at_the_planned_version_is_left_alone_whatever_installed_it():
    plan = make_plan()
    ex = executor(installed={"containerd": "containerd containerd.io 1.7.27 x", "kubeadm": "v1.32.13",
                             "kubelet": "Kubernetes v1.32.13", "kubectl": "Client Version: v1.32.13"})
    ev = run_steps(plan, [PackagesStep(offline_dir="")], ex)
    assert ev.status("cp1", "packages") == "unchanged"
    assert not [c for c in ex.calls if c.step_id == "packages" and c.phase != "check"]


def test_wrong_version_is_replaced():
    plan = make_plan()
    ex = executor(installed={"kubeadm": "v1.31.4", "kubelet": "Kubernetes v1.31.4", "kubectl": "Client Version: v1.31.4"})
    ev = run_steps(plan, [PackagesStep(offline_dir="")], ex)
    assert ev.status("cp1", "packages") == "changed"
    assert any("1.31.4 installed, the plan wants 1.32.13" in t for t in ev.text("cp1", "packages", "info"))


def test_rhel_repo_file_is_the_hold():
    plan = make_plan()
    ex = executor("rhel")
    ev = run_steps(plan, [PackagesStep(offline_dir="")], ex)
    assert ev.status("cp1", "packages") == "changed", ev.failures()
    assert ex.sim("cp1").files[YUM_REPO] == yum_repo_text(plan).encode()
    assert ["dnf", "install", "-y", "--disableexcludes=kubernetes", "kubelet-1.32.13", "kubeadm-1.32.13", "kubectl-1.32.13"] in ex.commands("cp1")
    assert run_steps(plan, [PackagesStep(offline_dir="")], ex, run_id="again").status("cp1", "packages") == "unchanged"


def test_offline_folder_is_copied_and_installed_from(tmp_path, monkeypatch):
    for n in ("kubeadm_1.32.13-1.1_amd64.deb", "kubelet_1.32.13-1.1_amd64.deb", "kubectl_1.32.13-1.1_amd64.deb", "README.txt"):
        (tmp_path / n).write_bytes(b"!<arch>\n" + n.encode())
    monkeypatch.setenv("K8S_TUI_OFFLINE_PACKAGES", str(tmp_path))
    plan = make_plan()
    ex = executor()
    ev = run_steps(plan, [PackagesStep()], ex)
    writes = [c.path for c in ex.writes("cp1") if c.path.startswith("/var/lib/k8s-tui/packages/")]
    assert sorted(writes) == [f"/var/lib/k8s-tui/packages/{n}" for n in ("kubeadm_1.32.13-1.1_amd64.deb", "kubectl_1.32.13-1.1_amd64.deb", "kubelet_1.32.13-1.1_amd64.deb")]
    inst = next(c for c in ex.commands("cp1", step_id="packages") if "install" in c)
    assert "--no-download" in inst and "/var/lib/k8s-tui/packages/kubeadm_1.32.13-1.1_amd64.deb" in inst
    assert not [c for c in ex.commands("cp1") if c[0] == "curl"]
    assert ev.status("cp1", "packages") == "changed", ev.failures()
    assert ["apt-mark", "hold", "kubelet", "kubeadm", "kubectl"] in ex.commands("cp1", step_id="packages")


def test_offline_folder_without_packages_fails_with_what_to_put_there(tmp_path):
    ev = run_steps(make_plan(), [PackagesStep(offline_dir=str(tmp_path))], executor())
    fin = ev.finished[("cp1", "packages")]
    assert fin.status == "failed" and "no .deb files" in fin.message and "cri-tools" in fin.hint
