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

The plan's network settings (model/network.py): ``package_repository`` replaces
https://pkgs.k8s.io/core:/stable: as the base, laid out the same way (``<base>/v1.<minor>/deb/``
and ``/rpm/``, https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/);
``proxy`` goes to apt as /etc/apt/apt.conf.d/90k8s-tui-proxy (``Acquire::http::Proxy`` and
``Acquire::https::Proxy``, with ``DIRECT`` for the no_proxy entries that are single hosts: apt
matches proxies per host name, not per domain or network), to dnf as ``proxy=`` in the repo file,
and to curl (the signing key) as ``--proxy``/``--noproxy``.

On the RHEL family the proxy goes into kubernetes.repo (``proxy=``, for that repository, also for a
later ``dnf upgrade --disableexcludes=kubernetes``) and, for the two installs k8s-tui runs (kubelet's
dependencies such as conntrack-tools and socat come from the distribution's repositories, containerd
from the distribution, EPEL or Docker's), on that one command line (``dnf_argv``). Nothing is
written to /etc/dnf/dnf.conf: a global ``proxy=`` would send every repository the user has,
internal mirrors included, through the proxy (dnf has no per-host exception as apt has), and would
be one more file to own and clean up.

Files whose first line says ``written by k8s-tui`` (``OWNED_MARK``) are k8s-tui's own: the proxy
file (and kubernetes.repo) follow the plan on every run, even when the packages are already in
place, and the apt proxy file is removed when the plan drops its proxy. A file without that line is
the user's and is never removed or rewritten by that follow-up.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.steps import Step, StepContext, StepFailed, StepResult
from ..model.network import ALWAYS_NO_PROXY, PUBLIC_PACKAGE_REPOSITORY, proxy_for_url
from .facts import HostFacts, host_facts, read_versions

if TYPE_CHECKING:
    from ..model.plan import ClusterPlan

PACKAGES = ("kubelet", "kubeadm", "kubectl")
OFFLINE_ENV = "K8S_TUI_OFFLINE_PACKAGES"
KEYRING = "/etc/apt/keyrings/kubernetes-apt-keyring.asc"
APT_LIST = "/etc/apt/sources.list.d/kubernetes.list"
YUM_REPO = "/etc/yum.repos.d/kubernetes.repo"
APT_PROXY_CONF = "/etc/apt/apt.conf.d/90k8s-tui-proxy"
_SINGLE_HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
OFFLINE_DIR_ON_HOST = "/var/lib/k8s-tui/packages"
_PKG_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~:-]*\.(deb|rpm)$")
_APT_VERSION_RE = re.compile(r"^[0-9][A-Za-z0-9.+~:-]*$")


# the first line of every file k8s-tui writes for the network settings (after the comment mark):
# a later run removes or rewrites such a file only when its first line says so
OWNED_MARK = "written by k8s-tui"


def written_by_k8s_tui(data: bytes | str | None) -> bool:
    """The file's first line is a comment ('#' or '//') that starts with OWNED_MARK."""
    if not data:
        return False
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    first = text.split("\n", 1)[0].strip()
    for mark in ("#", "//"):
        if first.startswith(mark):
            return first[len(mark):].strip().startswith(OWNED_MARK)
    return False


async def remove_owned(ctx: StepContext, path: str) -> bool:
    """Remove ``path`` if k8s-tui wrote it (read again now, its first line checked), after saving a
    copy in this run's backup folder. False when it is gone or is the user's (then left alone)."""
    data = await ctx.read_file(path)
    if data is None:
        return False
    if not written_by_k8s_tui(data):
        ctx.log(f"{path}: not written by k8s-tui (no '# {OWNED_MARK}' line): left alone")
        return False
    bdir = f"{ctx.backup_dir}/removed"
    await ctx.run(["mkdir", "-p", "-m", "0700", bdir])
    saved = f"{bdir}/{path.strip('/').replace('/', '_')}"
    await ctx.write_file(saved, data, mode=0o600, backup=False)
    await ctx.run(["rm", "-f", "--", path])
    ctx.log(f"removed {path}: the plan no longer asks for it (a copy is in {saved})")
    return True


