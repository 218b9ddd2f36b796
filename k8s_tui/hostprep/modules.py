"""Kernel modules a node needs, loaded now and at boot.

overlay (containerd's snapshotter), br_netfilter (bridged pod traffic through iptables),
nf_conntrack, and the ip_vs set when kube-proxy runs in ipvs mode.

A module counts as loaded when /sys/module/NAME exists, when the kernel lists it as built in
(/lib/modules/$(uname -r)/modules.builtin), or when what it provides is there (a built-in
br_netfilter has no /sys/module entry but has /proc/sys/net/bridge; overlay is in
/proc/filesystems; nf_conntrack has /proc/sys/net/netfilter/nf_conntrack_max; ip_vs has
/proc/net/ip_vs). The list is persisted in /etc/modules-load.d/k8s-tui.conf.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..engine.steps import Step, StepContext, StepFailed, StepResult
from .facts import run_script

if TYPE_CHECKING:
    from ..model.plan import ClusterPlan

MODULES_FILE = "/etc/modules-load.d/k8s-tui.conf"
BASE_MODULES = ("overlay", "br_netfilter", "nf_conntrack")
IPVS_MODULES = ("ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh")

# fixed text; module names (from the lists above, never from input) come as arguments
PROBE_SCRIPT = r"""# k8s-tui modules: NAME loaded|builtin|present|no
kr=$(uname -r)
for m in "$@"; do
  st=no
  if [ -e "/sys/module/$m" ]; then st=loaded
  elif [ -r "/lib/modules/$kr/modules.builtin" ] && grep -q "/$m\.ko" "/lib/modules/$kr/modules.builtin"; then st=builtin
  else
    case "$m" in
      br_netfilter) [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && st=present ;;
      overlay) grep -qw overlay /proc/filesystems 2>/dev/null && st=present ;;
      nf_conntrack) [ -e /proc/sys/net/netfilter/nf_conntrack_max ] && st=present ;;
      ip_vs) [ -e /proc/net/ip_vs ] && st=present ;;
    esac
  fi
  printf '%s %s\n' "$m" "$st"
done
"""


def modules_for(plan: ClusterPlan | None) -> list[str]:
    mods = list(BASE_MODULES)
    if plan is not None and plan.kube_proxy_mode.value == "ipvs":
        mods += IPVS_MODULES
    return mods


def render_modules_file(modules: list[str]) -> str:
    return "# Kernel modules a Kubernetes node needs, loaded at boot; written by k8s-tui.\n" + "".join(f"{m}\n" for m in modules)


def parse_probe(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for ln in text.splitlines():
        name, _, st = ln.strip().partition(" ")
        if name and st:
            out[name] = st
    return out


class ModulesStep(Step):
    id = "modules"
    title = "Kernel modules"
    why = "Load overlay, br_netfilter and nf_conntrack (and ip_vs for ipvs mode), which containerd and kube-proxy need, now and at boot."

    def __init__(self, modules: list[str] | None = None):
        self.fixed = list(modules) if modules is not None else None

    def modules(self, ctx: StepContext) -> list[str]:
        return self.fixed if self.fixed is not None else modules_for(ctx.plan)

    async def probe(self, ctx: StepContext, mods: list[str]) -> dict[str, str]:
        res = await run_script(ctx, "modules", PROBE_SCRIPT, mods)
        return parse_probe(res.stdout)

    async def check(self, ctx: StepContext) -> StepResult | bool:
        mods = self.modules(ctx)
        state = await self.probe(ctx, mods)
        missing = [m for m in mods if state.get(m, "no") == "no"]
        for m in mods:
            st = state.get(m, "no")
            ctx.log(f"{m}: " + {"loaded": "loaded", "builtin": "built into the kernel", "present": "built into the kernel (what it provides is there)",
                                "no": "not loaded"}.get(st, st))
        want = render_modules_file(mods)
        current = await ctx.read_file(MODULES_FILE)
        file_ok = current == want.encode()
        ctx.scratch.update(missing=missing, content=want, file_ok=file_ok, mods=mods)
        if not missing and file_ok:
            return StepResult.unchanged(f"{', '.join(mods)} loaded; {MODULES_FILE} up to date")
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        s = ctx.scratch
        failed = []
        for m in s["missing"]:
            res = await ctx.run(["modprobe", m], check=False)
            if not res.ok:
                failed.append(f"{m}: {(res.stderr.strip() or f'exit status {res.exit_status}').splitlines()[-1]}")
        if not s["file_ok"]:
            await ctx.write_file(MODULES_FILE, s["content"], mode=0o644)
        if failed:
            raise StepFailed(
                "cannot load " + "; ".join(failed),
                "install the kernel's extra modules (Ubuntu: linux-modules-extra-$(uname -r); RHEL family: "
                "kernel-modules-extra), or boot a kernel that has them",
            )
        parts = []
        if s["missing"]:
            parts.append(f"loaded {', '.join(s['missing'])}")
        if not s["file_ok"]:
            parts.append(f"wrote {MODULES_FILE}")
        return StepResult.changed("; ".join(parts))

    async def verify(self, ctx: StepContext) -> None:
        mods = ctx.scratch["mods"]
        state = await self.probe(ctx, mods)
        missing = [m for m in mods if state.get(m, "no") == "no"]
        if missing:
            raise StepFailed(f"still not loaded: {', '.join(missing)}", "look at `dmesg` on the host for why the kernel refused them")
        if await ctx.read_file(MODULES_FILE) != ctx.scratch["content"].encode():
            raise StepFailed(f"{MODULES_FILE} does not hold what was written", "something else rewrites it; find it")
