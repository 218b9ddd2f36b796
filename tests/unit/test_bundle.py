"""Offline bundles without hosts: what a version needs (with its source), the manifest, checksums,
what is missing, `bundle init`, the plan's offline_bundle field, and the CLI's answers. The
install on SSH test hosts is tests/integration/test_offline_bundle_real.py."""

from __future__ import annotations

import hashlib
import json
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from k8s_tui.cli import main
from k8s_tui.engine.planning import plan_steps
from k8s_tui.model.bundle import (
    PACKAGES,
    check_bundle,
    image_table,
    init_manifest,
    known_versions,
    manifest_yaml,
    required_images,
)
from k8s_tui.model.plan import ClusterPlan, load_plan_text
from k8s_tui.yamlio import InputError


def test_every_version_in_the_table_names_its_source():
    for v, entry in image_table().items():
        assert entry["source"] == f"https://github.com/kubernetes/kubernetes/blob/v{v}/cmd/kubeadm/app/constants/constants.go"
        assert entry.get("recorded")
        assert set(entry["images"]) == {"kube", "coredns", "pause", "etcd"}
        assert entry["images"]["kube"] == f"v{v}"


def test_required_images_as_kubeadm_lists_them():
    assert required_images("1.33.0") == [
        "registry.k8s.io/kube-apiserver:v1.33.0", "registry.k8s.io/kube-controller-manager:v1.33.0",
        "registry.k8s.io/kube-scheduler:v1.33.0", "registry.k8s.io/kube-proxy:v1.33.0",
        "registry.k8s.io/coredns/coredns:v1.12.0", "registry.k8s.io/pause:3.10", "registry.k8s.io/etcd:3.5.21-0"]
    # a custom repository: kubeadm drops the coredns/ path
    mirror = required_images("1.34.1", "registry.aliyuncs.com/google_containers")
    assert "registry.aliyuncs.com/google_containers/coredns:v1.12.1" in mirror
    assert "registry.aliyuncs.com/google_containers/pause:3.10.1" in mirror
    assert required_images("1.29.1") is None
    assert known_versions()[0] == "1.34.1"


