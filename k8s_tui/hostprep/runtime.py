"""The container runtime: containerd, from the distribution, with the systemd cgroup driver.

check   containerd is installed at 1.6 or later (the CRI v1 API Kubernetes 1.26+ speaks), its
        /etc/containerd/config.toml enables the CRI plugin with ``SystemdCgroup = true`` and pins
        the sandbox (pause) image kubeadm uses for the plan's Kubernetes version, and it runs.
apply   installs containerd when it is missing or too old (``apt-get install containerd`` on the
        Debian family, ``dnf install containerd`` on the RHEL family), patches the config (or
        ``containerd config default`` when there is none or it disables CRI; the old file is
        backed up first), enables and restarts containerd.
verify  the same as check.

Only the two settings are changed in an existing config; the rest of it is left as it was.

Where images come from (the plan's network settings, model/network.py; nothing of this is written
when the fields are unset):

* ``image_repository``: the sandbox image is ``<image_repository>/pause:<tag>``;
* ``registry_mirrors``: one ``/etc/containerd/certs.d/<registry>/hosts.toml`` per registry (the
  upstream as ``server``, each mirror as a ``[host."<url>"]`` with capabilities pull and resolve,
  containerd docs/hosts.md: https://github.com/containerd/containerd/blob/main/docs/hosts.md), and
  ``config_path = "/etc/containerd/certs.d"`` in the CRI registry section of config.toml
  (``plugins."io.containerd.grpc.v1.cri".registry`` in config version 2, containerd 1.x;
  ``plugins.'io.containerd.cri.v1.images'.registry`` in version 3, containerd 2.x);
* ``proxy``: systemd drop-ins ``/etc/systemd/system/{containerd,kubelet}.service.d/http-proxy.conf``
  with HTTP_PROXY, HTTPS_PROXY and NO_PROXY (and the lower-case names, which some Go and C
  libraries read instead); NO_PROXY always holds localhost, the pod and service networks, the
  control-plane endpoint and every host's address and name (``cluster_no_proxy``). A changed
  drop-in means ``systemctl daemon-reload``, a restart of containerd and ``try-restart`` of the
  kubelet (restarted only when it runs).

Each of these files starts with a ``# written by k8s-tui`` line (``OWNED_MARK``). When the plan no
longer asks for one (a mirror dropped, the proxy removed), the step removes it, but only when that
first line says k8s-tui wrote it: a hosts.toml or drop-in of the user's own is left alone (and the
check says so). A copy goes to this run's backup folder first; a removed drop-in means
``daemon-reload`` and the restarts above, as a changed one does. ``config_path`` stays in
config.toml: an empty certs.d is containerd's default behaviour.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from ..engine.dryrun import SH_SIMULATIONS
from ..engine.steps import Step, StepContext, StepFailed, StepResult
from ..model.network import PUBLIC_IMAGE_REPOSITORY, check_registry, cluster_no_proxy, upstream_server
from .facts import host_facts, parse_version, read_versions, run_script, version_tuple
from .packages import APT_PROXY_CONF, OWNED_MARK, apt_proxy_conf, dnf_argv, remove_owned, written_by_k8s_tui

if TYPE_CHECKING:
    from ..model.plan import ClusterPlan

CONTAINERD_CONFIG = "/etc/containerd/config.toml"
MIN_CONTAINERD = (1, 6, 0)
CERTS_D = "/etc/containerd/certs.d"
DROPIN_NAME = "http-proxy.conf"
CONTAINERD_DROPIN = f"/etc/systemd/system/containerd.service.d/{DROPIN_NAME}"
KUBELET_DROPIN = f"/etc/systemd/system/kubelet.service.d/{DROPIN_NAME}"

# registry.k8s.io/pause tag kubeadm pins per Kubernetes minor (cmd/kubeadm/app/constants PauseVersion;
# checked against kubeadm's `config images list` per release)
PAUSE_VERSIONS: dict[int, str] = {
    23: "3.6", 24: "3.7", 25: "3.8", 26: "3.9", 27: "3.9", 28: "3.9", 29: "3.9", 30: "3.9",
    31: "3.10", 32: "3.10", 33: "3.10", 34: "3.10.1", 35: "3.10.1",
}


def pause_image(minor: int, repository: str | None = None) -> str:
    """kubeadm's pause image for a Kubernetes minor, from ``repository`` (the plan's
    image_repository) or registry.k8s.io."""
    known = sorted(PAUSE_VERSIONS)
    if minor in PAUSE_VERSIONS:
        tag = PAUSE_VERSIONS[minor]
    elif minor > known[-1]:
        tag = PAUSE_VERSIONS[known[-1]]  # newer than this table: the newest known (kubeadm warns if it moved)
    else:
        tag = PAUSE_VERSIONS[known[0]]
    return f"{repository or PUBLIC_IMAGE_REPOSITORY}/pause:{tag}"


# ---------------------------------------------------------------- mirrors and the proxy


def hosts_toml_path(registry: str) -> str:
    return f"{CERTS_D}/{registry}/hosts.toml"


def hosts_toml(registry: str, mirrors: list[str], cluster: str = "") -> str:
    """containerd's hosts.toml for one registry: its mirrors in order, then the upstream server
    (docs/hosts.md: the hosts are tried in order, ``server`` last). Values were checked as URLs
    (model/network.py: no quote, space or backslash), so they sit in TOML strings as they are."""
    lines = [
        f"# {OWNED_MARK}{' for cluster ' + cluster if cluster else ''}: the mirrors of {registry}. containerd tries",
        "# each [host] in order and the server last (https://github.com/containerd/containerd/blob/main/docs/hosts.md)",
        f'server = "{upstream_server(registry)}"',
    ]
    for m in mirrors:
        lines += ["", f'[host."{m}"]', '  capabilities = ["pull", "resolve"]']
    return "\n".join(lines) + "\n"


def plan_no_proxy(plan: ClusterPlan) -> list[str]:
    """NO_PROXY for the plan's hosts (without an endpoint the API is on the first control plane,
    whose address is in the list anyway)."""
    user = list(plan.proxy.no_proxy) if plan.proxy is not None else []
    return cluster_no_proxy(user, pod_cidr=plan.pod_cidr, service_cidr=plan.service_cidr,
                            endpoint=plan.control_plane_endpoint, hosts=[(h.name, h.address) for h in plan.hosts])


def proxy_dropin(plan: ClusterPlan, unit: str) -> str | None:
    """The systemd drop-in that gives ``unit`` the plan's proxy; None without a proxy."""
    proxy = plan.proxy
    if proxy is None or not proxy.enabled:
        return None
    env: list[tuple[str, str]] = []
    if proxy.http:
        env += [("HTTP_PROXY", proxy.http), ("http_proxy", proxy.http)]
    if proxy.https:
        env += [("HTTPS_PROXY", proxy.https), ("https_proxy", proxy.https)]
    no_proxy = ",".join(plan_no_proxy(plan))
    env += [("NO_PROXY", no_proxy), ("no_proxy", no_proxy)]
    lines = [
        f"# {OWNED_MARK}: the HTTP proxy of cluster {plan.name} for {unit}. NO_PROXY keeps this host,",
        "# the pod and service networks, the API endpoint and every cluster host off the proxy.",
        "[Service]",
        # '%' starts a specifier in unit files (systemd.unit(5)): a percent-encoded URL needs '%%'
        *(f'Environment="{k}={v.replace("%", "%%")}"' for k, v in env),
    ]
    return "\n".join(lines) + "\n"


