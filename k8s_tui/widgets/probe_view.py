"""How a probe shows on the hosts screen: the status cell of each host's row (live while it runs)
and the details pane of the highlighted host (its facts, or why its probe failed).

The state is spelled out in words ("ok", "FAILED", "connecting"), never only in colour.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from ..model.hosts import Host
from ..session.hosts import CONNECTING, FAILED, OK, ProbeStatus
from ..session.state import HostProbe


def size_text(mb: int) -> str:
    if mb < 1024:
        return f"{mb} MiB"
    gib = mb / 1024
    return f"{gib:.0f} GiB" if abs(gib - round(gib)) < 0.05 else f"{gib:.1f} GiB"


def swap_text(p: HostProbe) -> str:
    if p.swap_mb is None:
        return "?"
    return "off" if p.swap_mb == 0 else size_text(p.swap_mb)


def fact_parts(p: HostProbe) -> list[str]:
    """Kernel first (the tuning screen cares most), then OS, CPUs, memory, swap, runtime."""
    return [
        p.kernel or "kernel ?",
        p.os or "OS ?",
        f"{p.cpus} CPU" if p.cpus else "CPUs ?",
        size_text(p.memory_mb) if p.memory_mb else "memory ?",
        "swap " + ("off" if p.swap_mb == 0 else "?" if p.swap_mb is None else size_text(p.swap_mb)),
        p.runtime or "no runtime",
    ]


def fact_summary(p: HostProbe, width: int | None = None) -> str:
    """One line; with a width, the facts that fit (whole ones, ".." when some are left out)."""
    parts = fact_parts(p)
    text = ", ".join(parts)
    if width is None or len(text) <= width:
        return text
    out = parts[0]
    for part in parts[1:]:
        if len(out) + 2 + len(part) + 4 > width:
            break
        out += ", " + part
    return out + ", .." if len(out) + 4 <= width else out


def _fit(text: Text, width: int | None) -> Text:
    if width is None or width <= 0 or text.cell_len <= width:
        return text
    if width <= 2:
        return text[:width]
    cut = text[: width - 2]
    cut.append("..", style="dim")
    return cut


def status_cell(status: ProbeStatus | None, probe: HostProbe | None, width: int | None = None) -> Text:
    """The Probe column: not probed / connecting Ns / ok + facts / FAILED kind: message."""
    if status is None:
        if probe is None:
            t = Text("not probed", style="dim")
        else:
            t = Text(fact_summary(probe, width))
    elif status.state == CONNECTING:
        if status.waiting:
            t = Text.assemble(("waiting", "bold yellow"), f": {status.waiting}", (" (your answer)", "dim"))
        else:
            t = Text.assemble(("connecting", "bold yellow"), f" {status.elapsed():.1f}s")
    elif status.state == OK:
        t = Text.assemble(("ok", "bold green"), " ", fact_summary(probe, width - 3 if width else None) if probe else "")
    else:
        t = Text.assemble(("FAILED", "bold red"), " ", (status.kind, "bold"), ": ", status.message)
    t.no_wrap = True
    return _fit(t, width)


def _pair(label: str, value: str) -> list[tuple[str, str] | str]:
    return [(label + " ", "$text-muted"), (value, "bold"), "   "]


def details(host: Host | None, probe: HostProbe | None, status: ProbeStatus | None, *, demo: bool = False) -> Content:
    """The highlighted host: where we connect, then OS, kernel, CPUs, memory, swap, runtime;
    or the error of a failed probe (and the facts an earlier probe found, if any)."""
    if host is None:
        return Content("No hosts yet. Press a to add one, or i to import them.")
    where = f"{host.user}@{host.address}:{host.port}" + (f"  key {host.key_file}" if host.key_file else "  (SSH agent)")
    if host.proxy_jump:
        where += f"  via {host.proxy_jump}"
    if status is None:
        when = ("made-up demo facts" if demo else "from an earlier probe") if probe else "not probed yet: p probes"
        tail = Content.styled(f"({when})", "$text-muted")
    elif status.state == CONNECTING:
        tail = Content.assemble(("probing", "bold $warning"), f" {status.elapsed():.1f}s",
                                (f", waiting for your answer: {status.waiting}" if status.waiting else "", "bold"))
    elif status.state == OK:
        tail = Content.assemble(("probe ok", "bold $success"), f" in {status.elapsed():.1f}s")
    else:
        tail = Content.styled("probe FAILED", "bold $error")
    head = Content.assemble((host.name, "bold"), f"  {where}  ", tail)
    lines = [head]
    if status is not None and status.state == FAILED:
        lines.append(Content.assemble("  ", (status.kind, "bold $error"), ": ", status.message))
        hint = status.hint
        if status.kind == "hostkey-unknown" and "not accepted" in status.message:
            hint = "you refused this key; p probes again and asks again"
        if hint:
            lines.append(Content.assemble("  ", (hint, "$text-muted")))
        if probe is not None:
            lines.append(Content.assemble("  ", ("earlier: ", "$text-muted"), fact_summary(probe)))
        return Content("\n").join(lines)
    if probe is None:
        return Content("\n").join(lines)
    lines.append(Content.assemble("  ", *_pair("OS", probe.os or "?"), *_pair("kernel", probe.kernel or "?")))
    lines.append(Content.assemble(
        "  ",
        *_pair("CPUs", str(probe.cpus) if probe.cpus else "?"),
        *_pair("memory", size_text(probe.memory_mb) if probe.memory_mb else "?"),
        *_pair("swap", swap_text(probe)),
        *_pair("runtime", probe.runtime or "none found"),
    ))
    return Content("\n").join(lines)
