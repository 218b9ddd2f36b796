"""Import hosts: pick the format, type the path (checked as it is typed), see what would change and
what the source says that the plan leaves out (file:line), then apply or cancel.

Nothing changes until Apply: the dialog hands the accepted preview back and the screen applies it.
A file the importer cannot read shows the importer's error, naming the file and line.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from ..session.hosts import DEFAULT_PATHS, IMPORT_KINDS, ImportPreview
from .inputs import WizInput
from .toggles import AsciiRadio

Previewer = Callable[[str, str, str], ImportPreview]  # (kind, path, only) -> preview
PathChecker = Callable[[str, str], "str | None"]  # (kind, path) -> problem

NOTICE_STYLE = {"secret": "bold $warning", "unknown": "$warning", "unmapped": "$warning", "skipped": "$warning",
                "comment": "$text-muted", "default": "", "info": ""}


def short_path(source: str) -> str:
    """A notice's file as the person typed it: relative to here, or with ~ for the home folder."""
    try:
        rel = os.path.relpath(source)
        if not rel.startswith(".."):
            return rel
    except ValueError:
        pass
    home = str(Path.home())
    return "~" + source[len(home):] if source.startswith(home + os.sep) else source


def wrap(head: Content, text: str, width: int, style: str = "", indent: int | None = None) -> list[Content]:
    """``head`` then ``text`` wrapped to ``width``; later lines indented by ``indent`` (default:
    under the text's start)."""
    first = max(10, width - head.cell_length)
    indent = head.cell_length if indent is None else indent
    words = textwrap.wrap(text, first, break_long_words=True, break_on_hyphens=False) or [""]
    rest = " ".join(words[1:])
    more = textwrap.wrap(rest, max(10, width - indent), break_long_words=True, break_on_hyphens=False) if rest else []
    out = [Content.assemble(head, (words[0], style))]
    out += [Content.assemble(" " * indent, (line, style)) for line in more]
    return out


def change_lines(text: str, width: int) -> list[Content]:
    for prefix, mark, style in (("host + ", "+", "bold $success"), ("host ~ ", "~", "bold $warning"), ("host - ", "-", "bold $error")):
        if text.startswith(prefix):
            return wrap(Content.assemble("  ", (mark, style), " "), text[len(prefix):], width)
    return wrap(Content("    "), text, width)


def is_host_change(text: str) -> bool:
    return text.startswith(("host + ", "host ~ ", "host - ", "hosts: "))


