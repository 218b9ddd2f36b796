"""What a renderer returns, and the pieces every tool's renderer shares.

``render.py`` picks the renderer for a tool; ``kubespray.py``, ``kubeasz.py`` and ``kops.py`` build
their files from these, so they never import ``render.py`` back. The sysctl values a host gets are
the same for every tool: the plan's preset resolved for its kube-proxy mode, the plan's own tuning
on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