def dnf_argv(plan: ClusterPlan | None, pm: str, *args: str) -> list[str]:
    """``dnf``/``yum`` ARGS with the plan's proxy for this one command: ``--setopt=proxy=URL``
    (dnf.conf(5), a main option; yum takes it too) and the no_proxy entries in the environment
    (libcurl under dnf reads no_proxy even with a proxy set). Plain without a proxy. Why not
    dnf.conf: see the module's docstring."""
    proxy = proxy_for_url(plan.proxy, "https://") if plan is not None else None
    if not proxy:
        return [pm, *args]
    no_proxy = ",".join(dict.fromkeys([*ALWAYS_NO_PROXY, *plan.proxy.no_proxy]))
    return ["env", f"no_proxy={no_proxy}", f"NO_PROXY={no_proxy}", pm, f"--setopt=proxy={proxy}", *args]


def repo_base(plan: ClusterPlan) -> str:
    """``<package_repository or pkgs.k8s.io/core:/stable:>/v1.<minor>``."""
    return f"{plan.package_repository or PUBLIC_PACKAGE_REPOSITORY}/v1.{plan.k8s_minor}"


def apt_proxy_conf(plan: ClusterPlan) -> str | None:
    """/etc/apt/apt.conf.d/90k8s-tui-proxy for the plan's proxy; None without one. The values were
    checked as URLs and host names (no quote, space or ';'), so they sit in apt's quoted strings."""
    proxy = plan.proxy
    if proxy is None or not proxy.enabled:
        return None
    lines = [f"// {OWNED_MARK}: the HTTP proxy of cluster {plan.name} (apt.conf(5): Acquire::http::Proxy)"]
    if proxy.http:
        lines.append(f'Acquire::http::Proxy "{proxy.http}";')
    if proxy.https:
        lines.append(f'Acquire::https::Proxy "{proxy.https}";')
    direct = [h for h in proxy.no_proxy if _SINGLE_HOST_RE.match(h)]
    for h in direct:
        for scheme in ("http", "https"):
            lines.append(f'Acquire::{scheme}::Proxy::{h} "DIRECT";')
    return "\n".join(lines) + "\n"


def curl_proxy_args(plan: ClusterPlan, url: str) -> list[str]:
    proxy = proxy_for_url(plan.proxy, url)
    if proxy is None:
        return []
    args = ["--proxy", proxy]
    if plan.proxy is not None and plan.proxy.no_proxy:
        args += ["--noproxy", ",".join(plan.proxy.no_proxy)]
    return args


def apt_source_line(plan: ClusterPlan) -> str:
    return f"deb [signed-by={KEYRING}] {repo_base(plan)}/deb/ /\n"


def yum_repo_text(plan: ClusterPlan) -> str:
    base = repo_base(plan)
    return (
        f"# {OWNED_MARK}: Kubernetes packages. The exclude line holds them at their version:\n"
        "# install or upgrade them with --disableexcludes=kubernetes.\n"
        "[kubernetes]\n"
        "name=Kubernetes\n"
        f"baseurl={base}/rpm/\n"
        "enabled=1\n"
        "gpgcheck=1\n"
        f"gpgkey={base}/rpm/repodata/repomd.xml.key\n"
        "exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n"
        + (f"proxy={proxy}\n" if (proxy := proxy_for_url(plan.proxy, base)) else "")
    )