def write_tar(path: Path, refs: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tf:
        raw = json.dumps([{"Config": "c.json", "RepoTags": refs, "Layers": []}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(raw)
        tf.addfile(info, BytesIO(raw))


def make_bundle(d: Path, version: str = "1.33.0", images: list[str] | None = None) -> Path:
    for p in PACKAGES:
        f = d / "debs" / f"{p}_{version}-1.1_amd64.deb"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(f"not a real deb: {p}".encode())
    for i, ref in enumerate(images if images is not None else required_images(version)):
        write_tar(d / "images" / f"{i}.tar", [ref])
    (d / "manifest.yaml").write_text(manifest_yaml(init_manifest(d, version)))
    return d


def test_init_then_check_is_complete(tmp_path):
    d = make_bundle(tmp_path / "b")
    rep = check_bundle(d)
    assert rep.ok, (rep.problems, rep.missing)
    assert rep.checked == 12
    assert "packages for deb hosts: complete" in rep.notes


def test_damaged_missing_and_unlisted_files(tmp_path):
    d = make_bundle(tmp_path / "b")
    (d / "debs/kubelet_1.33.0-1.1_amd64.deb").write_bytes(b"changed")
    (d / "images/0.tar").unlink()
    (d / "extra.deb").write_bytes(b"x")
    rep = check_bundle(d)
    assert not rep.ok
    assert any(p.startswith("debs/kubelet_1.33.0-1.1_amd64.deb: sha256 is") for p in rep.problems)
    assert "images/0.tar: listed in the manifest but not in the folder" in rep.problems
    assert any(n.startswith("extra.deb: in the folder but not in the manifest") for n in rep.notes)


def test_what_is_missing_for_the_version(tmp_path):
    d = make_bundle(tmp_path / "b", images=["docker.io/library/busybox:1.36", "registry.k8s.io/pause:3.10"])
    (d / "debs/cri-tools_1.33.0-1.1_amd64.deb").unlink()
    (d / "manifest.yaml").write_text(manifest_yaml(init_manifest(d, "1.33.0")))
    rep = check_bundle(d)
    assert "package cri-tools (.deb)" in rep.missing
    assert "image registry.k8s.io/etcd:3.5.21-0" in rep.missing
    assert "image registry.k8s.io/pause:3.10" not in " ".join(rep.missing)
    # images under another repository: the hint says retag or set image_repository
    rep = check_bundle(d, "registry.aliyuncs.com/google_containers")
    assert any("registry.aliyuncs.com/google_containers/pause:3.10 (the bundle has registry.k8s.io/pause:3.10" in m
               for m in rep.missing)


def test_a_version_not_in_the_table_is_said(tmp_path):
    d = make_bundle(tmp_path / "b", version="1.29.1", images=[])
    rep = check_bundle(d)
    assert any("1.29.1 is not in k8s-tui's image table" in n for n in rep.notes)


@pytest.mark.parametrize("entry, msg", [
    ("{path: ../etc/passwd, sha256: %s, kind: package}", "not a plain relative path"),
    ("{path: /etc/passwd, sha256: %s, kind: package}", "not a plain relative path"),
    ("{path: 'a;rm -rf.deb', sha256: %s, kind: package}", "not a plain relative path"),
    ("{path: a.deb, sha256: xyz, kind: package}", "not a sha256"),
    ("{path: a.deb, sha256: %s, kind: package}".replace("%s", "1" * 64), "in quotes"),
    ("{path: a.tar, sha256: %s, kind: image, images: ['$(reboot)']}", "not an image reference"),
])
def test_hostile_manifests(tmp_path, entry, msg):
    d = tmp_path / "b"
    d.mkdir()
    (d / "manifest.yaml").write_text("version: 1.33.0\nfiles:\n  - " + entry.replace("%s", "ab" * 32) + "\n")
    rep = check_bundle(d)
    assert rep.manifest is None and msg in rep.problems[0]


def test_plan_field_offline_bundle(tmp_path):
    d = make_bundle(tmp_path / "b")
    plan = load_plan_text(f"offline_bundle: {d}\nhosts:\n  - {{name: cp, address: 192.0.2.1, roles: [control-plane]}}\n")
    assert plan.offline_bundle == str(d)
    assert "offline-bundle" in [s.id for st in plan_steps(plan).stages for s in st.steps]
    assert "offline-bundle" not in [s.id for st in plan_steps(ClusterPlan(hosts=plan.hosts)).stages for s in st.steps]
    with pytest.raises(InputError, match=r"offline_bundle: .* is not an existing folder"):
        load_plan_text(f"offline_bundle: {tmp_path / 'nope'}\n")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"offline_bundle: .*no manifest"):
        load_plan_text(f"offline_bundle: {tmp_path / 'empty'}\n")


def test_cli_list(capsys):
    assert main(["bundle", "--list", "--version", "1.32.9"]) == 0
    out = capsys.readouterr().out
    assert "registry.k8s.io/etcd:3.5.16-0" in out and "kubernetes-cni" in out and "v1.32.9/cmd/kubeadm" in out
    assert main(["bundle", "--list", "--version", "1.28.0"]) == 1
    assert "not in k8s-tui's image table" in capsys.readouterr().out
    assert main(["bundle", "--list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == "1.33.0" and len(doc["images"]) == 7 and len(doc["packages"]["rpm"]) == 5


@pytest.mark.parametrize("argv, flag", [
    (["bundle", "--list", "--tool", "kubespray"], "--tool"),
    (["bundle", "--list", "--version", "1.33"], "--version"),
    (["bundle", "--list", "--image-repository", "http://x.cn/y"], "--image-repository"),
    (["bundle"], "bundle"),
])
def test_cli_bad_input_names_the_flag(argv, flag, capsys):
    assert main(argv) == 2
    assert flag in capsys.readouterr().err


def test_cli_init_and_check(tmp_path, capsys):
    d = tmp_path / "b"
    make_bundle(d)
    (d / "manifest.yaml").unlink()
    assert main(["bundle", "init", str(d), "--version", "1.33.0"]) == 0
    assert main(["bundle", "init", str(d), "--version", "1.33.0"]) == 2  # exists: --force
    assert main(["bundle", "check", str(d), "--json"]) == 0
    capsys.readouterr()
    f = d / "debs/kubeadm_1.33.0-1.1_amd64.deb"
    f.write_bytes(b"x")
    assert main(["bundle", "check", str(d)]) == 1
    assert f"sha256 is {hashlib.sha256(b'x').hexdigest()}" in capsys.readouterr().out


async def test_dry_run_of_the_bundle_step(tmp_path):
    """The step on the dry-run executor: the files are written, checked, installed and imported,
    and the verification answers from the tarballs copied (a rerun is unchanged)."""
    from k8s_tui.backends.kubeadm.dryrun import KubeadmDryRunExecutor
    from k8s_tui.engine.events import StepFinished
    from k8s_tui.engine.runner import Runner, RunPlan, Stage
    from k8s_tui.hostprep.facts import FactsStep, FactsStore
    from k8s_tui.hostprep.offline import OfflineBundleStep

    d = make_bundle(tmp_path / "b")
    plan = load_plan_text(f"offline_bundle: {d}\nhosts:\n  - {{name: cp, address: 192.0.2.1, roles: [control-plane]}}\n")
    ex = KubeadmDryRunExecutor(speed=0)
    for expect in ("changed", "unchanged"):
        run_plan = RunPlan([Stage("facts", [FactsStep([], FactsStore())]), Stage("bundle", [OfflineBundleStep()])])
        runner = Runner(plan, run_plan, ex, hosts=plan.hosts, journal=False)
        done = []
        runner.bus.subscribe(lambda ev: done.append(ev) if isinstance(ev, StepFinished) and ev.step_id == "offline-bundle" else None)
        await runner.run()
        assert [(e.status, e.message) for e in done][0][0] == expect, [(e.status, e.message, e.hint) for e in done]
    cmds = [" ".join(c) for c in ex.commands("cp", step_id="offline-bundle")]
    assert any(c.startswith("env DEBIAN_FRONTEND=noninteractive dpkg -i /var/lib/k8s-tui/bundle/debs/") for c in cmds)
    assert sum(c.startswith("ctr -n k8s.io images import /var/lib/k8s-tui/bundle/images/") for c in cmds) == 7
    assert any(c.startswith("sha256sum -c --strict -") for c in cmds)
    # the tarballs are copied by name and size: the dry run holds none of their bytes, and its
    # report says "copy SOURCE to PATH" instead of printing binary content
    ups = [c for c in ex.calls if c.kind == "write" and c.source is not None]
    assert len(ups) == 7 + 5 and all(c.content is None for c in ups)  # 7 images, 5 debs (the rerun found the marker)
    assert all(c.size == Path(c.source).stat().st_size for c in ups)
    from io import StringIO
    from rich.console import Console
    from k8s_tui.cli.runs import print_dry_run
    buf = StringIO()
    print_dry_run(Console(file=buf, width=300), ex, ["cp"])
    report = buf.getvalue()
    assert f"copy {d}/images/" in report and "\\x00" not in report and "\x00" not in report


async def test_the_bundle_is_checked_once_for_all_hosts(tmp_path, monkeypatch):
    """Checking a bundle hashes every file (gigabytes): three hosts share one check, done off the
    event loop; a retry after a file changed checks again and fails on the damaged file."""
    from k8s_tui.backends.kubeadm.dryrun import KubeadmDryRunExecutor
    from k8s_tui.engine.events import StepFinished
    from k8s_tui.engine.runner import Runner, RunPlan, Stage
    from k8s_tui.hostprep import offline
    from k8s_tui.hostprep.facts import FactsStep, FactsStore

    d = make_bundle(tmp_path / "b")
    plan = load_plan_text(f"offline_bundle: {d}\nhosts:\n"
                          "  - {name: cp, address: 192.0.2.1, roles: [control-plane]}\n"
                          "  - {name: w1, address: 192.0.2.2, roles: [worker]}\n"
                          "  - {name: w2, address: 192.0.2.3, roles: [worker]}\n")
    checks: list[str] = []
    real = offline.check_bundle
    monkeypatch.setattr(offline, "check_bundle", lambda folder, repo=None: checks.append(str(folder)) or real(folder, repo))
    step = offline.OfflineBundleStep()

    async def run(ex) -> dict[str, str]:
        runner = Runner(plan, RunPlan([Stage("facts", [FactsStep([], FactsStore())]), Stage("bundle", [step])]), ex,
                        hosts=plan.hosts, journal=False)
        done: dict[str, str] = {}
        runner.bus.subscribe(lambda ev: done.__setitem__(ev.host, ev.status) if isinstance(ev, StepFinished) and ev.step_id == "offline-bundle" else None)
        await runner.run()
        return done

    assert await run(KubeadmDryRunExecutor(speed=0)) == {"cp": "changed", "w1": "changed", "w2": "changed"}
    assert checks == [str(d)]
    deb = next((d / "debs").glob("kubelet_*.deb"))
    deb.write_bytes(deb.read_bytes() + b"\0")
    assert set((await run(KubeadmDryRunExecutor(speed=0))).values()) == {"failed"}
    assert checks == [str(d), str(d)]