def proxy_has_secret(plan: ClusterPlan | None) -> bool:
    """A proxy URL with user:password@: the files holding it are written readable by root only."""
    proxy = plan.proxy if plan is not None else None
    return proxy is not None and any("@" in (u or "") for u in (proxy.http, proxy.https))


def network_files(plan: ClusterPlan | None) -> list[tuple[str, str]]:
    """(path, content) of every file the plan's mirrors and proxy put on a host; [] when unset."""
    if plan is None:
        return []
    out = [(hosts_toml_path(r), hosts_toml(r, m, plan.name)) for r, m in sorted(plan.registry_mirrors.items())]
    for unit, path in (("containerd", CONTAINERD_DROPIN), ("kubelet", KUBELET_DROPIN)):
        text = proxy_dropin(plan, unit)
        if text is not None:
            out.append((path, text))
    return out


# lists the hosts.toml files under certs.d ($1), one path a line (read-only)
CERTS_LIST_SCRIPT = r"""for f in "$1"/*/hosts.toml; do [ -f "$f" ] && printf '%s\n' "$f"; done; exit 0"""
CERTS_LIST_NAME = "certs-list"


def parse_certs_list(text: str) -> list[str]:
    """The listing's hosts.toml paths whose registry directory is a registry name (anything else
    is not a file k8s-tui could have written, and is never touched)."""
    out = []
    for ln in text.splitlines():
        m = re.fullmatch(rf"{re.escape(CERTS_D)}/([^/]+)/hosts\.toml", ln.strip())
        if not m:
            continue
        try:
            reg = check_registry(m.group(1))
        except ValueError:
            continue
        if reg == m.group(1):
            out.append(hosts_toml_path(reg))
    return out