def _proxy_secret(plan: ClusterPlan) -> bool:
    return any("@" in (u or "") for u in (plan.proxy.http, plan.proxy.https)) if plan.proxy else False


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
    (only installed ones; '1.33.0-1.1' -> '1.33.0'). Status-Abbrev's second letter is the state,
    'i' for installed; the first is the wanted action: 'i' install, 'h' hold (after apt-mark hold)
    (dpkg-query(1), "db:Status-Abbrev")."""
    out: dict[str, str] = {}
    for ln in text.splitlines():
        parts = ln.split()
        if len(parts) >= 3 and parts[1][1:2] == "i":
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
    why = "Install kubeadm, kubelet and kubectl at the plan's Kubernetes version from pkgs.k8s.io (or the plan's package repository) and hold them there, so an upgrade never moves them by surprise."

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
        sync = await self._network_files(ctx, plan)
        ctx.scratch["sync"] = sync
        for path, content in sync:
            ctx.log(f"{path}: " + ("written by k8s-tui, and the plan no longer asks for it" if content is None
                                   else "missing or differs from the plan's proxy and package repository"))
        if not wrong and not sync:
            return StepResult.unchanged(f"{', '.join(PACKAGES)} {plan.kubernetes_version} already installed")
        return False

    async def _network_files(self, ctx: StepContext, plan: ClusterPlan) -> list[tuple[str, str | None]]:
        """(path, wanted content, None: remove) for the package manager's network files that do not
        match the plan: the apt proxy file (k8s-tui's own name: written when missing or different,
        removed only when its first line says k8s-tui wrote it), kubernetes.repo (only when k8s-tui
        wrote it: one the user wrote by hand stays theirs)."""
        family, _ = self._family(ctx)
        out: list[tuple[str, str | None]] = []
        if family == "debian":
            want = apt_proxy_conf(plan)
            have = await ctx.read_file(APT_PROXY_CONF)
            if want is None and written_by_k8s_tui(have):
                out.append((APT_PROXY_CONF, None))
            elif want is not None and have != want.encode():
                out.append((APT_PROXY_CONF, want))
        elif family == "rhel":
            have = await ctx.read_file(YUM_REPO)
            want = yum_repo_text(plan)
            if written_by_k8s_tui(have) and have != want.encode():
                out.append((YUM_REPO, want))
        return out

    async def _sync(self, ctx: StepContext, plan: ClusterPlan) -> list[str]:
        done = []
        for path, content in ctx.scratch.get("sync", []):
            if content is None:
                if await remove_owned(ctx, path):
                    done.append(f"removed {path}")
            elif (await ctx.write_file(path, content, mode=0o600 if _proxy_secret(plan) and path == APT_PROXY_CONF else 0o644)).changed:
                done.append(f"wrote {path}")
        return done

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
        done = await self._sync(ctx, plan)  # before apt-get update: the proxy file is read by it
        if not ctx.scratch.get("wrong", PACKAGES):
            return StepResult.changed("; ".join(done) or "the package manager's network files follow the plan")
        files = offline_files(self.offline_dir, family)
        if files:
            await self._offline(ctx, family, f, files)
        elif family == "debian":
            await self._apt(ctx, plan)
        else:
            await self._dnf(ctx, plan, f)
        return StepResult.changed("; ".join([*done, f"installed {', '.join(PACKAGES)} {plan.kubernetes_version}"]))

    async def _apt(self, ctx: StepContext, plan: ClusterPlan) -> None:
        apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
        # the proxy file (apt_proxy_conf) is already as the plan says: apply's _sync runs first
        await ctx.run([*apt, "update", "-q"], timeout=600, hint="the host's apt sources must work; look at the errors above")
        await ctx.run([*apt, "install", "-y", "-q", "ca-certificates", "curl"], timeout=600)
        await ctx.run(["mkdir", "-p", "-m", "0755", "/etc/apt/keyrings"])
        key_url = f"{repo_base(plan)}/deb/Release.key"
        await ctx.run(["curl", "-fsSL", "--retry", "3", *curl_proxy_args(plan, key_url), "-o", KEYRING, key_url], timeout=120,
                      hint=f"the host must reach {repo_base(plan)} (directly or through a proxy: the plan's proxy and "
                           "package_repository), or use offline packages")
        await ctx.run(["chmod", "0644", KEYRING])
        await ctx.write_file(APT_LIST, apt_source_line(plan), mode=0o644)
        await ctx.run([*apt, "update", "-q"], timeout=600, hint="apt could not read the Kubernetes repository; look at the errors above")
        res = await ctx.run(["apt-cache", "madison", "kubeadm"])
        version = pick_apt_version(plan, res.stdout)
        if version is None and has_patch(plan) and not res.stdout.strip():
            # madison listed nothing at all: try the revision pkgs.k8s.io (and its mirrors) give every release
            version = f"{plan.kubernetes_version}-1.1"
            ctx.log(f"apt-cache madison listed no kubeadm versions; trying {version}, the revision the Kubernetes package repositories use")
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
        await ctx.run(dnf_argv(plan, pm, "install", "-y", "--disableexcludes=kubernetes", *names), timeout=900,
                      hint=f"the host must reach {repo_base(plan)} (directly or through a proxy: the plan's proxy and "
                           "package_repository), or use offline packages")
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
        left = await self._network_files(ctx, plan)
        if left:
            raise StepFailed("still not as the plan says: " + ", ".join(p for p, _ in left),
                             "look at the files on the host; a file without the '# written by k8s-tui' line is never touched")
        if not ctx.scratch.get("wrong", PACKAGES):
            return  # the packages were in place: only the network files were brought in line
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
