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
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from ..engine.steps import Step, StepContext, StepFailed, StepResult
from .facts import host_facts, parse_version, read_versions, version_tuple

if TYPE_CHECKING:
    from ..model.plan import ClusterPlan

CONTAINERD_CONFIG = "/etc/containerd/config.toml"
MIN_CONTAINERD = (1, 6, 0)

# registry.k8s.io/pause tag kubeadm pins per Kubernetes minor (cmd/kubeadm/app/constants PauseVersion;
# checked against kubeadm's `config images list` per release)
PAUSE_VERSIONS: dict[int, str] = {
    23: "3.6", 24: "3.7", 25: "3.8", 26: "3.9", 27: "3.9", 28: "3.9", 29: "3.9", 30: "3.9",
    31: "3.10", 32: "3.10", 33: "3.10", 34: "3.10.1", 35: "3.10.1",
}


def pause_image(minor: int) -> str:
    known = sorted(PAUSE_VERSIONS)
    if minor in PAUSE_VERSIONS:
        tag = PAUSE_VERSIONS[minor]
    elif minor > known[-1]:
        tag = PAUSE_VERSIONS[known[-1]]  # newer than this table: the newest known (kubeadm warns if it moved)
    else:
        tag = PAUSE_VERSIONS[known[0]]
    return f"registry.k8s.io/pause:{tag}"


_SYSTEMD_RE = re.compile(r"^(\s*)SystemdCgroup\s*=\s*\S+", re.M)
_SANDBOX_V2_RE = re.compile(r"^(\s*)sandbox_image\s*=\s*\S.*$", re.M)  # config version 2 (containerd 1.x)
_SANDBOX_V3_RE = re.compile(r"^(\s*)sandbox\s*=\s*\S.*$", re.M)  # config version 3 (containerd 2.x pinned_images)
_DISABLED_CRI_RE = re.compile(r"^\s*disabled_plugins\s*=\s*\[[^\]]*[\"']cri[\"']", re.M)


def config_problems(text: str | None, image: str) -> list[str]:
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
    return out


def patch_config(text: str, image: str) -> str | None:
    """The config with SystemdCgroup = true and the sandbox image set; None when it has no place
    for them (then it is rebuilt from `containerd config default`)."""
    if _DISABLED_CRI_RE.search(text) or not _SYSTEMD_RE.search(text):
        return None
    out = _SYSTEMD_RE.sub(lambda m: f"{m.group(1)}SystemdCgroup = true", text)
    if _SANDBOX_V2_RE.search(out):
        out = _SANDBOX_V2_RE.sub(lambda m: f'{m.group(1)}sandbox_image = "{image}"', out)
    elif _SANDBOX_V3_RE.search(out):
        out = _SANDBOX_V3_RE.sub(lambda m: f"{m.group(1)}sandbox = '{image}'", out)
    else:
        return None
    return out


class RuntimeStep(Step):
    id = "runtime"
    title = "Container runtime (containerd)"
    why = "The kubelet runs pods through containerd: install it from the distribution, use the systemd cgroup driver and kubeadm's pause image."

    def image(self, plan: ClusterPlan | None) -> str:
        return pause_image(plan.k8s_minor if plan is not None else 33)

    async def _active(self, ctx: StepContext) -> bool:
        res = await ctx.run(["systemctl", "is-active", "containerd"], check=False)
        return res.stdout.strip().splitlines()[:1] == ["active"]

    async def _state(self, ctx: StepContext) -> dict:
        v = await read_versions(ctx)
        version = v.version("containerd")
        state = v.tool_state("containerd")
        current = await ctx.read_file(CONTAINERD_CONFIG)
        text = current.decode(errors="replace") if current is not None else None
        problems = config_problems(text, self.image(ctx.plan))
        active = await self._active(ctx) if state != "missing" else False
        return {"version": version, "tool": state, "text": text, "problems": problems, "active": active}

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
        if st["tool"] == "present" and not st["active"]:
            ctx.log("containerd is not running")
        if compatible and not st["problems"] and st["active"]:
            return StepResult.unchanged(f"containerd {st['version'] or ''} configured for Kubernetes and running".replace("  ", " "))
        return False

    async def _install(self, ctx: StepContext) -> None:
        f = host_facts(ctx)
        family = f.family if f is not None else "other"
        if family == "debian":
            await ctx.run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update", "-q"], timeout=600)
            await ctx.run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "containerd"], timeout=900,
                          hint="check the host's apt sources and its network; `apt-get install containerd` must work there")
        elif family == "rhel":
            pm = f.package_manager if f is not None and f.package_manager in ("dnf", "yum") else "dnf"
            await ctx.run([pm, "install", "-y", "containerd"], timeout=900,
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
        if st["problems"] or installed_now:
            new = patch_config(st["text"], image) if st["text"] else None
            if new is None:
                res = await ctx.run(["containerd", "config", "default"], echo=True)
                new = patch_config(res.stdout, image)
                if new is None:
                    raise StepFailed("`containerd config default` has no SystemdCgroup or sandbox image setting",
                                     f"write {CONTAINERD_CONFIG} by hand with SystemdCgroup = true and sandbox image {image}")
            await ctx.run(["mkdir", "-p", "/etc/containerd"])
            res = await ctx.write_file(CONTAINERD_CONFIG, new, mode=0o644)
            done.append(f"set SystemdCgroup = true and sandbox image {image} in {CONTAINERD_CONFIG}")
            restart = res.changed or installed_now or not st["active"]
        else:
            restart = not st["active"]
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