async def leftover_network_files(ctx: StepContext) -> tuple[list[str], list[str]]:
    """(files k8s-tui wrote for mirrors or the proxy that the plan no longer asks for, files at
    those places that the user wrote: left alone). Nothing without a plan."""
    if ctx.plan is None:
        return [], []
    wanted = {path for path, _ in network_files(ctx.plan)}
    res = await run_script(ctx, CERTS_LIST_NAME, CERTS_LIST_SCRIPT, [CERTS_D])
    candidates = [p for p in parse_certs_list(res.stdout) if p not in wanted]
    candidates += [p for p in (CONTAINERD_DROPIN, KUBELET_DROPIN) if p not in wanted]
    ours, theirs = [], []
    for path in candidates:
        data = await ctx.read_file(path)
        if data is None:
            continue
        (ours if written_by_k8s_tui(data) else theirs).append(path)
    return ours, theirs


def _simulate_certs_list(ex, host, sim, args: list[str]) -> tuple[list[tuple[str, str]], int]:
    base = (args[0] if args else CERTS_D).rstrip("/") + "/"
    found = sorted(p for p in sim.files if p.startswith(base) and p.endswith("/hosts.toml") and p[len(base):].count("/") == 1)
    return [("stdout", p) for p in found], 0


SH_SIMULATIONS["k8s-tui-" + CERTS_LIST_NAME] = _simulate_certs_list


_SYSTEMD_RE = re.compile(r"^(\s*)SystemdCgroup\s*=\s*\S+", re.M)
_SANDBOX_V2_RE = re.compile(r"^(\s*)sandbox_image\s*=\s*\S.*$", re.M)  # config version 2 (containerd 1.x)
_SANDBOX_V3_RE = re.compile(r"^(\s*)sandbox\s*=\s*\S.*$", re.M)  # config version 3 (containerd 2.x pinned_images)
_DISABLED_CRI_RE = re.compile(r"^\s*disabled_plugins\s*=\s*\[[^\]]*[\"']cri[\"']", re.M)
# the CRI plugin's registry table: version 2 (containerd 1.x) or version 3 (containerd 2.x)
_REGISTRY_HEADER_RE = re.compile(r"""^[ \t]*\[plugins\.(?:"io\.containerd\.grpc\.v1\.cri"|'io\.containerd\.cri\.v1\.images')\.registry\][ \t]*$""", re.M)
_CONFIG_PATH_RE = re.compile(r"""^([ \t]*)config_path[ \t]*=[ \t]*(["'])(.*?)\2[ \t]*$""", re.M)
# the old mirrors table, which containerd refuses together with config_path
_OLD_MIRRORS_RE = re.compile(r"""^[ \t]*\[plugins\.[^\n]*\.registry\.mirrors""", re.M)


def _registry_section(text: str) -> tuple[int, int] | None:
    """(start, end) of the CRI registry table's body (after its header, up to the next table)."""
    m = _REGISTRY_HEADER_RE.search(text)
    if not m:
        return None
    nxt = re.compile(r"^[ \t]*\[", re.M).search(text, m.end())
    return m.end(), (nxt.start() if nxt else len(text))


