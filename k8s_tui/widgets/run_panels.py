"""What the run screen's one-line status, failure panel and cell detail say: pure functions from
the run model (``engine.run_state.RunState``) to Textual ``Content``, so the screen only places
them."""

from __future__ import annotations

from time import monotonic

from textual.content import Content

from ..engine.run_state import RunState
from .host_grid import LEGEND, cell_text, fmt_duration


def waiting(m: RunState) -> bool:
    """The run waits at its end for a failed host (retry, skip, or n to finish)."""
    if not m.active or not m.failed_hosts():
        return False
    return all(m.host_state.get(h) in ("done", "failed", "lost", "skipped") for h in m.hosts)


def status_line(m: RunState, *, elapsed: str, error: str | None, cancelling: bool) -> Content:
    done, total = m.progress()
    failed = m.counts().get("failed", 0)
    parts: list[Content | str | tuple[str, str]] = [(f"{done}/{total}", "bold"), " steps"]
    if failed:
        parts.append(("  " + f"{failed} failed", "bold $error"))
    parts.append(f"  {elapsed}  ")
    if m.failures:
        broken = ", ".join(dict.fromkeys(f.name for f in m.failures))
        parts.append((f"{broken} broke: not all on disk  ", "bold $error"))
    if error:
        parts.append(("stopped: " + error, "bold $error"))
    elif cancelling and m.active:
        parts.append(("cancelling: stopping the running steps", "bold $warning"))
    elif m.status == "starting":
        parts.append("starting")
    elif m.active:
        if waiting(m):
            parts.append(("waiting: r retry, s skip, n finish", "bold $warning"))
        else:
            busy = sum(1 for h in m.hosts if m.host_state.get(h) == "running")
            parts.append(f"running on {busy} of {len(m.hosts)} hosts")
    else:
        style = "bold $success" if m.status == "finished" and not m.failed_hosts() else "bold $warning"
        parts.append((m.status, style))
    return Content.assemble(*parts)


def failure_panel(m: RunState, host: str | None, *, width: int, tall: bool) -> Content | None:
    """The failed host's error and hint (``host``: the one the panel talks about, None when
    several failed and none is selected); None when no host failed."""
    failed = m.failed_hosts()
    if not failed:
        return None
    lines: list[Content] = []
    if host is None:
        lines.append(Content.assemble((f"{len(failed)} hosts failed: ", "bold $error"), ", ".join(failed)))
        lines.append(Content("Select one in the grid (up/down) to see its error, then r retry or s skip it."))
        return Content("\n").join(lines)
    step = m.failed_step(host) or "?"
    c = m.cell(host, step)
    what = "LOST" if m.host_state.get(host) == "lost" else ("STOPPED" if c is not None and c.interrupted else "FAILED")
    attempt = f" (attempt {c.attempt})" if c is not None and c.attempt > 1 else ""
    msg = (c.message if c is not None else "") or m.lost.get(host, "")
    head = f"{what} {host} at {step}{attempt}: "
    width = max(20, width)
    lines.append(Content.assemble((f"{what} {host}", "bold $error"), f" at {step}{attempt}: ",
                                  fit(msg, 2 * width - len(head) - width // 5)))
    if c is not None and c.hint:
        lines.append(Content.assemble(("hint: ", "bold $warning"), fit(c.hint, 2 * width - 6 - width // 5)))
    more = f"  ({len(failed) - 1} other host(s) failed)" if len(failed) > 1 else ""
    if m.active and tall:
        lines.append(Content.assemble(("r", "bold $accent"), " retry  ", ("s", "bold $accent"), " skip this host  ",
                                      ("a", "bold $accent"), " abort  ", ("n", "bold $accent"), " finish" + more))
    return Content("\n").join(lines)


def cell_detail(m: RunState, host: str | None, step: str | None) -> Content:
    """The line under the grid: the legend, a host's progress, or one cell's status and message."""
    if host is None:
        return Content(LEGEND)
    if step is None:
        mine = [c for (h, _), c in m.cells.items() if h == host]
        finished = sum(1 for c in mine if c.status not in ("pending", "running"))
        return Content.assemble((host, "bold"), f": {m.host_state.get(host, '?')}, {finished} of {len(mine)} steps finished"
                                "  (left/right: a step's status and message)")
    col = m.step(step)
    c = m.cell(host, step)
    title = col.title if col else step
    if c is None:
        return Content.assemble((host, "bold"), f" / {title}: does not run on this host")
    text, _ = cell_text(c, monotonic())
    extra = f" {text.split(' ', 1)[1]}" if c.status not in ("pending", "skipped", "running") and " " in text else ""
    if c.status == "running":
        extra = f" for {fmt_duration(max(0.0, monotonic() - c.started))}"
        if c.attempt > 1:
            extra += f" (attempt {c.attempt})"
    msg = f": {c.message}" if c.message else (f": {col.why}" if col and c.status == "pending" else "")
    return Content.assemble((host, "bold"), f" / {title}: ", (str(c.status) + extra, "bold"), msg)


def fit(text: str, n: int) -> str:
    """At most n characters: the start and the end, the middle cut out and marked with " ... "
    (an error's useful part is often at its end; the whole text is in the log)."""
    text = " ".join(text.split())
    if len(text) <= n:
        return text
    n = max(10, n - 5)
    head = text[: n * 2 // 5]
    tail = text[len(text) - (n - len(head)):]
    if " " in head[len(head) // 2:]:  # cut between words where that costs little
        head = head[: head.rindex(" ")]
    if " " in tail[: len(tail) // 2]:
        tail = tail[tail.index(" ") + 1:]
    return head + " ... " + tail
