"""Host facts: what a host is and has, read in one round trip before anything changes.

One ``sh -c SCRIPT`` (the script is fixed text; the sysctl keys the plan tunes come as positional
arguments) prints ``KEY=VALUE`` lines; ``parse_facts`` turns them into a ``HostFacts``. Anything
the script cannot read is simply absent (``None``), never an error: a host without
/sys/class/dmi has no product_uuid, a host without ``ss`` falls back to /proc/net/tcp.

The step stores the result in ``ctx.facts["facts"]`` (and the ``kernel``, ``kernel_release`` and
``hostname`` keys the sysctl step reads), and in a run-wide ``FactsStore`` so that preflight can
compare hosts with each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..engine.events import OutputLine
from ..engine.executor import CommandResult
from ..engine.steps import Step, StepContext, StepFailed, StepResult, quote_argv
from ..knowledge import KernelVersion

# keys of the kubeadm/k8s-tui files whose presence tells that a host is already a node
ADMIN_CONF = "/etc/kubernetes/admin.conf"
KUBELET_CONF = "/etc/kubernetes/kubelet.conf"
K8S_TUI_DIR = "/etc/kubernetes/k8s-tui"
INIT_CONFIG = f"{K8S_TUI_DIR}/kubeadm.yaml"
JOIN_CONFIG = f"{K8S_TUI_DIR}/join.yaml"
MARKER_FILES = (ADMIN_CONF, KUBELET_CONF, INIT_CONFIG, JOIN_CONFIG)

_SYSCTL_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_VERSION_RE = re.compile(r"v?(\d+\.\d+\.\d+)")
TOOLS = ("containerd", "kubeadm", "kubelet", "kubectl")

# the runtime and kube tool versions: part of the facts, and read again on their own by the
# runtime and packages steps
_VERSIONS_BLOCK = r"""ver() {
  name=$1; shift
  if command -v "$1" >/dev/null 2>&1; then
    printf '%s_version=%s\n' "$name" "$("$@" 2>&1 | head -n 1)"
  else
    printf 'missing=%s\n' "$name"
  fi
}
ver containerd containerd --version
ver kubeadm kubeadm version -o short
ver kubelet kubelet --version
ver kubectl kubectl version --client
"""

# Fixed text: no value is ever put into it. "$@" are sysctl keys (validated before).
FACTS_SCRIPT = r"""# k8s-tui facts: KEY=VALUE lines
export LC_ALL=C
if [ -r /etc/os-release ]; then
  while IFS= read -r l || [ -n "$l" ]; do
    case "$l" in ''|'#'*) ;; *) printf 'os.%s\n' "$l" ;; esac
  done < /etc/os-release
fi
printf 'kernel=%s\n' "$(uname -r)"
printf 'arch=%s\n' "$(uname -m)"
printf 'hostname=%s\n' "$(uname -n)"
printf 'cpus=%s\n' "$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)"
while read -r k v _; do [ "$k" = MemTotal: ] && printf 'mem_kb=%s\n' "$v"; done < /proc/meminfo
if [ -r /proc/swaps ]; then
  { read -r _; while read -r f t s _; do printf 'swap=%s %s %s\n' "$f" "$t" "$s"; done; } < /proc/swaps
fi
if [ -r /sys/class/dmi/id/product_uuid ]; then
  printf 'product_uuid=%s\n' "$(cat /sys/class/dmi/id/product_uuid 2>/dev/null)"
fi
for d in /sys/class/net/*; do
  [ -r "$d/address" ] || continue
  n=${d##*/}
  [ "$n" = lo ] || printf 'mac.%s=%s\n' "$n" "$(cat "$d/address" 2>/dev/null)"
done
for f in /etc/kubernetes/admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/k8s-tui/kubeadm.yaml /etc/kubernetes/k8s-tui/join.yaml; do
  [ -e "$f" ] && printf 'exists=%s\n' "$f"
