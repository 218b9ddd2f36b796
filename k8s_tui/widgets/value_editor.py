"""The edit box of the tuning table: the key, an Input, and what is wrong or right with the value
typed (the rules come from ``session.state.WizardState.check_edit``). It floats over the table
next to the row being edited (under it, or above it near the bottom), so the eye stays there."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, Static

from ..session.state import EditCheck, show
from .inputs import WizInput


class ValueEditor(Vertical):
    """The edit box: the key, an Input, and what is wrong or right with the value."""

    DEFAULT_CSS = """
    ValueEditor {
        height: auto; width: 100%; display: none; padding: 0 1;
        position: absolute; overlay: screen; constrain: none inside;
        background: $panel; border-top: hkey $accent; border-bottom: hkey $accent;
    }
    ValueEditor:ansi { background: ansi_blue; border-top: hkey ansi_bright_yellow; border-bottom: hkey ansi_bright_yellow; }
    ValueEditor.-open { display: block; }
    ValueEditor Horizontal { height: 1; }
    ValueEditor #edit-label { width: auto; text-style: bold; }
    ValueEditor #edit-input { width: 1fr; }
    ValueEditor #edit-msg { height: auto; }
    ValueEditor #edit-msg.-error { color: $text-error; }
    ValueEditor #edit-msg.-ok { color: $text-success; }
    """
    # Esc belongs to the box: it cancels the edit and goes no further (never a step back)
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False, tooltip="cancel the edit")]

    class Escape(Message):
        """Esc in the edit box: the screen stops a running Try it first, else closes the box."""

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

    def action_cancel(self) -> None:
        self.post_message(self.Escape())

    @property
    def is_open(self) -> bool:
        return self.key is not None

    def place_by_row(self, row_top: int, row_bottom: int, room: int) -> None:
        """Sit right under the row (rows counted from the top of the table's container), or right
        above it when there is no room below."""
        h = self.outer_size.height or 3
        y = row_bottom if row_bottom + h <= room or row_top < h else row_top - h
        self.styles.offset = (0, max(0, y))

    def show_check(self, chk: EditCheck) -> None:
        msg = self.query_one("#edit-msg", Static)
        lines: list[Content] = []
        if chk.errors:
            lines += [Content("rule: " + e) for e in chk.errors]
        for w in chk.warnings:
            lines.append(Content.styled("note: " + w, "$text-warning"))
        if not chk.errors:
            lines.insert(0, Content("ok: Enter keeps " + show(chk.value) + ", Esc cancels"))
        msg.update(Content("\n").join(lines))
        msg.set_class(bool(chk.errors), "-error")
        msg.set_class(not chk.errors, "-ok")
