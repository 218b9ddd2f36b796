"""Packages from a local repository through a real HTTP proxy, on three SSH test hosts (issue 12).

* ``repo``: serves an apt repository over HTTP (Python's http.server in its own namespace), laid
  out like pkgs.k8s.io (``<base>/v1.32/deb/``): kubeadm, kubelet and kubectl packages built here
  with ``dpkg-deb --build`` whose binaries are our stand-ins (tests/standins: kubeadm replays
  recorded real output), indexed with ``apt-ftparchive packages``/``release`` and signed with a
  throwaway GnuPG key made for the test, so the packages step runs exactly as it does against
  pkgs.k8s.io (the key fetched with curl, ``signed-by`` in the source line). No ``[trusted=yes]``
  is needed: a signed repository is what the step expects, so the test signs it.
* ``proxy``: Debian's tinyproxy, in the foreground with its own config and log file.
* ``node``: may not reach ``repo`` itself (a ``prohibit`` route in its own network namespace), so
  everything it fetches has to go through the proxy. The real facts and packages steps run over
  real SSH with ``package_repository`` and ``proxy`` set: real ``curl``, ``apt-get update``,
  ``apt-cache madison``, ``apt-get install``, ``apt-mark hold``, ``dpkg-query``. The proxy's log
  shows the requests; the repository's log shows they came from the proxy's address.

Also on real SSH: the image pre-pull step with the kubeadm stand-in (it replays recorded
``kubeadm config images pull`` output, with the plan's image_repository), streamed per image, and
its early failure with the hint naming the registry.

Root only (test hosts); skips with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from k8s_tui.backends.kubeadm.images import ImagePullStep
from k8s_tui.engine.events import EventBus
from k8s_tui.engine.executor import ExecOptions
from k8s_tui.engine.runner import Runner, RunPlan, Stage
from k8s_tui.engine.ssh import SshExecutor
from k8s_tui.hostprep.facts import FactsStep, FactsStore
from k8s_tui.hostprep.packages import APT_PROXY_CONF, KEYRING, PackagesStep
from k8s_tui.model.plan import ClusterPlan
from tests.standins import VERSION, install_standins, script
from tests.testbed.services import run_tinyproxy, serve_directory, tinyproxy_available
from tests.unit.hostprep_helpers import Events

pytestmark = pytest.mark.testhosts

K8S = VERSION.lstrip("v")  # 1.32.13: what the stand-ins answer to --version
DEB_VERSION = f"{K8S}-1.1"  # the revision pkgs.k8s.io gives every release
BASE_PATH = "kubernetes-new/core/stable"  # laid out like a public mirror of pkgs.k8s.io
REPO_PORT = 8080
PROXY_PORT = 8888
IMAGE_REPOSITORY = "registry.example.cn/google_containers"


def need(*tools: str) -> None:
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (tests/run.sh installs them)")


class Recorder(Events):  # the step events, and the host's log as this test reads it
    def log(self, host: str) -> str:
        return "\n".join(f"[{e.step_id}] {e.text}" for e in self.lines if e.host == host)


async def run(plan: ClusterPlan, run_plan: RunPlan, known_hosts: str, state: Path, run_id: str = "mirrors") -> Recorder:
    rec = Recorder()
    bus = EventBus()
    bus.subscribe(rec)
    ex = SshExecutor(ExecOptions(known_hosts=known_hosts, connect_timeout=8))
    try:
        await Runner(plan, run_plan, ex, bus=bus, state_base=state, run_id=run_id).run()
    finally:
        await ex.close()
    return rec


def build_repository(root: Path, node, nodes: list[str], gnupg: Path) -> Path:
    """<root>/<BASE_PATH>/v1.32/deb/: three .deb files, Packages, Release, InRelease, Release.key."""
    deb_dir = root / BASE_PATH / f"v1.{K8S.split('.')[1]}" / "deb"
    deb_dir.mkdir(parents=True)
    build = root.parent / "build"
    for tool in ("kubeadm", "kubelet", "kubectl"):
        pkg = build / tool
        (pkg / "DEBIAN").mkdir(parents=True)
        (pkg / "DEBIAN" / "control").write_text(
            f"Package: {tool}\nVersion: {DEB_VERSION}\nArchitecture: all\n"
            "Maintainer: k8s-tui tests <tests@k8s-tui.invalid>\n"
            f"Description: k8s-tui test stand-in for {tool}\n"
            " Its binary is tests/standins/" + tool + ".sh (kubeadm replays recorded real output).\n")
        binary = pkg / "usr" / "bin" / tool
        binary.parent.mkdir(parents=True)
        binary.write_text(script(tool, address=node.address, node=node.name, nodes=nodes))
        binary.chmod(0o755)
        subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(pkg), str(deb_dir / f"{tool}_{DEB_VERSION}_all.deb")],
                       check=True, capture_output=True)
    packages = subprocess.run(["apt-ftparchive", "packages", "."], cwd=deb_dir, check=True, capture_output=True, text=True).stdout
    (deb_dir / "Packages").write_text(packages)
    release = subprocess.run(["apt-ftparchive", "release", "."], cwd=deb_dir, check=True, capture_output=True, text=True).stdout
    (deb_dir / "Release").write_text(release)
    # a throwaway signing key, only for this repository (never imported anywhere else)
    env = {**os.environ, "GNUPGHOME": str(gnupg)}
    gnupg.mkdir(mode=0o700)
    try:
        subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                        "k8s-tui test repository <repo@k8s-tui.invalid>", "ed25519", "sign", "1d"], env=env, check=True, capture_output=True)
        key = subprocess.run(["gpg", "--batch", "--armor", "--export"], env=env, check=True, capture_output=True, text=True).stdout
        (deb_dir / "Release.key").write_text(key)
        subprocess.run(["gpg", "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", "", "--clearsign",
                        "-o", str(deb_dir / "InRelease"), str(deb_dir / "Release")], env=env, check=True, capture_output=True)
    finally:
        # gpg starts an agent for this home that outlives it; nothing of the test may stay running
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)
    return deb_dir


def test_packages_from_a_local_repository_through_a_real_proxy(testhosts3, tmp_path):
    need("dpkg-deb", "apt-ftparchive", "gpg")
    if not tinyproxy_available():
        pytest.skip("needs tinyproxy (tests/run.sh installs it)")
    repo, proxy, node = testhosts3
    subnet = re.sub(r"\.\d+$", ".0/24", repo.address)

    # the repository, copied into the repo host's private /srv and served from there
    built = tmp_path / "repo"
    build_repository(built, node, [node.name], tmp_path / "gnupg")
    shutil.copytree(built, repo.path("/srv/k8s-repo"))
    http = serve_directory(repo, "/srv/k8s-repo", REPO_PORT, tmp_path / "http.log")
    tiny, proxy_log = run_tinyproxy(proxy, PROXY_PORT, subnet, tmp_path / "tinyproxy.out")
    try:
        # the node: only our repository in its (private) apt sources, and no direct way to the repo host
        node.run("rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*", check=True)
        node.run(["ip", "route", "add", "prohibit", f"{repo.address}/32"], check=True)
        direct = node.run(["curl", "-sS", "--max-time", "5", f"http://{repo.address}:{REPO_PORT}/"])
        assert direct.returncode != 0  # the proxy is the only way

        plan = ClusterPlan(
            name="mirrors", kubernetes_version=K8S,
            package_repository=f"http://{repo.address}:{REPO_PORT}/{BASE_PATH}",
            proxy={"http": f"http://{proxy.address}:{PROXY_PORT}", "https": f"http://{proxy.address}:{PROXY_PORT}"},
            hosts=[{"name": node.name, "address": node.address, "user": "root", "key_file": node.key_file, "roles": ["control-plane"]}],
        )
        facts = FactsStore()
        rp = RunPlan([Stage("facts", [FactsStep([], facts)]), Stage("packages", [PackagesStep(offline_dir="")])])
        rec = asyncio.run(run(plan, rp, node.known_hosts, tmp_path / "state"))
        fin = rec.finished[(node.name, "packages")]
        assert fin.status == "changed", f"{fin.message} / {fin.hint}\n{rec.log(node.name)}"

        # installed from our repository: the stand-in binaries, held at the version
        out = node.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n", "kubeadm", "kubelet", "kubectl"], check=True).stdout
        for tool in ("kubeadm", "kubelet", "kubectl"):
            assert re.search(rf"^{tool} {re.escape(DEB_VERSION)} hi", out, re.M), out
        assert node.run(["kubeadm", "version", "-o", "short"], check=True).stdout.strip() == VERSION
        assert f"Acquire::http::Proxy \"http://{proxy.address}:{PROXY_PORT}\";" in node.path(APT_PROXY_CONF).read_text()
        assert node.path(KEYRING).read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")

        # every request went through the proxy: its log names them (apt asks for "deb/./kubeadm_..." as
        # apt-ftparchive wrote the file names), the repository saw only the proxy's address
        prefix = f"http://{repo.address}:{REPO_PORT}/{BASE_PATH}/v1.32/deb"
        seen = proxy_log.read_text()
        for path in ("Release.key", "InRelease", "Packages", f"kubeadm_{DEB_VERSION}_all.deb", f"kubelet_{DEB_VERSION}_all.deb"):
            assert re.search(rf"GET {re.escape(prefix)}/(\./)?{re.escape(path)} ", seen), (path, "\n".join(ln for ln in seen.splitlines() if "GET" in ln))
        served = [ln for ln in http.log.read_text().splitlines() if '"GET /' in ln]
        assert served and all(ln.startswith(proxy.address + " ") for ln in served), served

        # a second run on the prepared host: nothing to do
        rec2 = asyncio.run(run(plan, rp, node.known_hosts, tmp_path / "state", run_id="mirrors-again"))
        assert rec2.finished[(node.name, "packages")].status == "unchanged"
    finally:
        tiny.stop()
        http.stop()


def test_image_pull_streams_per_image_and_fails_early_with_a_hint(testhosts3, tmp_path):
    """kubeadm is the stand-in here (it replays recorded `kubeadm config images pull` output);
    the step, the config file, SSH and the streaming are real."""
    cp, w1, w2 = testhosts3
    plan = ClusterPlan(
        name="pull", kubernetes_version=K8S, image_repository=IMAGE_REPOSITORY,
        hosts=[{"name": h.name, "address": h.address, "user": "root", "key_file": h.key_file,
                "roles": ["control-plane"] if i == 0 else ["worker"]} for i, h in enumerate(testhosts3)],
    )
    for h in testhosts3:
        install_standins(h, nodes=[x.name for x in testhosts3], tools=("kubeadm",))
    w2.path("/etc/k8s-tui-standin").mkdir(parents=True, exist_ok=True)
    w2.path("/etc/k8s-tui-standin/fail-pull").write_text("")  # this host's registry is unreachable
    rec = asyncio.run(run(plan, RunPlan([Stage("pull images", [ImagePullStep()])]), cp.known_hosts, tmp_path / "state"))

    for h in (cp, w1):
        fin = rec.finished[(h.name, "pull-images")]
        assert fin.status == "changed" and IMAGE_REPOSITORY in fin.message, (fin.message, rec.log(h.name))
        pulled = [e.text for e in rec.lines if e.host == h.name and e.stream == "stdout" and e.text.startswith("[config/images] Pulled")]
        assert len(pulled) == 7 and all(t.startswith(f"[config/images] Pulled {IMAGE_REPOSITORY}/") for t in pulled), pulled
        assert f"{IMAGE_REPOSITORY}/coredns:v1.8.6" in pulled[-1]  # kubeadm's name for it under a custom repository
        assert "imageRepository: registry.example.cn/google_containers" in h.path("/etc/kubernetes/k8s-tui/images.yaml").read_text()
    # the lines came one by one while the command ran: each before the step finished, in order
    counts = [e.text for e in rec.lines if e.host == cp.name and e.step_id == "pull-images" and e.text.startswith("pulled ")]
    assert counts[0].startswith("pulled 1/7: ") and counts[-1].startswith("pulled 7/7: ")

    fail = rec.finished[(w2.name, "pull-images")]
    assert fail.status == "failed"
    assert "after 5 of 7 images" in fail.message and f"{IMAGE_REPOSITORY}/etcd:3.5.1-0" in fail.message
    assert "registry.example.cn" in fail.hint and "registry_mirrors" in fail.hint and "offline" in fail.hint