done
printf 'kubelet_active=%s\n' "$(systemctl is-active kubelet 2>/dev/null | head -n 1)"
printf 'containerd_active=%s\n' "$(systemctl is-active containerd 2>/dev/null | head -n 1)"
""" + _VERSIONS_BLOCK + r"""for p in apt-get dnf yum zypper; do
  if command -v "$p" >/dev/null 2>&1; then printf 'pkgmgr=%s\n' "$p"; break; fi
done
if command -v ss >/dev/null 2>&1; then
  ss -Htlnp 2>/dev/null | while read -r _ _ _ local _ rest; do printf 'listen=%s %s\n' "$local" "$rest"; done
else
  for t in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$t" ] && { read -r _; while read -r _ local _ st _; do [ "$st" = 0A ] && printf 'listen_hex=%s\n' "$local"; done; } < "$t"
  done
fi
for k in "$@"; do
  if v=$(sysctl -n "$k" 2>/dev/null); then printf 'sysctl.%s=%s\n' "$k" "$v"; else printf 'sysctl_missing=%s\n' "$k"; fi
done
printf 'end=1\n'
"""

# the version lines on their own (the runtime and packages steps read them again)
VERSIONS_SCRIPT = r"""# k8s-tui versions: KEY=VALUE lines
export LC_ALL=C
""" + _VERSIONS_BLOCK + r"""printf 'end=1\n'
"""


def parse_version(text: str | None) -> str | None:
    """'1.33.0' from 'v1.33.0', 'Kubernetes v1.33.0', 'Client Version: v1.33.0',
    'containerd containerd.io 1.7.27 05044ec0...'; None when there is none."""
    if not text:
        return None
    m = _VERSION_RE.search(text)
    return m.group(1) if m else None


def version_tuple(v: str | None) -> tuple[int, ...] | None:
    if not v:
        return None
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        return None


_VIRTUAL_IFACE_RE = re.compile(
    r"^(veth|cni|flannel|cali|vxlan|kube-|docker|cilium|tunl|br-|virbr|dummy|tap|tun|lxc|genev|nodelocaldns|weave|vethwe|datapath)"
)


@dataclass
class HostFacts:
    host: str
    os_id: str = ""
    os_version: str = ""
    os_like: tuple[str, ...] = ()
    os_name: str = ""
    kernel_release: str = ""
    arch: str = ""
    hostname: str = ""
    cpus: int | None = None
    memory_mb: int | None = None
    swaps: list[str] = field(default_factory=list)  # "NAME TYPE SIZE_KB" of each active swap
    product_uuid: str | None = None
    macs: dict[str, str] = field(default_factory=dict)  # interface -> MAC
    existing: list[str] = field(default_factory=list)  # which MARKER_FILES exist
    kubelet_active: bool = False
    containerd_active: bool = False
    version_lines: dict[str, str] = field(default_factory=dict)  # tool -> first line it printed
    missing_tools: list[str] = field(default_factory=list)
    package_manager: str | None = None
    listening: dict[int, str] = field(default_factory=dict)  # TCP port -> process name ("" unknown)
    sysctls: dict[str, str] = field(default_factory=dict)
    sysctls_missing: list[str] = field(default_factory=list)
    complete: bool = False  # the script ran to its end

    @property
    def kernel(self) -> KernelVersion | None:
        try:
            return KernelVersion.parse(self.kernel_release)
        except ValueError:
            return None

    @property
    def family(self) -> str:
        """debian | rhel | other: which package tooling and repository layout the host takes."""
        ids = {self.os_id, *self.os_like}
        if ids & {"debian", "ubuntu"}:
            return "debian"
        if ids & {"rhel", "centos", "fedora", "rocky", "almalinux", "ol"}:
            return "rhel"
        if self.package_manager == "apt-get":
            return "debian"
        if self.package_manager in ("dnf", "yum"):
            return "rhel"
        return "other"

    def tool_state(self, tool: str) -> str:
        """present | missing | unknown (the host did not say: its output had no line for it)."""
        if tool in self.version_lines:
            return "present"
        if tool in self.missing_tools:
            return "missing"
        return "unknown"

    def version(self, tool: str) -> str | None:
        """The tool's x.y.z, or None (missing, or it printed no version)."""
        return parse_version(self.version_lines.get(tool))

    @property
    def has_cluster(self) -> bool:
        return ADMIN_CONF in self.existing or KUBELET_CONF in self.existing

    @property
    def made_by_us(self) -> bool:
        return INIT_CONFIG in self.existing or JOIN_CONFIG in self.existing

    def physical_macs(self) -> dict[str, str]:
        """MACs that must differ between nodes: not loopback, not the virtual devices Kubernetes,
        CNIs and container engines make (theirs may repeat or be random)."""
        return {
            i: m.lower() for i, m in self.macs.items()
            if m and not _VIRTUAL_IFACE_RE.match(i) and m.lower() not in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff")
        }

    def summary(self) -> str:
        parts = [
            f"{self.os_name or self.os_id or '?'}",
            f"kernel {self.kernel_release or '?'}",
            f"{self.cpus if self.cpus is not None else '?'} CPUs",
            f"{self.memory_mb if self.memory_mb is not None else '?'} MB",
        ]
        if self.swaps:
            parts.append(f"swap on ({len(self.swaps)})")
        tools = [f"{t} {self.version(t)}" for t in TOOLS if self.version(t)]
        if tools:
            parts.append(", ".join(tools))
        if self.has_cluster:
            parts.append("already a Kubernetes node" + (" (made by k8s-tui)" if self.made_by_us else ""))
        return "; ".join(parts)


