"""Render the sysctl.d file a host gets, for that host's kernel.

Keys the kernel does not have (too new, or removed like tcp_tw_recycle in 4.12) are left out with
a comment saying why, because one unknown key makes `sysctl -p` report an error for the file.

A removed key is never written unguarded: without a kernel version it is left out too. The "-"
prefix of sysctl.d(5) ("if a variable assignment is prefixed with a single "-" character, failure
to set the variable for any reason will be logged at debug level", systemd 252 man page) only
covers systemd-sysctl; procps `sysctl -p` (procps-ng 4.0.2, Debian 12) still fails with
"cannot stat /proc/sys/net/ipv4/tcp_tw_recycle" on such a line, so the prefix is no guard.
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


def removed_without_kernel(removed_in: str) -> str:
    return (
        f"removed in kernel {removed_in} and no kernel version was given; on {removed_in} and later"
        " this line makes sysctl -p fail (a leading '-' does not help sysctl -p)"
    )


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
    if kernel is None:  # a removed key is never written unguarded
        cat = load_catalogue()
        for k in [k for k in keep if k in cat and cat.get(k).removed_in]:
            del keep[k]
            skipped[k] = removed_without_kernel(cat.get(k).removed_in or "")
    lines = [f"# {h}" if h else "#" for h in (header or [])]
    for k, v in keep.items():
        lines.append(f"{k} = {format_value(v)}")
    for k, why in skipped.items():
        lines.append(f"# {k} left out: {why}")
    return "\n".join(lines) + "\n"
