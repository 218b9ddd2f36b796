"""kubeadm, kubelet and kubectl at the plan's version, from the Kubernetes package repository.

check   the three report the plan's version (x.y.z when the plan gives a patch release, else the
        same minor): left alone, whatever installed them.
apply   Debian family: the pkgs.k8s.io key (/etc/apt/keyrings/kubernetes-apt-keyring.asc) and
        /etc/apt/sources.list.d/kubernetes.list for v1.MINOR, ``apt-get update``, the exact
        version from ``apt-cache madison``, ``apt-get install kubelet=V kubeadm=V kubectl=V``, then
        ``apt-mark hold``. RHEL family: /etc/yum.repos.d/kubernetes.repo for v1.MINOR with
        ``exclude=`` (the hold: a plain ``dnf upgrade`` leaves them alone), then
        ``dnf install --disableexcludes=kubernetes``, and ``systemctl enable kubelet``.
        Offline: with a local folder of .deb or .rpm files (``K8S_TUI_OFFLINE_PACKAGES``, or the
        step's ``offline_dir``), the files are copied to the host and installed from there.
verify  the package database has the three at the planned version.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.steps import Step, StepContext, StepFailed, StepResult
from .facts import HostFacts, host_facts, read_versions

if TYPE_CHECKING:
    from ..model.plan import ClusterPlan

PACKAGES = ("kubelet", "kubeadm", "kubectl")
OFFLINE_ENV = "K8S_TUI_OFFLINE_PACKAGES"
KEYRING = "/etc/apt/keyrings/kubernetes-apt-keyring.asc"
APT_LIST = "/etc/apt/sources.list.d/kubernetes.list"
YUM_REPO = "/etc/yum.repos.d/kubernetes.repo"
OFFLINE_DIR_ON_HOST = "/var/lib/k8s-tui/packages"
_PKG_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~:-]*\.(deb|rpm)$")
_APT_VERSION_RE = re.compile(r"^[0-9][A-Za-z0-9.+~:-]*$")


def repo_base(plan: ClusterPlan) -> str:
    return f"https://pkgs.k8s.io/core:/stable:/v1.{plan.k8s_minor}"


def apt_source_line(plan: ClusterPlan) -> str:
    return f"deb [signed-by={KEYRING}] {repo_base(plan)}/deb/ /\n"


def yum_repo_text(plan: ClusterPlan) -> str:
    base = repo_base(plan)
    return (
        "# Kubernetes packages, written by k8s-tui. The exclude line holds them at their version:\n"
        "# install or upgrade them with --disableexcludes=kubernetes.\n"
        "[kubernetes]\n"
        "name=Kubernetes\n"
        f"baseurl={base}/rpm/\n"
        "enabled=1\n"
        "gpgcheck=1\n"
        f"gpgkey={base}/rpm/repodata/repomd.xml.key\n"
        "exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n"
    )


def has_patch(plan: ClusterPlan) -> bool:
    return plan.kubernetes_version.count(".") >= 2


def version_matches(plan: ClusterPlan, have: str | None) -> bool:
    if not have:
        return False
    want = plan.kubernetes_version
    if has_patch(plan):
        return have == want
    return have == want or have.startswith(want + ".")


def pick_apt_version(plan: ClusterPlan, madison: str) -> str | None:
    """The newest candidate from `apt-cache madison kubeadm` that is the plan's version
    (madison lists newest first: '   kubeadm | 1.33.2-1.1 | https://pkgs.k8s.io/... Packages')."""
    want = plan.kubernetes_version
    prefix = want + "-" if has_patch(plan) else want + "."
    for ln in madison.splitlines():
        parts = [p.strip() for p in ln.split("|")]
        if len(parts) >= 2 and parts[1].startswith(prefix) and _APT_VERSION_RE.match(parts[1]):
            return parts[1]
    return None


def parse_dpkg_versions(text: str) -> dict[str, str]:
    """`dpkg-query -W -f '${Package} ${db:Status-Abbrev} ${Version}\\n'` -> package -> upstream version
    (only installed ones; '1.33.0-1.1' -> '1.33.0')."""
    out: dict[str, str] = {}
    for ln in text.splitlines():
        parts = ln.split()
        if len(parts) >= 3 and parts[1].startswith("ii"):
            out[parts[0]] = parts[-1].split("-")[0].split(":")[-1]
    return out


def parse_rpm_versions(text: str) -> dict[str, str]:
    """`rpm -q --qf '%{NAME} %{VERSION}\\n' ...` -> package -> version ('package X is not installed' skipped)."""
    out: dict[str, str] = {}
    for ln in text.splitlines():
        parts = ln.split()
        if len(parts) == 2 and parts[0] in PACKAGES:
            out[parts[0]] = parts[1]
    return out


def offline_files(folder: str | None, family: str) -> list[Path]:
    if not folder:
        return []
    ext = ".deb" if family == "debian" else ".rpm"
    d = Path(folder).expanduser()
    if not d.is_dir():
        raise StepFailed(f"the offline package folder {d} does not exist", f"put the {ext} files there, or unset {OFFLINE_ENV}")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.name.endswith(ext))
    bad = [p.name for p in files if not _PKG_FILE_RE.match(p.name)]
    if bad:
        raise StepFailed(f"unexpected file names in {d}: {', '.join(bad)}", "rename them to plain package file names")
    if not files:
        raise StepFailed(f"no {ext} files in {d}", f"download kubeadm, kubelet, kubectl (and their dependencies: cri-tools, kubernetes-cni) as {ext} files into it")
    return files


class PackagesStep(Step):
    id = "packages"
    title = "kubeadm, kubelet, kubectl"
    why = "Install kubeadm, kubelet and kubectl at the plan's Kubernetes version from pkgs.k8s.io and hold them there, so an upgrade never moves them by surprise."

    def __init__(self, offline_dir: str | None = None):
        # the plan has no field for it (yet): a parameter, else the environment
        self.offline_dir = offline_dir if offline_dir is not None else (os.environ.get(OFFLINE_ENV) or None)

    async def check(self, ctx: StepContext) -> StepResult | bool:
        plan = ctx.plan
        if plan is None:
            return StepResult.unchanged("no plan: nothing to install")
        v = await read_versions(ctx)
        wrong = []
        for p in PACKAGES:
            st = v.tool_state(p)
            have = v.version(p)
            if st == "present" and version_matches(plan, have):
                ctx.log(f"{p} {have}: as planned")
                continue
            wrong.append(p)
            ctx.log(f"{p}: " + {"missing": "not installed", "unknown": "the host did not report its version"}.get(
                st, f"{have or v.version_lines.get(p, '?')} installed, the plan wants {plan.kubernetes_version}"))
        ctx.scratch["wrong"] = wrong
        if not wrong:
            return StepResult.unchanged(f"{', '.join(PACKAGES)} {plan.kubernetes_version} already installed")
        return False

    def _family(self, ctx: StepContext) -> tuple[str, HostFacts | None]:
        f = host_facts(ctx)
        return (f.family if f is not None else "other"), f

    async def apply(self, ctx: StepContext) -> StepResult:
        plan = ctx.plan
        assert plan is not None
        family, f = self._family(ctx)
        if family not in ("debian", "rhel"):
            raise StepFailed(f"no package tooling k8s-tui knows on this host ({f.os_name if f else 'unknown OS'})",
                             "install kubeadm, kubelet and kubectl by hand at the planned version, then retry")
        files = offline_files(self.offline_dir, family)
        if files:
            await self._offline(ctx, family, f, files)
        elif family == "debian":
            await self._apt(ctx, plan)
        else:
            await self._dnf(ctx, plan, f)
        return StepResult.changed(f"installed {', '.join(PACKAGES)} {plan.kubernetes_version}")

    async def _apt(self, ctx: StepContext, plan: ClusterPlan) -> None:
        apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
        await ctx.run([*apt, "update", "-q"], timeout=600, hint="the host's apt sources must work; look at the errors above")
        await ctx.run([*apt, "install", "-y", "-q", "ca-certificates", "curl"], timeout=600)
        await ctx.run(["mkdir", "-p", "-m", "0755", "/etc/apt/keyrings"])
        await ctx.run(["curl", "-fsSL", "--retry", "3", "-o", KEYRING, f"{repo_base(plan)}/deb/Release.key"], timeout=120,
                      hint="the host must reach https://pkgs.k8s.io (directly or through a proxy), or use offline packages")
        await ctx.run(["chmod", "0644", KEYRING])
        await ctx.write_file(APT_LIST, apt_source_line(plan), mode=0o644)
        await ctx.run([*apt, "update", "-q"], timeout=600, hint="apt could not read the Kubernetes repository; look at the errors above")
        res = await ctx.run(["apt-cache", "madison", "kubeadm"])
        version = pick_apt_version(plan, res.stdout)
        if version is None and has_patch(plan) and not res.stdout.strip():
            # madison listed nothing at all: try the revision pkgs.k8s.io gives every release
            version = f"{plan.kubernetes_version}-1.1"
            ctx.log(f"apt-cache madison listed no kubeadm versions; trying {version}, the revision pkgs.k8s.io uses")
        if version is None:
            raise StepFailed(f"the repository {repo_base(plan)}/deb has no kubeadm {plan.kubernetes_version}",
                             "check the plan's Kubernetes version against `apt-cache madison kubeadm` on the host")
        ctx.scratch["apt_version"] = version
        await ctx.run(["apt-mark", "unhold", *PACKAGES], check=False)
        await ctx.run([*apt, "install", "-y", "-q", "--allow-downgrades", "--allow-change-held-packages",
                       *(f"{p}={version}" for p in PACKAGES)], timeout=900)
        await ctx.run(["apt-mark", "hold", *PACKAGES])

    async def _dnf(self, ctx: StepContext, plan: ClusterPlan, f: HostFacts | None) -> None:
        pm = f.package_manager if f is not None and f.package_manager in ("dnf", "yum") else "dnf"
        await ctx.write_file(YUM_REPO, yum_repo_text(plan), mode=0o644)
        names = [f"{p}-{plan.kubernetes_version}" if has_patch(plan) else p for p in PACKAGES]
        await ctx.run([pm, "install", "-y", "--disableexcludes=kubernetes", *names], timeout=900,
                      hint="the host must reach https://pkgs.k8s.io (directly or through a proxy), or use offline packages")
        await ctx.run(["systemctl", "enable", "kubelet"])

    async def _offline(self, ctx: StepContext, family: str, f: HostFacts | None, files: list[Path]) -> None:
        await ctx.run(["mkdir", "-p", "-m", "0755", OFFLINE_DIR_ON_HOST])
        remote = []
        for p in files:
            dest = f"{OFFLINE_DIR_ON_HOST}/{p.name}"
            await ctx.write_file(dest, p.read_bytes(), mode=0o644, backup=False)
            remote.append(dest)
        ctx.log(f"copied {len(remote)} package file(s) from {self.offline_dir}")
        if family == "debian":
            await ctx.run(["apt-mark", "unhold", *PACKAGES], check=False)
            await ctx.run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-download",
                           "--allow-downgrades", "--allow-change-held-packages", *remote], timeout=900,
                          hint="a dependency is missing from the folder: add its .deb file and retry")
            await ctx.run(["apt-mark", "hold", *PACKAGES])
        else:
            pm = f.package_manager if f is not None and f.package_manager in ("dnf", "yum") else "dnf"
            await ctx.run([pm, "install", "-y", "--disablerepo=*", *remote], timeout=900,
                          hint="a dependency is missing from the folder: add its .rpm file and retry")
            await ctx.run(["systemctl", "enable", "kubelet"])
            ctx.log("offline rpm packages are not held (no repository to exclude them from): "
                    "add `exclude=kubelet kubeadm kubectl` to /etc/dnf/dnf.conf to hold them")

    async def verify(self, ctx: StepContext) -> None:
        plan = ctx.plan
        assert plan is not None
        family, _ = self._family(ctx)
        if family == "debian":
            res = await ctx.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev} ${Version}\n", *PACKAGES], check=False)
            have = parse_dpkg_versions(res.stdout)
        else:
            res = await ctx.run(["rpm", "-q", "--qf", "%{NAME} %{VERSION}\n", *PACKAGES], check=False)
            have = parse_rpm_versions(res.stdout)
        if res.ok and not res.stdout.strip():
            # a successful query that printed nothing: nothing to compare with
            ctx.log("the package database gave no answer; the installed versions are not verified")
            return
        bad = [f"{p}: {have.get(p, 'not installed')}" for p in PACKAGES if not version_matches(plan, have.get(p))]
        if bad:
            raise StepFailed(f"not at {plan.kubernetes_version} after the install: {'; '.join(bad)}",
                             "look at the package manager's output above")
