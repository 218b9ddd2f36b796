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
    # lines for the message and the hint: a short terminal keeps 3 (the log below needs the room),
    # 4 when the error and its hint do not fit whole in 3 (cut, they leave the user guessing); a
    # tall one 5 (app.tcss caps the panel there) less the keys line
    hint = c.hint if c is not None else ""
    need_msg = wrapped_lines(msg, width, len(head))
    need_hint = wrapped_lines(hint, width, 6) if hint else 0
    room = 5 - (1 if m.active else 0) if tall else (3 if need_msg + need_hint <= 3 else 4)
    hint_lines = min(need_hint, max(2 if room >= 4 else 1, room - need_msg)) if hint else 0
    msg_lines = max(1, room - hint_lines)
    lines.append(Content.assemble((f"{what} {host}", "bold $error"), f" at {step}{attempt}: ",
                                  fit_lines(msg, width, msg_lines, len(head))))
    if c is not None and c.hint:
        lines.append(Content.assemble(("hint: ", "bold $warning"), fit_lines(c.hint, width, hint_lines, 6)))
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
                                "  (left/right: one step)")
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


def wrapped_lines(text: str, width: int, indent: int = 0) -> int:
    """How many lines ``text`` takes when wrapped at spaces to ``width`` after ``indent`` columns
    (a word longer than a line folds)."""
    lines, col = 1, indent
    for w in text.split():
        need = len(w) + (1 if col else 0)
        if col and col + need > width:
            lines, col, need = lines + 1, 0, len(w)
        while col + need > width:  # a word longer than the line folds
            lines, need = lines + 1, need - (width - col)
            col = 0
        col += need
    return lines


def fit_lines(text: str, width: int, lines: int, indent: int = 0) -> str:
    """``fit`` to what wraps into ``lines`` lines of ``width`` after ``indent`` columns."""
    n = len(text)
    out = fit(text, n)
    while n > 10 and wrapped_lines(out, width, indent) > lines:
        n -= max(1, width // 8)
        out = fit(text, n)
    if wrapped_lines(out, width, indent) > lines:  # its end is one word too long for the room: keep the start
        head: list[str] = []
        for w in text.split():
            if wrapped_lines(" ".join([*head, w, "..."]), width, indent) > lines:
                break
            head.append(w)
        out = " ".join([*head, "..."])
    return out


def fit(text: str, n: int) -> str:
    """At most about n characters, cut only between words: the first words and the last, the
    middle words left out and marked with " ... " (an error's useful part is often at its end;
    the whole text is in the log). A path or any other word is never cut: the panel wraps lines at
    spaces, and a word longer than a line is the only thing that folds."""
    words = text.split()
    if len(" ".join(words)) <= n:
        return " ".join(words)
    budget = max(10, n - 5)
    head: list[str] = []
    used = 0
    for w in words:  # about two fifths for the start
        if used + len(w) + (1 if head else 0) > budget * 2 // 5:
            break
        used += len(w) + (1 if head else 0)
        head.append(w)
    tail: list[str] = []
    for w in reversed(words[len(head):]):
        if used + len(w) + 1 > budget and tail:
            break
        used += len(w) + 1
        tail.insert(0, w)
    if len(head) + len(tail) >= len(words):
        return " ".join(words)
    return " ".join([*head, "...", *tail])