def _unquote(v: str) -> str:
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        v = v[1:-1]
    return v


def _port_of(local: str) -> int | None:
    # 0.0.0.0:6443  [::]:10250  *:22  127.0.0.53%lo:53  [::ffff:1.2.3.4]:80
    _, sep, port = local.rpartition(":")
    if not sep or not port.isdigit():
        return None
    p = int(port)
    return p if 0 < p < 65536 else None


_PROC_RE = re.compile(r'users:\(\("([^"]+)"')


def parse_facts(host: str, text: str) -> HostFacts:
    """Robust against anything: unknown keys are ignored, bad numbers stay None."""
    f = HostFacts(host=host)
    os_rel: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        key, sep, val = line.partition("=")
        if not sep:
            continue
        if key.startswith("os."):
            os_rel[key[3:]] = _unquote(val)
        elif key == "kernel":
            f.kernel_release = val.strip()
        elif key == "arch":
            f.arch = val.strip()
        elif key == "hostname":
            f.hostname = val.strip()
        elif key == "cpus":
            f.cpus = int(val) if val.strip().isdigit() else None
        elif key == "mem_kb":
            f.memory_mb = int(val) // 1024 if val.strip().isdigit() else None
        elif key == "swap":
            if val.strip():
                f.swaps.append(val.strip())
        elif key == "product_uuid":
            v = val.strip()
            f.product_uuid = v or None
        elif key.startswith("mac."):
            f.macs[key[4:]] = val.strip()
        elif key == "exists":
            if val in MARKER_FILES and val not in f.existing:
                f.existing.append(val)
        elif key == "kubelet_active":
            f.kubelet_active = val.strip() == "active"
        elif key == "containerd_active":
            f.containerd_active = val.strip() == "active"
        elif key.endswith("_version") and key[: -len("_version")] in TOOLS:
            f.version_lines[key[: -len("_version")]] = val.strip()
        elif key == "missing":
            if val in TOOLS:
                f.missing_tools.append(val)
        elif key == "pkgmgr":
            f.package_manager = val.strip() or None
        elif key == "listen":
            local, _, rest = val.partition(" ")
            port = _port_of(local)
            if port is not None:
                m = _PROC_RE.search(rest)
                name = m.group(1) if m else ""
                if name or port not in f.listening:
                    f.listening[port] = name
        elif key == "listen_hex":
            _, _, hexport = val.strip().rpartition(":")
            try:
                f.listening.setdefault(int(hexport, 16), "")
            except ValueError:
                pass
        elif key.startswith("sysctl."):
            f.sysctls[key[7:]] = val
        elif key == "sysctl_missing":
            f.sysctls_missing.append(val.strip())
        elif key == "end":
            f.complete = True
    f.os_id = os_rel.get("ID", "").lower()
    f.os_version = os_rel.get("VERSION_ID", "")
    f.os_like = tuple(os_rel.get("ID_LIKE", "").lower().split())
    f.os_name = os_rel.get("PRETTY_NAME", "") or os_rel.get("NAME", "")
    return f