def registry_config_path(text: str) -> str | None:
    """The CRI registry's config_path in a config.toml, or None when it has none."""
    sec = _registry_section(text)
    if sec is None:
        return None
    m = _CONFIG_PATH_RE.search(text, sec[0], sec[1])
    return m.group(3) if m else None


def _set_config_path(text: str) -> str:
    sec = _registry_section(text)
    if sec is not None:
        m = _CONFIG_PATH_RE.search(text, sec[0], sec[1])
        if m:
            return text[:m.start()] + f'{m.group(1)}config_path = "{CERTS_D}"' + text[m.end():]
        indent = re.match(r"[ \t]*", text[text.rfind("\n", 0, sec[0] - 1) + 1:]).group(0)
        return text[:sec[0]] + f'\n{indent}  config_path = "{CERTS_D}"' + text[sec[0]:]
    header = ("[plugins.'io.containerd.cri.v1.images'.registry]" if "io.containerd.cri.v1.images" in text
              else '[plugins."io.containerd.grpc.v1.cri".registry]')
    return text.rstrip("\n") + f'\n\n{header}\n  config_path = "{CERTS_D}"\n'


def config_problems(text: str | None, image: str, mirrors: bool = False) -> list[str]:
    """What keeps the config from serving Kubernetes; ``mirrors``: the plan has registry mirrors,
    so the CRI registry must read certs.d."""
    if text is None or not text.strip():
        return [f"{CONTAINERD_CONFIG} is missing or empty (containerd's defaults use the cgroupfs driver)"]
    out = []
    if _DISABLED_CRI_RE.search(text):
        out.append("the CRI plugin is disabled (disabled_plugins = [\"cri\"], as Docker's containerd.io ships it)")
    m = _SYSTEMD_RE.search(text)
    if not m or not re.search(r"=\s*true\s*$", m.group(0)):
        out.append("SystemdCgroup is not true (the kubelet uses the systemd cgroup driver)")
    sand = [x.group(0) for x in (*_SANDBOX_V2_RE.finditer(text), *_SANDBOX_V3_RE.finditer(text))]
    if not any(image in s for s in sand):
        out.append(f"the sandbox image is not {image}")
    if mirrors and CERTS_D not in (registry_config_path(text) or "").split(":"):
        out.append(f"the CRI registry's config_path does not include {CERTS_D} (the mirrors' hosts.toml files are not read)")
    return out


def patch_config(text: str, image: str, mirrors: bool = False) -> str | None:
    """The config with SystemdCgroup = true and the sandbox image set (and, with ``mirrors``, the
    CRI registry's config_path); None when it has no place for them (then it is rebuilt from
    `containerd config default`)."""
    if _DISABLED_CRI_RE.search(text) or not _SYSTEMD_RE.search(text):
        return None
    out = _SYSTEMD_RE.sub(lambda m: f"{m.group(1)}SystemdCgroup = true", text)
    if _SANDBOX_V2_RE.search(out):
        out = _SANDBOX_V2_RE.sub(lambda m: f'{m.group(1)}sandbox_image = "{image}"', out)
    elif _SANDBOX_V3_RE.search(out):
        out = _SANDBOX_V3_RE.sub(lambda m: f"{m.group(1)}sandbox = '{image}'", out)
    else:
        return None
    if mirrors and CERTS_D not in (registry_config_path(out) or "").split(":"):
        if _OLD_MIRRORS_RE.search(out):
            raise StepFailed(f"{CONTAINERD_CONFIG} sets registry mirrors the old way (a registry.mirrors table), "
                             "which containerd refuses together with config_path",
                             f"move those mirrors into the plan's registry_mirrors (or {CERTS_D}/<registry>/hosts.toml) "
                             "and delete the registry.mirrors tables, then retry")
        out = _set_config_path(out)
    return out


