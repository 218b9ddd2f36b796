"""Check boxes and radio buttons whose state shows in the characters, not only in colour:
"[x]" / "[ ]" and "(*)" / "( )", readable on a 16-colour console and in a screen reader."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class AsciiCheckbox(Checkbox):
    @property
    def _button(self) -> Content:
        style = "bold $text-success" if self.value else "bold"
        return Content.styled("[x]" if self.value else "[ ]", style)


class AsciiRadio(RadioButton):
    @property
    def _button(self) -> Content:
        style = "bold $text-success" if self.value else "bold"
        return Content.styled("(*)" if self.value else "( )", style)
