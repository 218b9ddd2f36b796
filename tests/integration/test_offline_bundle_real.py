"""An offline bundle installed on real SSH test hosts (tests/testbed) with the real SshExecutor.

The packages are real .deb files built here with dpkg-deb (tiny: one text file each, named and
versioned like pkgs.k8s.io's kubeadm, kubelet, kubectl, cri-tools, kubernetes-cni) and installed
on each host with the real ``dpkg -i`` (the host's /var and /usr are its own). ``ctr`` is a
stand-in (tests/standins/ctr.sh: containerd cannot run in a test host) that reads each tarball's
manifest.json and prints the line real ctr prints; the image tarballs are docker-archive shaped
(manifest.json with RepoTags) without layers. The bundle's manifest is written by ``k8s-tui bundle
init`` and checked by ``k8s-tui bundle check``, both run as commands.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from k8s_tui.engine.events import OutputLine, StepFinished
from k8s_tui.engine.executor import ExecOptions
from k8s_tui.engine.runner import Runner, RunPlan, Stage
from k8s_tui.engine.ssh import SshExecutor
from k8s_tui.hostprep.facts import FactsStep, FactsStore
from k8s_tui.hostprep.offline import OfflineBundleStep
from k8s_tui.model.bundle import PACKAGES, required_images
from k8s_tui.model.plan import ClusterPlan

pytestmark = pytest.mark.testhosts

ROOT = Path(__file__).resolve().parents[2]
VERSION = "1.33.0"
DEB_VERSION = "1.33.0-1.1"


def build_deb(out: Path, name: str) -> Path:
    """A real .deb (dpkg-deb --build) holding /usr/share/k8s-tui-test/<name>.txt."""
    root = out / f"build-{name}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/share/k8s-tui-test").mkdir(parents=True)
    (root / "usr/share/k8s-tui-test" / f"{name}.txt").write_text(f"{name} {DEB_VERSION} (k8s-tui test package)\n")
    (root / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {DEB_VERSION}\nArchitecture: all\nMaintainer: k8s-tui tests <tests@example.invalid>\n"
        f"Description: k8s-tui test stand-in package for {name}\n")
    deb = out / "debs" / f"{name}_{DEB_VERSION}_all.deb"
    deb.parent.mkdir(exist_ok=True)
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)], check=True, capture_output=True)
    shutil.rmtree(root)
    return deb


def build_image_tar(out: Path, ref: str) -> Path:
    """A docker-archive shaped tarball: manifest.json naming the image, a config, no layers."""
    name = ref.rsplit("/", 1)[-1].replace(":", "_")
    path = out / "images" / f"{name}.tar"
    path.parent.mkdir(exist_ok=True)
    with tarfile.open(path, "w") as tf:
        for member, data in (("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": [ref], "Layers": []}])),
                             ("config.json", json.dumps({"architecture": "amd64", "os": "linux"}))):
            raw = data.encode()
            info = tarfile.TarInfo(member)
            info.size = len(raw)
            tf.addfile(info, BytesIO(raw))
    return path


def k8s_tui(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "k8s_tui", *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    if not shutil.which("dpkg-deb"):
        pytest.skip("dpkg-deb is not installed here")
    out = tmp_path_factory.mktemp("bundle")
    for p in PACKAGES:
        build_deb(out, p)
    for ref in required_images(VERSION):
        build_image_tar(out, ref)
    r = k8s_tui("bundle", "init", str(out), "--version", VERSION)
    assert r.returncode == 0, r.stderr
    r = k8s_tui("bundle", "check", str(out), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["files_checked"] == len(PACKAGES) + 7
    return out


@pytest.fixture
def hosts(testbed):
    hosts = testbed(2, prefix="obd")
    text = (ROOT / "tests/standins/ctr.sh").read_text()
    for h in hosts:
        h.install_standin("ctr", text)
    try:
        yield hosts
    finally:
        testbed.release(hosts)


async def run_bundle_step(hosts, plan):
    ex = SshExecutor(ExecOptions(known_hosts=hosts[0].known_hosts, connect_timeout=8))
    store = FactsStore()
    run_plan = RunPlan([Stage("facts", [FactsStep([], store)]), Stage("bundle", [OfflineBundleStep()])])
    runner = Runner(plan, run_plan, ex, hosts=plan.hosts, journal=False)
    finished, lines = [], []
    runner.bus.subscribe(lambda ev: finished.append(ev) if isinstance(ev, StepFinished) and ev.step_id == "offline-bundle"
                         else lines.append(ev) if isinstance(ev, OutputLine) else None)
    try:
        await runner.run()
    finally:
        await ex.close()
    return finished, lines


async def test_bundle_installed_on_every_host_then_unchanged(hosts, bundle):
    plan = ClusterPlan(
        name="offline", kubernetes_version=VERSION, offline_bundle=str(bundle),
        hosts=[{"name": h.name, "address": h.address, "user": "root", "key_file": h.key_file,
                "roles": ["control-plane"] if i == 0 else ["worker"]} for i, h in enumerate(hosts)])
    finished, lines = await run_bundle_step(hosts, plan)
    assert {(e.host, e.status) for e in finished} == {(h.name, "changed") for h in hosts}, [(e.host, e.status, e.message, e.hint) for e in finished]
    for h in hosts:
        # dpkg really installed them, in the host's own package database
        q = h.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n", *PACKAGES])
        assert q.returncode == 0, q.stderr
        assert sorted(q.stdout.split("\n")[:-1]) == sorted(f"{p} {DEB_VERSION} ii " for p in PACKAGES)
        assert h.path("/usr/share/k8s-tui-test/kubeadm.txt").read_text().startswith("kubeadm 1.33.0-1.1")
        # every tarball went through `ctr -n k8s.io images import`, and ctr lists every image
        log = h.path("/var/lib/k8s-tui-standin/ctr.log").read_text().splitlines()
        assert sum(1 for ln in log if ln.startswith("-n k8s.io images import /var/lib/k8s-tui/bundle/images/")) == 7
        listed = h.path("/var/lib/k8s-tui-standin/ctr-images.k8s.io").read_text().split()
        assert sorted(listed) == sorted(required_images(VERSION))
        out = [ev.text for ev in lines if ev.host == h.name]
        assert any(t.startswith("unpacking registry.k8s.io/pause:3.10 (sha256:") and t.endswith("...done") for t in out)
        assert any(t.startswith("$ sha256sum -c --strict -") for t in out)
    # a second run finds the marker and changes nothing
    finished, _ = await run_bundle_step(hosts, plan)
    assert {(e.host, e.status) for e in finished} == {(h.name, "unchanged") for h in hosts}


async def test_a_damaged_bundle_fails_before_copying(hosts, bundle, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    deb = next((broken / "debs").glob("kubelet_*.deb"))
    deb.write_bytes(deb.read_bytes() + b"\0")
    r = k8s_tui("bundle", "check", str(broken))
    assert r.returncode == 1 and "sha256 is" in r.stdout and "kubelet_" in r.stdout
    plan = ClusterPlan(
        name="offline", kubernetes_version=VERSION, offline_bundle=str(broken),
        hosts=[{"name": h.name, "address": h.address, "user": "root", "key_file": h.key_file,
                "roles": ["control-plane"] if i == 0 else ["worker"]} for i, h in enumerate(hosts)])
    finished, _ = await run_bundle_step(hosts, plan)
    assert {e.status for e in finished} == {"failed"}
    assert all("damaged or replaced" in e.message and "bundle check" in e.hint for e in finished)
    for h in hosts:
        assert not h.path("/var/lib/k8s-tui/bundle").exists()