class ImportDialog(ModalScreen[ImportPreview | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "apply", "Apply"),
        Binding("f2", "next_kind", "Format"),
        Binding("pagedown", "scroll_preview(1)", "Scroll down", show=False),
        Binding("pageup", "scroll_preview(-1)", "Scroll up", show=False),
    ]

    DEFAULT_CSS = """
    ImportDialog { align: center middle; }
    ImportDialog > Vertical {
        width: 110; max-width: 100%; height: 100%; max-height: 36;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ImportDialog .row { height: 1; }
    ImportDialog .row Label { width: 8; }
    ImportDialog .row Input { width: 1fr; }
    ImportDialog #import-kind { layout: horizontal; width: 1fr; height: 1; background: transparent; }
    ImportDialog #import-kind RadioButton { width: auto; margin-right: 2; }
    ImportDialog #import-path-status { height: auto; padding-left: 8; }
    ImportDialog #import-path-status.-bad { color: $error; }
    ImportDialog #import-path-status.-good { color: $text-muted; }
    ImportDialog #import-only-row.-hidden { display: none; }
    ImportDialog #import-preview { height: 1fr; margin-top: 1; background: $boost; padding: 0 1; }
    ImportDialog #import-body { text-wrap: nowrap; }
    ImportDialog #import-status { height: auto; margin-top: 1; }
    ImportDialog #import-buttons { height: 1; margin-top: 1; }
    ImportDialog #import-buttons Button { margin-right: 2; }
    """

    def __init__(self, preview: Previewer, check_path: PathChecker, kind: str = "kubespray", path: str = "") -> None:
        super().__init__()
        self.preview_fn = preview
        self.check_path = check_path
        self.kind = kind if kind in {k for k, _, _ in IMPORT_KINDS} else "kubespray"
        self.initial_path = path or DEFAULT_PATHS.get(self.kind, "")
        self.preview: ImportPreview | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="import-title")
            with Horizontal(classes="row"):
                yield Label("Format")
                rs = RadioSet(id="import-kind")
                rs.compact = True
                with rs:
                    for kind, label, _ in IMPORT_KINDS:
                        yield AsciiRadio(label, kind == self.kind, id=f"k-{kind}")
            with Horizontal(classes="row"):
                yield Label("Path")
                yield WizInput(self.initial_path, id="import-path", compact=True)
            yield Static("", id="import-path-status")
            with Horizontal(classes="row", id="import-only-row"):
                yield Label("Only")
                yield WizInput("", placeholder="Host aliases to take, comma-separated (empty: every Host)",
                               id="import-only", compact=True)
            with VerticalScroll(id="import-preview"):
                yield Static("", id="import-body")
            yield Static("", id="import-status")
            with Horizontal(id="import-buttons"):
                yield Button("Apply (ctrl+s)", id="import-apply", compact=True, variant="primary", disabled=True)
                yield Button("Cancel (esc)", id="import-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#import-preview").can_focus = False
        self.query_one("#import-path", Input).focus()
        self.refresh_preview()

    # ---- as the person types ------------------------------------------------------------------

    def refresh_preview(self) -> None:
        path = self.query_one("#import-path", Input).value
        only = self.query_one("#import-only", Input).value
        self.query_one("#import-only-row").set_class(self.kind != "ssh-config", "-hidden")
        what = next(w for k, _, w in IMPORT_KINDS if k == self.kind)
        self.query_one("#import-title", Static).update(Content.assemble(("Import hosts", "bold $accent"), (f"  {what}", "$text-muted")))
        problem = self.check_path(self.kind, path)
        status = self.query_one("#import-path-status", Static)
        status.set_class(bool(problem), "-bad")
        status.set_class(not problem, "-good")
        body = self.query_one("#import-body", Static)
        self.preview = None
        if problem:
            status.update(problem)
            body.update(Content.styled("Nothing to show until the path is readable. The host list stays as it is.", "$text-muted"))
            self.set_status(None)
            return
        status.update("ok: readable   (F2: another format; PgUp/PgDn scroll the preview)")
        pv = self.preview_fn(self.kind, path, only)
        self.preview = pv
        body.update(self.render_preview(pv))
        self.set_status(pv)

    def render_preview(self, pv: ImportPreview) -> Content:
        box = self.query_one("#import-preview")
        # the text is wrapped here (to indent continuation lines); room is kept for the scrollbar
        width = (box.size.width or min(110, self.app.size.width) - 2) - 2 - 2
        lines: list[Content] = []
        if pv.error:
            lines.append(Content.styled("The importer cannot use this file:", "bold $error"))
            for line in pv.error.splitlines():
                lines += wrap(Content("  "), line, width, "$error")
            lines += wrap(Content(""), "Nothing is applied; the host list stays as it is. Fix the file, or pick another.", width)
            return Content("\n").join(lines)
        hosts = [c for c in pv.changes if is_host_change(c)]
        other = [c for c in pv.changes if not is_host_change(c)]
        lines.append(Content.assemble(("Hosts", "bold"), f"  {pv.counts()}"))
        for c in hosts:
            lines += change_lines(c, width)
        if not hosts:
            lines.append(Content.styled("    no change", "$text-muted"))
        if other:
            lines.append(Content.styled("Plan", "bold"))
            for c in other:
                lines += change_lines(c, width)
        if pv.notices:
            lines.append(Content.assemble(("Notices", "bold"), f"  {len(pv.notices)}: left out of the plan or assumed; nothing is lost silently"))
            for n in pv.notices:
                where = short_path(n.source) + (f":{n.line}" if n.line else "")
                head = Content.assemble("  ", (where, "bold"), " ", (n.kind, NOTICE_STYLE.get(n.kind, "")), " ")
                lines += wrap(head, n.message, width, indent=6)
        return Content("\n").join(lines)

    def on_resize(self) -> None:
        if self.preview is not None:
            self.call_after_refresh(lambda: self.query_one("#import-body", Static).update(self.render_preview(self.preview))
                                    if self.preview is not None else None)

    def set_status(self, pv: ImportPreview | None) -> None:
        status = self.query_one("#import-status", Static)
        apply = self.query_one("#import-apply", Button)
        if pv is None:
            status.update("")
            apply.disabled = True
        elif not pv.ok:
            status.update(Content.styled("error: nothing can be applied", "bold $error"))
            apply.disabled = True
        else:
            n = len(pv.plan.hosts) if pv.plan else 0
            status.update(Content.assemble(
                ("Apply", "bold"), f": {n} host{'s' if n != 1 else ''} in the plan after it. ", ("Cancel", "bold"),
                ": the list stays as it is."))
            apply.disabled = False

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.refresh_preview()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        old = self.kind
        self.kind = (event.pressed.id or "k-kubespray").removeprefix("k-")
        path = self.query_one("#import-path", Input)
        if path.value.strip() in ("", DEFAULT_PATHS.get(old, "")):
            with self.prevent(Input.Changed):
                path.value = DEFAULT_PATHS.get(self.kind, "")
        self.refresh_preview()

    # ---- answers ------------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "import-apply":
            self.action_apply()
        else:
            self.dismiss(None)

    def action_apply(self) -> None:
        if self.preview is not None and self.preview.ok:
            self.dismiss(self.preview)
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_scroll_preview(self, direction: int) -> None:
        box = self.query_one("#import-preview", VerticalScroll)
        if direction > 0:
            box.scroll_page_down(animate=False)
        else:
            box.scroll_page_up(animate=False)

    def action_next_kind(self) -> None:
        kinds = [k for k, _, _ in IMPORT_KINDS]
        self.select_kind(kinds[(kinds.index(self.kind) + 1) % len(kinds)])

    def select_kind(self, kind: str) -> None:
        """Pick a format (tests and the command palette)."""
        self.query_one(f"#k-{kind}", RadioButton).value = True
