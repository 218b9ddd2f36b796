"""The edit line under the tuning table: the key, an Input, and what is wrong or right with the
value typed (the rules come from ``session.state.WizardState.check_edit``)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Label, Static

from ..session.state import EditCheck, show
from .inputs import WizInput


class ValueEditor(Vertical):
    """The edit line under the table: the key, an Input, and what is wrong or right with the value."""

    DEFAULT_CSS = """
    ValueEditor { height: auto; display: none; background: $boost; padding: 0 1; }
    ValueEditor.-open { display: block; }
    ValueEditor Horizontal { height: 1; }
    ValueEditor #edit-label { width: auto; text-style: bold; }
    ValueEditor #edit-input { width: 1fr; }
    ValueEditor #edit-msg { height: auto; }
    ValueEditor #edit-msg.-error { color: $error; }
    ValueEditor #edit-msg.-ok { color: $success; }
    """

    key: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("", id="edit-label")
            yield WizInput(id="edit-input", compact=True)
        yield Static("", id="edit-msg")

    def open(self, key: str, text: str) -> None:
        self.key = key
        self.query_one("#edit-label", Label).update(f"{key} = ")
        inp = self.query_one(Input)
        inp.value = text
        inp.cursor_position = len(text)
        self.add_class("-open")
        inp.focus()

    def close(self) -> None:
        self.key = None
        self.remove_class("-open")

    @property
    def is_open(self) -> bool:
        return self.key is not None

    def show_check(self, chk: EditCheck) -> None:
        msg = self.query_one("#edit-msg", Static)
        lines: list[Content] = []
        if chk.errors:
            lines += [Content("rule: " + e) for e in chk.errors]
        for w in chk.warnings:
            lines.append(Content.styled("note: " + w, "$warning"))
        if not chk.errors:
            lines.insert(0, Content("ok: Enter keeps " + show(chk.value) + ", Esc cancels"))
        msg.update(Content("\n").join(lines))
        msg.set_class(bool(chk.errors), "-error")
        msg.set_class(not chk.errors, "-ok")
