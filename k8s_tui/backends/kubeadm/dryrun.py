"""A dry-run executor that also remembers what the kubeadm path's commands change.

``DryRunExecutor`` answers commands from recorded transcripts (``engine/transcripts/kubeadm.yaml``
replays real ``kubeadm init``/``join`` output) and simulates sysctl and files. This subclass adds
the state those commands leave behind, so a dry run of the kubeadm path goes through every step
the way a real one does, and a second dry run on the same executor finds everything in place:

* ``apt-get install kubelet=V ...`` / ``dnf install kubelet-V ...`` / ``apt-get install containerd``
  make the package appear at that version (``k8s-tui-versions`` and ``dpkg-query`` / ``rpm -q``
  answer from it);
* ``kubeadm init`` writes /etc/kubernetes/admin.conf and kubelet.conf, ``kubeadm join`` writes
  kubelet.conf (and admin.conf on a control plane), ``kubeadm reset`` removes them;
* kubectl answers only where admin.conf exists: ``get --raw /readyz`` "ok"; ``get nodes -o name``
  and ``wait --for=condition=Ready`` from the hosts that have a kubelet.conf;
* ``rm -r`` removes what is under a directory;
* ``kubeadm config images pull --config FILE`` prints kubeadm's ``[config/images] Pulled ...`` line
  for each image whose name follows from FILE (its imageRepository, kubernetesVersion, and the
  pause tag kubeadm pins for that minor); etcd's and CoreDNS's tags are kubeadm's own and are not
  guessed: one line says so.

It changes nothing anywhere; it is chosen, like any executor, by whoever starts the run.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from ...engine.dryrun import DryRunExecutor, SimHost
from ...hostprep.facts import ADMIN_CONF, KUBELET_CONF
from ...model.hosts import Host

DEBIAN_CONTAINERD = "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1"
_FAKE_KUBECONFIG = (
    "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: RFJZLVJVTg==\n"
    "    server: https://{address}:6443\n  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n"
    "    user: kubernetes-admin\n  name: kubernetes-admin@kubernetes\ncurrent-context: kubernetes-admin@kubernetes\n"
    "users:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: RFJZLVJVTg==\n    client-key-data: RFJZLVJVTg==\n"
    "# dry run: not a real kubeconfig\n"
)
_PKG_VERSION_RE = re.compile(r"^(?:.*/)?(kubelet|kubeadm|kubectl)[=_-]([0-9][0-9.]*[0-9])")


def _init_files(sim: SimHost, address: str) -> None:
    """What ``kubeadm init`` leaves: the kubeconfigs and the static pod manifests."""
    kubeconfig = _FAKE_KUBECONFIG.replace("{address}", address).encode()
    for p in (ADMIN_CONF, "/etc/kubernetes/super-admin.conf", KUBELET_CONF):
        sim.files[p] = kubeconfig
    for c in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        sim.files[f"/etc/kubernetes/manifests/{c}.yaml"] = b"# dry run\n"


def _join_files(sim: SimHost, address: str, control_plane: bool) -> None:
    """What ``kubeadm join`` leaves: the kubelet's kubeconfig, and admin.conf on a control plane."""
    sim.files[KUBELET_CONF] = _FAKE_KUBECONFIG.replace("{address}", address).encode()
    if control_plane:
        sim.files[ADMIN_CONF] = sim.files[KUBELET_CONF]