class FactsStore(dict):
    """host name -> HostFacts of this run: shared by the facts step and every step that compares
    hosts (preflight) or needs another host's facts (join)."""


async def run_script(ctx: StepContext, name: str, script: str, args: list[str] | None = None) -> CommandResult:
    """``sh -c SCRIPT k8s-tui-NAME ARGS...`` (never failing the step by itself); the log shows the
    command with the script abridged to its name, not its whole text."""
    argv = ["sh", "-c", script, f"k8s-tui-{name}", *(args or [])]
    ctx.bus.publish(OutputLine(ctx.host.name, ctx.step_id, "cmd", f"$ sh -c <k8s-tui {name} script> " + quote_argv(argv[3:])))
    return await ctx.run(argv, check=False, echo=False)


async def read_versions(ctx: StepContext) -> HostFacts:
    """containerd/kubeadm/kubelet/kubectl versions, read again (one round trip)."""
    res = await run_script(ctx, "versions", VERSIONS_SCRIPT)
    return parse_facts(ctx.host.name, res.stdout)


class FactsStep(Step):
    id = "facts"
    title = "Host facts"
    why = "Read what each host is and has (OS, kernel, CPUs, memory, swap, ports, versions, sysctls) before changing anything."
    always_run = True
    changes_host = False

    def __init__(self, sysctl_keys: list[str] | None = None, store: FactsStore | None = None):
        keys = list(dict.fromkeys(sysctl_keys or []))
        for k in keys:
            if not _SYSCTL_KEY_RE.match(k):
                raise ValueError(f"{k!r} is not a sysctl key")
        self.sysctl_keys = keys
        self.store = store if store is not None else FactsStore()

    async def apply(self, ctx: StepContext) -> StepResult:
        res = await run_script(ctx, "facts", FACTS_SCRIPT, self.sysctl_keys)
        ctx.log("read the host's facts (one script: /etc/os-release, uname, /proc, /sys, ss, tool versions, sysctls)")
        if not res.stdout.strip():
            raise StepFailed(
                f"the facts script printed nothing (exit status {res.exit_status}): {res.stderr.strip()[:300]}",
                "the host needs a POSIX sh with uname, cat and sysctl; look at the host's log",
            )
        f = parse_facts(ctx.host.name, res.stdout)
        if not f.complete:
            ctx.log("the facts script stopped before its end; some facts are unknown")
        ctx.facts["facts"] = f
        ctx.facts["kernel_release"] = f.kernel_release
        if f.kernel is not None:
            ctx.facts["kernel"] = f.kernel
        ctx.facts["hostname"] = f.hostname
        self.store[ctx.host.name] = f
        if f.hostname and f.hostname != ctx.host.name:
            ctx.log(f"the host calls itself {f.hostname!r}; its Kubernetes node name will be {ctx.host.name!r}")
        return StepResult.ok(f.summary())


def host_facts(ctx: StepContext) -> HostFacts | None:
    f = ctx.facts.get("facts")
    return f if isinstance(f, HostFacts) else None