class RuntimeStep(Step):
    id = "runtime"
    title = "Container runtime (containerd)"
    why = "The kubelet runs pods through containerd: install it from the distribution, use the systemd cgroup driver and kubeadm's pause image."

    def image(self, plan: ClusterPlan | None) -> str:
        if plan is None:
            return pause_image(33)
        return pause_image(plan.k8s_minor, plan.image_repository)

    @staticmethod
    def mirrors(plan: ClusterPlan | None) -> bool:
        return plan is not None and bool(plan.registry_mirrors)

    async def _active(self, ctx: StepContext) -> bool:
        res = await ctx.run(["systemctl", "is-active", "containerd"], check=False)
        return res.stdout.strip().splitlines()[:1] == ["active"]

    async def _state(self, ctx: StepContext) -> dict:
        v = await read_versions(ctx)
        version = v.version("containerd")
        state = v.tool_state("containerd")
        current = await ctx.read_file(CONTAINERD_CONFIG)
        text = current.decode(errors="replace") if current is not None else None
        problems = config_problems(text, self.image(ctx.plan), self.mirrors(ctx.plan))
        active = await self._active(ctx) if state != "missing" else False
        stale = []  # mirror and proxy files that are missing or differ
        for path, content in network_files(ctx.plan):
            if await ctx.read_file(path) != content.encode():
                stale.append((path, content))
                problems.append(f"{path} is missing or differs from the plan")
        unwanted, foreign = await leftover_network_files(ctx)
        problems += [f"{p} was written by k8s-tui and the plan no longer asks for it" for p in unwanted]
        return {"version": version, "tool": state, "text": text, "problems": problems, "active": active, "stale": stale,
                "unwanted": unwanted, "foreign": foreign}

    async def check(self, ctx: StepContext) -> StepResult | bool:
        st = await self._state(ctx)
        ctx.scratch["state"] = st
        vt = version_tuple(st["version"])
        compatible = st["tool"] == "present" and (vt is None or vt >= MIN_CONTAINERD)
        if st["tool"] == "present" and vt is None:
            ctx.log("containerd is installed but printed no version; treated as compatible")
        ctx.scratch["compatible"] = compatible
        if st["tool"] == "missing":
            ctx.log("containerd is not installed")
        elif st["tool"] == "unknown":
            ctx.log("the host did not say whether containerd is installed")
        elif not compatible:
            ctx.log(f"containerd {st['version']} is older than {'.'.join(map(str, MIN_CONTAINERD))}: it will be upgraded")
        for p in st["problems"]:
            ctx.log(p)
        for p in st["foreign"]:
            ctx.log(f"{p}: the plan does not ask for it, but k8s-tui did not write it (no '# {OWNED_MARK}' line): left alone")
        if st["tool"] == "present" and not st["active"]:
            ctx.log("containerd is not running")
        if compatible and not st["problems"] and st["active"]:
            return StepResult.unchanged(f"containerd {st['version'] or ''} configured for Kubernetes and running".replace("  ", " "))
        return False

    async def _install(self, ctx: StepContext) -> None:
        f = host_facts(ctx)
        family = f.family if f is not None else "other"
        if family == "debian":
            conf = apt_proxy_conf(ctx.plan) if ctx.plan is not None else None
            if conf is not None:  # apt needs the plan's proxy before this first install (packages writes it too)
                await ctx.write_file(APT_PROXY_CONF, conf, mode=0o600 if proxy_has_secret(ctx.plan) else 0o644)
            elif ctx.plan is not None:  # a proxy the plan dropped must not carry this install (only k8s-tui's file)
                await remove_owned(ctx, APT_PROXY_CONF)
            await ctx.run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update", "-q"], timeout=600)
            await ctx.run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "containerd"], timeout=900,
                          hint="check the host's apt sources and its network; `apt-get install containerd` must work there")
        elif family == "rhel":
            pm = f.package_manager if f is not None and f.package_manager in ("dnf", "yum") else "dnf"
            # the distribution's (or Docker's) repositories need the plan's proxy too: for this one
            # command only (packages.dnf_argv says why nothing is written to dnf.conf)
            await ctx.run(dnf_argv(ctx.plan, pm, "install", "-y", "containerd"), timeout=900,
                          hint="RHEL-family distributions do not ship containerd themselves: add Docker's repository "
                               "(https://download.docker.com/linux/centos/docker-ce.repo) or EPEL, then retry "
                               "(the package may be called containerd.io there: install it by hand and retry)")
        else:
            raise StepFailed("containerd is missing and this host has neither apt-get nor dnf",
                             "install containerd 1.6 or later by hand, then retry")

    async def apply(self, ctx: StepContext) -> StepResult:
        st = ctx.scratch["state"]
        image = self.image(ctx.plan)
        installed_now = False
        done = []
        if not ctx.scratch["compatible"]:
            await self._install(ctx)
            installed_now = True
            done.append("installed containerd from the distribution")
            cur = await ctx.read_file(CONTAINERD_CONFIG)
            st["text"] = cur.decode(errors="replace") if cur is not None else None
            st["problems"] = config_problems(st["text"], image)
        mirrors = self.mirrors(ctx.plan)
        if config_problems(st["text"], image, mirrors) or installed_now:
            new = patch_config(st["text"], image, mirrors) if st["text"] else None
            if new is None:
                res = await ctx.run(["containerd", "config", "default"], echo=True)
                new = patch_config(res.stdout, image, mirrors)
                if new is None:
                    raise StepFailed("`containerd config default` has no SystemdCgroup or sandbox image setting",
                                     f"write {CONTAINERD_CONFIG} by hand with SystemdCgroup = true and sandbox image {image}")
            await ctx.run(["mkdir", "-p", "/etc/containerd"])
            res = await ctx.write_file(CONTAINERD_CONFIG, new, mode=0o644)
            done.append(f"set SystemdCgroup = true{', config_path' if mirrors else ''} and sandbox image {image} in {CONTAINERD_CONFIG}")
            restart = res.changed or installed_now or not st["active"]
        else:
            restart = not st["active"]
        # mirrors and proxy: hosts.toml files, systemd drop-ins
        written = []
        for path, content in (network_files(ctx.plan) if installed_now else st.get("stale", [])):
            await ctx.run(["mkdir", "-p", path.rsplit("/", 1)[0]])
            secret = path.startswith("/etc/systemd/") and proxy_has_secret(ctx.plan)
            if (await ctx.write_file(path, content, mode=0o600 if secret else 0o644)).changed:
                written.append(path)
        if written:
            done.append("wrote " + ", ".join(written))
            restart = True
        # what k8s-tui wrote earlier and the plan no longer asks for (checked again: only ours)
        removed = [p for p in st.get("unwanted", []) if await remove_owned(ctx, p)]
        for p in removed:
            if p.startswith(CERTS_D + "/"):  # the registry's folder, when nothing else is in it
                await ctx.run(["rmdir", "--ignore-fail-on-non-empty", "--", p.rsplit("/", 1)[0]], check=False)
        if removed:
            done.append("removed " + ", ".join(removed) + " (no longer in the plan)")
            restart = True
        if any(p.startswith("/etc/systemd/") for p in (*written, *removed)):
            await ctx.run(["systemctl", "daemon-reload"], hint="look at `systemctl status` on the host")
            if KUBELET_DROPIN in (*written, *removed):  # only when it runs: the packages step installs it later
                await ctx.run(["systemctl", "try-restart", "kubelet"], check=False)
        if restart:
            await ctx.run(["systemctl", "enable", "containerd"], check=False)
            await ctx.run(["systemctl", "restart", "containerd"], hint="look at `journalctl -u containerd` on the host")
            done.append("restarted containerd")
        return StepResult.changed("; ".join(done))

    async def verify(self, ctx: StepContext) -> None:
        st: dict = {}
        for _ in range(10):  # containerd takes a moment after a restart
            st = await self._state(ctx)
            if st["active"] or st["tool"] == "missing":
                break
            await asyncio.sleep(1)
        if st["tool"] == "missing":
            raise StepFailed("containerd is still not installed", "install it by hand, then retry")
        if st["tool"] == "unknown":
            ctx.log("the host did not report containerd's version; it is not verified")
        vt = version_tuple(parse_version(st["version"]))
        if vt is not None and vt < MIN_CONTAINERD:
            raise StepFailed(f"containerd {st['version']} is older than 1.6", "the distribution's containerd is too old: install containerd.io from Docker's repository")
        if st["problems"]:
            raise StepFailed(f"{CONTAINERD_CONFIG}: " + "; ".join(st["problems"]), "edit the file by hand, then retry")
        if not st["active"]:
            raise StepFailed("containerd is not running after the restart", "look at `journalctl -u containerd` on the host")
