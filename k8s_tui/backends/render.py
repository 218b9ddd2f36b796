"""Render a plan into the files each tool reads: ``k8s-tui render plan.yaml --tool T --out DIR``.

Every renderer is pure (plan in, ``RenderedFile`` list out) so golden tests compare text; only
``write_rendered`` touches the disk. The sysctl values a host gets are the same for every tool:
the plan's preset resolved for its kube-proxy mode, with the plan's own tuning on top.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ..knowledge import SysctlValue, format_value, load_catalogue
from ..model.plan import ClusterPlan, Tool
from ..yamlio import InputError, dump_yaml


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to the output directory, '/'-separated
    content: str
    mode: int = 0o644


@dataclass
class Rendered:
    tool: Tool
    files: list[RenderedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the user must know or fill in

    def get(self, path: str) -> RenderedFile:
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)


def plan_sysctls(plan: ClusterPlan) -> dict[str, SysctlValue]:
    """The values every host gets (as ``k8s-tui render-sysctl plan.yaml``): the plan's preset
    resolved for its kube-proxy mode, the plan's own tuning on top."""
    from ..model.presets import get_preset

    mode = plan.kube_proxy_mode.value
    if plan.preset:
        return dict(get_preset(plan.preset).resolve(mode).merged(plan.tuning).values)
    return dict(plan.tuning.values)


def sysctl_header(plan: ClusterPlan) -> list[str]:
    src = f"preset {plan.preset} + the plan's tuning" if plan.preset else "the plan's tuning"
    return [f"written by k8s-tui for cluster {plan.name}: {src}", f"kube-proxy mode: {plan.kube_proxy_mode.value}"]


def protected_keys(values: dict[str, SysctlValue]) -> list[str]:
    """Keys the kubelet checks with protectKernelDefaults (kubespray turns that on by default)."""
    cat = load_catalogue()
    return [k for k in values if k in cat and cat.get(k).protect_kernel_defaults]


def yaml_text(data, header: list[str] | None = None) -> str:
    head = "".join(f"# {h}\n" if h else "#\n" for h in (header or []))
    return head + dump_yaml(data)


def quoted(text: str) -> DoubleQuotedScalarString:
    """A string the YAML dumper writes in double quotes (a version like 1.30 must not become a float)."""
    return DoubleQuotedScalarString(str(text))


def sysctl_value_for_yaml(v: SysctlValue) -> int | str:
    return v if isinstance(v, int) else format_value(v)


# a value we put into an INI inventory or a shell script unquoted: nothing the shell or Ansible's
# shlex would split or expand
SAFE_WORD_RE = re.compile(r"^[A-Za-z0-9_.:/@,+=%~-]+$")


def ini_value(v: str) -> str:
    """A host-line value for an Ansible INI inventory (shlex-split there)."""
    s = str(v)
    if SAFE_WORD_RE.match(s):
        return s
    if "'" in s or "\n" in s:
        raise InputError(f"value {s!r} cannot be written into an INI inventory")
    return f"'{s}'"


def render(plan: ClusterPlan, tool: Tool | str) -> Rendered:
    tool = Tool(tool)
    if tool is Tool.kubespray:
        from . import kubespray as mod
    elif tool is Tool.kubeasz:
        from . import kubeasz as mod
    elif tool is Tool.kops:
        from . import kops as mod
    else:
        return render_kubeadm(plan)
    return mod.render(plan)


# ---------------------------------------------------------------------------------- kubeadm

# kernel modules a kubeadm node loads at boot (modules-load.d); the proxy mode adds its own
BASE_MODULES = ["overlay", "br_netfilter"]
PROXY_MODULES = {
    "ipvs": ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "nf_conntrack"],
    "nftables": ["nf_tables"],
    "iptables": [],
}
MODULES_FILE = "k8s-tui.conf"


def modules_for(plan: ClusterPlan) -> list[str]:
    mods = list(BASE_MODULES)
    for m in PROXY_MODULES.get(plan.kube_proxy_mode.value, []):
        if m not in mods:
            mods.append(m)
    return mods


def render_modules_conf(plan: ClusterPlan) -> str:
    lines = [
        f"# kernel modules for a Kubernetes node, written by k8s-tui for cluster {plan.name}",
        "# overlay: the container runtime's image layers; br_netfilter: bridge traffic through iptables",
    ]
    if plan.kube_proxy_mode.value == "ipvs":
        lines.append("# ip_vs*: kube-proxy in ipvs mode")
    elif plan.kube_proxy_mode.value == "nftables":
        lines.append("# nf_tables: kube-proxy in nftables mode")
    return "\n".join(lines + modules_for(plan)) + "\n"


def render_kubeadm(plan: ClusterPlan) -> Rendered:
    """The files ``k8s-tui apply`` lays on a kubeadm node, byte for byte where the host-prep steps
    are there: the sysctl file (kubeadm-minimum under the plan's values, as the kubeadm path
    applies), the modules-load file, and the first control plane's ``kubeadm init`` config."""
    out = Rendered(Tool.kubeadm)
    try:
        from ..hostprep.modules import MODULES_FILE as mod_path
        from ..hostprep.modules import modules_for as host_modules
        from ..hostprep.modules import render_modules_file
        from ..hostprep.sysctl import SysctlStep
        from ..hostprep.tuning_values import kubeadm_sysctl_values

        sysctl_text = SysctlStep(kubeadm_sysctl_values(plan), plan.sysctl_file).render(None, [])
        modules_text = render_modules_file(host_modules(plan))
        modules_path = mod_path.lstrip("/")
    except ImportError:  # the host-prep steps are not there: the same content, rendered here
        from ..hostprep.sysctl_conf import render_sysctl_conf

        sysctl_text = render_sysctl_conf(plan_sysctls(plan), header=sysctl_header(plan))
        modules_text = render_modules_conf(plan)
        modules_path = f"etc/modules-load.d/{MODULES_FILE}"
    out.files.append(RenderedFile(f"etc/sysctl.d/{plan.sysctl_file}", sysctl_text))
    out.files.append(RenderedFile(modules_path, modules_text))
    try:
        from .kubeadm.config import render_kubeadm_config
    except ImportError:  # the kubeadm config module is not there
        out.notes.append("kubeadm config: k8s_tui.backends.kubeadm.config is not available; not rendered")
        return out
    first = plan.first_control_plane()
    if first is None:
        out.notes.append("kubeadm config: the plan has no control-plane host; not rendered")
        return out
    out.files.append(RenderedFile(f"kubeadm/{first.name}-init.yaml", render_kubeadm_config(plan, first)))
    if len(plan.hosts) > 1:
        out.notes.append("kubeadm join configs need the token and CA hash `kubeadm init` prints; "
                         "k8s-tui apply writes them during the run")
    return out


def write_rendered(rendered: Rendered, out_dir: str | Path) -> list[Path]:
    """Write every file under out_dir (atomically each); returns the paths written."""
    base = Path(out_dir)
    written = []
    for f in rendered.files:
        rel = Path(f.path)
        if rel.is_absolute() or ".." in rel.parts:
            raise InputError(f"refusing to write {f.path!r} outside {base}")
        p = base / rel
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_name(f".{p.name}.tmp")
            tmp.write_text(f.content, encoding="utf-8")
            os.chmod(tmp, f.mode)
            tmp.replace(p)
        except OSError as e:
            raise InputError(f"cannot write {p}: {e.strerror or e}") from None
        written.append(p)
    return written