class KubeadmDryRunExecutor(DryRunExecutor):
    def __init__(self, *, installed: dict[str, str | None] | None = None, **kw: Any):
        """``installed``: tool -> version line (or None: missing) every host starts with; by default
        containerd 1.6 from Debian 12 and no Kubernetes packages."""
        super().__init__(**kw)
        self._init_installed = {"containerd": DEBIAN_CONTAINERD} if installed is None else dict(installed)
        self._installed: dict[str, dict[str, str | None]] = {}

    def assume_done(self, plan: Any, done: dict[str, Any]) -> None:
        """A dry resume of a dry run: its simulated hosts start blank, so give them what the steps
        the earlier run finished would have left (packages, the kubeconfigs of init and join), and
        a step that needs them (verify needs init's admin.conf) sees the cluster the earlier run
        made, as a real resume would."""
        version = str(getattr(plan, "kubernetes_version", "") or "")
        for h in getattr(plan, "hosts", []):
            steps = done.get(h.name) or {}
            sim, inst = self.sim(h.name), self.installed(h.name)
            if "packages" in steps and re.fullmatch(r"\d+\.\d+(\.\d+)?", version):
                version = version if version.count(".") == 2 else version + ".0"
                inst.update({"kubeadm": f"v{version}", "kubelet": f"Kubernetes v{version}", "kubectl": f"Client Version: v{version}"})
            if "runtime" in steps and not inst.get("containerd"):
                inst["containerd"] = DEBIAN_CONTAINERD
            if "kubeadm-init" in steps:
                _init_files(sim, h.address)
            for sid, control_plane in (("kubeadm-join-control-planes", True), ("kubeadm-join-workers", False)):
                if sid in steps:
                    _join_files(sim, h.address, control_plane)

    def installed(self, host: str) -> dict[str, str | None]:
        if host not in self._installed:
            self._installed[host] = dict(self._init_installed)
        return self._installed[host]

    # -- answers -------------------------------------------------------------------------------

    def _answer(self, host: Host, sim: SimHost, argv: list[str], stdin: bytes | None) -> tuple[list[tuple[str, str]], int, float]:
        inst = self.installed(host.name)
        command = shlex.join(argv)
        if any(t.matches(command) for t in self.transcripts):  # a recorded answer wins
            lines, status, delay = super()._answer(host, sim, argv, stdin)
            if status == 0:
                self._effects(host, sim, argv, inst)
            return lines, status, delay
        if argv[:2] == ["sh", "-c"] and len(argv) > 3 and argv[3] == "k8s-tui-versions":
            lines = []
            for tool, cmd in (("containerd", "containerd"), ("kubeadm", "kubeadm"), ("kubelet", "kubelet"), ("kubectl", "kubectl")):
                line = inst.get(tool)
                lines.append(("stdout", f"{tool}_version={line}" if line else f"missing={cmd}"))
            lines.append(("stdout", "end=1"))
            return lines, 0, 0.0
        if argv[:2] == ["sh", "-c"] and len(argv) > 3 and argv[3] == "k8s-tui-reset":
            left = sorted(p for p in sim.files if p in (ADMIN_CONF, KUBELET_CONF, "/var/lib/kubelet/config.yaml")
                          or re.match(r"^/etc/kubernetes/manifests/[^/]+\.yaml$", p)
                          or p.startswith(("/var/lib/etcd/member", "/etc/kubernetes/k8s-tui/")))
            return [("stdout", p) for p in left], 0, 0.0
        if argv[:4] == ["kubeadm", "config", "images", "pull"]:
            return self._images_pull(sim, argv), 0, 0.0
        if argv[0] == "dpkg-query":
            return self._pkg_query(inst, "deb"), 0 if all(inst.get(p) for p in ("kubelet", "kubeadm", "kubectl")) else 1, 0.0
        if argv[0] == "rpm" and argv[1:2] == ["-q"]:
            return self._pkg_query(inst, "rpm"), 0 if all(inst.get(p) for p in ("kubelet", "kubeadm", "kubectl")) else 1, 0.0
        if argv[:3] == ["kubectl", "--kubeconfig", ADMIN_CONF]:
            if ADMIN_CONF not in sim.files:
                return [("stderr", "The connection to the server localhost:8080 was refused - did you specify the right host or port?")], 1, 0.0
            nodes = [n for n, h in self._hosts.items() if KUBELET_CONF in h.files]
            if "/readyz" in argv:
                return [("stdout", "ok")], 0, 0.0
            if argv[3:] == ["get", "nodes", "-o", "name"]:
                return [("stdout", f"node/{n}") for n in nodes], 0, 0.0
            if argv[3:4] == ["wait"]:
                wanted = [a[5:] for a in argv if a.startswith("node/")]
                gone = [n for n in wanted if n not in nodes]
                if gone:
                    return [("stderr", f'Error from server (NotFound): nodes "{gone[0]}" not found')], 1, 0.0
                return [("stdout", f"node/{n} condition met") for n in wanted], 0, 0.0
        lines, status, delay = super()._answer(host, sim, argv, stdin)
        if status == 0:
            self._effects(host, sim, argv, inst)
        return lines, status, delay

    @staticmethod
    def _images_pull(sim: SimHost, argv: list[str]) -> list[tuple[str, str]]:
        from ...hostprep.runtime import pause_image

        cfg = sim.files.get(argv[argv.index("--config") + 1], b"").decode(errors="replace") if "--config" in argv else ""
        repo = (re.search(r"^imageRepository: *(\S+)", cfg, re.M) or [None, "registry.k8s.io"])[1]
        version = (re.search(r"^kubernetesVersion: *(\S+)", cfg, re.M) or [None, "stable-1"])[1]
        m = re.search(r"(\d+)\.(\d+)", version)
        tag = f"v{version.lstrip('v')}" if re.match(r"^v?\d+\.\d+\.\d+$", version) else f"{version} (newest patch)"
        lines = [("stdout", f"[config/images] Pulled {repo}/{c}:{tag}")
                 for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")]
        if m:
            lines.append(("stdout", f"[config/images] Pulled {pause_image(int(m.group(2)), repo)}"))
        lines.append(("stdout", f"# dry run: etcd and coredns come from {repo} too, at the tags this kubeadm pins"))
        return lines

    @staticmethod
    def _pkg_query(inst: dict[str, str | None], kind: str) -> list[tuple[str, str]]:
        out = []
        for p in ("kubelet", "kubeadm", "kubectl"):
            line = inst.get(p)
            m = re.search(r"v?(\d+\.\d+\.\d+)", line or "")
            if m:
                out.append(("stdout", f"{p} ii  {m.group(1)}-1.1" if kind == "deb" else f"{p} {m.group(1)}"))
            elif kind == "deb":
                out.append(("stderr", f"dpkg-query: no packages found matching {p}"))
            else:
                out.append(("stdout", f"package {p} is not installed"))
        return out

    def _effects(self, host: Host, sim: SimHost, argv: list[str], inst: dict[str, str | None]) -> None:
        words = [a for a in argv if a not in ("env",) and "=" not in a or _PKG_VERSION_RE.match(a)]
        prog = words[0].rsplit("/", 1)[-1] if words else ""
        if prog in ("apt-get", "dnf", "yum") and "install" in words:
            for a in words:
                m = _PKG_VERSION_RE.match(a)
                if m:
                    tool, version = m.groups()
                    inst[tool] = {"kubeadm": f"v{version}", "kubelet": f"Kubernetes v{version}",
                                  "kubectl": f"Client Version: v{version}"}[tool]
            if "containerd" in words and not inst.get("containerd"):
                inst["containerd"] = DEBIAN_CONTAINERD if prog == "apt-get" else "containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da"
        elif prog == "kubeadm" and words[1:2] == ["init"] and "phase" not in words:
            _init_files(sim, host.address)
        elif prog == "kubeadm" and words[1:2] == ["join"]:
            cfg = sim.files.get(words[words.index("--config") + 1], b"") if "--config" in words else b""
            _join_files(sim, host.address, b"controlPlane:" in cfg)
        elif prog == "kubeadm" and words[1:2] == ["reset"]:
            for p in [p for p in sim.files if p.startswith("/etc/kubernetes/") or p.startswith("/var/lib/etcd/")]:
                del sim.files[p]
        elif prog == "rm" and any(a.startswith("-") and "r" in a for a in words[1:]):
            for d in (a.rstrip("/") for a in words[1:] if not a.startswith("-")):
                for p in [p for p in sim.files if p.startswith(d + "/")]:
                    del sim.files[p]
                sim.dirs.discard(d)
