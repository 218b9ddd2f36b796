"""The reachability check's result as a host x endpoint table (endpoints down, hosts across), then
each failure with its error and the hints. Text wraps, never cut: a Rich table with folding cells
in a Static."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ..hostprep.reachability import ReachabilityReport


def report_renderable(report: ReachabilityReport) -> Group:
    t = Table(show_edge=False, pad_edge=False, header_style="bold", expand=False)
    t.add_column("endpoint", overflow="fold", ratio=None)
    for h in report.hosts:
        t.add_column(h, overflow="fold", no_wrap=False)
    for ep in report.endpoints:
        cells = []
        for h in report.hosts:
            r = report.get(h, ep.name)
            cells.append(Text("-") if r is None else Text(r.cell(), style="green" if r.ok else "bold red"))
        t.add_row(Text(ep.name), *cells)
    parts: list = [Text(f"note: {n}", style="yellow") for n in report.notes]
    parts.append(t)
    parts.append(Text("\n".join(f"  {ep.name}: {ep.url}" for ep in report.endpoints), style="dim"))
    failed = report.failed()
    if failed:
        parts.append(Text(f"{len(failed)} of {len(report.results)} checks failed:", style="bold red"))
        parts += [Text(f"  {r.host} -> {r.endpoint}: {r.error}") for r in failed]
        parts += [Text(f"hint: {h}", style="bold") for h in report.hints()]
    else:
        parts.append(Text(f"every host reaches every endpoint ({len(report.results)} checks)", style="bold green"))
    return Group(*parts)


class ReachabilityTable(Static):
    """Shows a report (or a line saying what is going on)."""

    DEFAULT_CSS = "ReachabilityTable { height: auto; padding: 0 1; }"

    plain_text = ""  # what it shows, as plain text (tests, copy)

    def show_report(self, report: ReachabilityReport) -> None:
        from io import StringIO

        from rich.console import Console

        group = report_renderable(report)
        out = StringIO()
        Console(file=out, width=200, color_system=None).print(group)
        self.plain_text = out.getvalue()
        self.update(group)

    def show_text(self, text: str, style: str = "") -> None:
        self.plain_text = text
        self.update(Text(text, style=style))
