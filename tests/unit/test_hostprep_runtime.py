"""containerd: installed, SystemdCgroup = true, kubeadm's pause image, running."""

from __future__ import annotations

import pytest

from k8s_tui.engine.dryrun import Transcript
from k8s_tui.hostprep.runtime import CONTAINERD_CONFIG, RuntimeStep, config_problems, patch_config, pause_image

from .hostprep_helpers import executor, make_plan, run_steps

V2 = """version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = false
"""
V3 = """version = 3
[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = 'registry.k8s.io/pause:3.10'
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = false
"""
DOCKER = 'disabled_plugins = ["cri"]\n'


@pytest.mark.parametrize("minor,tag", [(26, "3.9"), (30, "3.9"), (31, "3.10"), (33, "3.10"), (34, "3.10.1"), (40, "3.10.1"), (20, "3.6")])
def test_pause_image_per_minor(minor, tag):
    assert pause_image(minor) == f"registry.k8s.io/pause:{tag}"


def test_config_checks_and_patches():
    img = "registry.k8s.io/pause:3.10"
    assert len(config_problems(None, img)) == 1 and len(config_problems(V2, img)) == 2
    p2 = patch_config(V2, img)
    assert config_problems(p2, img) == [] and 'sandbox_image = "registry.k8s.io/pause:3.10"' in p2 and "SystemdCgroup = true" in p2
    assert p2.replace("true", "false").replace("3.10", "3.6") == V2  # nothing else touched
    p3 = patch_config(V3, img)
    assert config_problems(p3, img) == [] and "sandbox = 'registry.k8s.io/pause:3.10'" in p3
    assert "CRI plugin is disabled" in config_problems(DOCKER, img)[0] and patch_config(DOCKER, img) is None
    assert patch_config("version = 2\n", img) is None


def test_debian_with_containerd_1_6_gets_its_config_then_unchanged():
    plan = make_plan()
    ex = executor()
    ev = run_steps(plan, [RuntimeStep()], ex)
    assert ev.status("cp1", "runtime") == "changed", ev.failures()
    cmds = ex.commands("cp1", step_id="runtime", phase="apply")
    assert ["containerd", "config", "default"] in cmds and ["systemctl", "restart", "containerd"] in cmds
    assert not [c for c in cmds if "install" in c]  # 1.6.20 from Debian 12 is new enough
    text = ex.sim("cp1").files[CONTAINERD_CONFIG].decode()
    assert "SystemdCgroup = true" in text and 'sandbox_image = "registry.k8s.io/pause:3.10"' in text
    assert run_steps(plan, [RuntimeStep()], ex, run_id="again").status("cp1", "runtime") == "unchanged"


def test_rhel_installs_with_dnf_and_explains_where_containerd_comes_from():
    plan = make_plan()
    ex = executor("rhel")
    ev = run_steps(plan, [RuntimeStep()], ex)
    assert ev.status("cp1", "runtime") == "changed", ev.failures()
    assert ["dnf", "install", "-y", "containerd"] in ex.commands("cp1", step_id="runtime")
    nomatch = Transcript(match="dnf install -y containerd", exit=1, lines=[("stderr", "Error: Unable to find a match: containerd")])
    ev = run_steps(plan, [RuntimeStep()], executor("rhel", transcripts=[nomatch, *executor("rhel").transcripts[:1]]))
    fin = ev.finished[("cp1", "runtime")]
    assert fin.status == "failed" and "Unable to find a match" in fin.message and "docker-ce.repo" in fin.hint


def test_existing_config_is_patched_in_place_with_backup():
    plan = make_plan()
    ex = executor(files={CONTAINERD_CONFIG: V2})
    ev = run_steps(plan, [RuntimeStep()], ex)
    assert ev.status("cp1", "runtime") == "changed"
    assert ["containerd", "config", "default"] not in ex.commands("cp1")
    assert ex.sim("cp1").files["/var/lib/k8s-tui/backup/unit-run/config.toml"] == V2.encode()
    assert ex.sim("cp1").files[CONTAINERD_CONFIG].decode() == patch_config(V2, "registry.k8s.io/pause:3.10")
