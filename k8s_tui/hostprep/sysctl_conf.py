"""Render the sysctl.d file a host gets, for that host's kernel.

Keys the kernel does not have (too new, or removed like tcp_tw_recycle in 4.12) are left out with
a comment saying why, because one unknown key makes `sysctl -p` report an error for the file.
"""

from __future__ import annotations

from ..knowledge import KernelVersion, format_value, load_catalogue
from ..knowledge.values import SysctlValue


def kernel_skip_reason(key: str, kernel: KernelVersion | None) -> str | None:
    if kernel is None:
        return None
    e = load_catalogue().get(key)
    if e.removed_in and kernel >= KernelVersion.parse(e.removed_in):
        return f"removed in kernel {e.removed_in}, this host runs {kernel}"
    if e.added_in and kernel < KernelVersion.parse(e.added_in):
        return f"added in kernel {e.added_in}, this host runs {kernel}"
    return None


def split_for_kernel(values: dict[str, SysctlValue], kernel: KernelVersion | None) -> tuple[dict[str, SysctlValue], dict[str, str]]:
    """(the values this kernel takes, key -> why the others were left out)."""
    keep: dict[str, SysctlValue] = {}
    skipped: dict[str, str] = {}
    for k, v in values.items():
        why = kernel_skip_reason(k, kernel)
        if why:
            skipped[k] = why
        else:
            keep[k] = v
    return keep, skipped


def render_sysctl_conf(
    values: dict[str, SysctlValue],
    *,
    kernel: KernelVersion | None = None,
    header: list[str] | None = None,
) -> str:
    keep, skipped = split_for_kernel(values, kernel)
    lines = [f"# {h}" if h else "#" for h in (header or [])]
    for k, v in keep.items():
        lines.append(f"{k} = {format_value(v)}")
    for k, why in skipped.items():
        lines.append(f"# {k} left out: {why}")
    return "\n".join(lines) + "\n"
