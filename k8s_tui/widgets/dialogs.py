"""Modal dialogs: F1 help, a path prompt, a yes/no question."""

from __future__ import annotations

import textwrap
from pathlib import Path

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.keys import format_key
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Static

from .inputs import WizInput


def _key_text(key: str) -> str:
    """ "slash,right_square_bracket" -> "/ / ]": what is printed on the key, not its name."""
    out = []
    for k in key.split(","):
        k = k.strip()
        *mods, base = k.split("+")
        char = format_key(base)
        shown = char if len(char) == 1 and char.isascii() and char.isprintable() else base
        out.append("+".join([*mods, shown]))
    return " / ".join(out)


def binding_rows(screen: Screen) -> list[tuple[str, str]]:
    """(keys, what they do) for the screen: its own keys, then the widget keys, then the wizard's.
    Keys doing the same thing share a row ("e / enter"); a binding that only names its own key
    ("up" for up) says nothing and is left out."""
    rows: dict[str, list[str]] = {}  # what it does -> keys, in order of first appearance

    def add(keys: str, desc: str) -> None:
        if not desc or desc.strip().lower() == keys.strip().lower():
            return
        have = rows.setdefault(desc, [])
        for k in keys.split(" / "):
            if k not in have:
                have.append(k)

    def add_bindings(bindings: object) -> None:
        for b in bindings if isinstance(bindings, list) else []:
            if isinstance(b, Binding) and b.description and not b.system:
                add(_key_text(b.key), b.tooltip or b.description)

    add_bindings(getattr(screen, "BINDINGS", []))
    for keys, desc in getattr(screen, "EXTRA_KEYS", []):
        add(keys, desc)
    add_bindings(getattr(screen.app, "BINDINGS", []))
    add("ctrl+p", "command palette: every action by name")
    add("tab / shift+tab", "move between fields")
    add("esc", "close the innermost thing: a dropdown, a filter, a dialog (never a step back)")
    return [(" / ".join(keys), desc) for desc, keys in rows.items()]


class HelpScreen(ModalScreen[None]):
    """F1 or ?: the keys of the screen underneath, and what the step is for. Scrolls when it does
    not fit (80x24); Esc, q, ? or F1 closes it."""

    BINDINGS = [
        Binding("escape,f1,q,question_mark", "dismiss", "Close help"),
        Binding("j,down", "scroll(1)", "Down", show=False),
        Binding("k,up", "scroll(-1)", "Up", show=False),
        Binding("pagedown,space", "scroll(10)", "Page down", show=False),
        Binding("pageup", "scroll(-10)", "Page up", show=False),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen #help-scroll {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
        border-subtitle-color: $text-muted;
    }
    """

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.target = screen

    def compose(self) -> ComposeResult:
        title = getattr(self.target, "TITLE", None) or type(self.target).__name__
        about = getattr(self.target, "HELP_TEXT", "")
        rows = binding_rows(self.target)
        width = min(max((len(k) for k, _ in rows), default=8), 16) + 2
        lines = []
        if about:
            lines += [Content(about), Content("")]
        lines.append(Content.styled("Keys", "bold"))
        for keys, desc in rows:
            # what a key does wraps beside its key (70: the box's inside at 80 columns)
            wrapped = textwrap.wrap(desc, max(70 - width, 20)) or [""]
            if len(keys) >= width:  # a long list of keys gets its own line
                lines.append(Content.styled(keys, "bold"))
                first = " " * width
            else:
                first = keys.ljust(width)
            lines.append(Content.assemble((first, "bold"), wrapped[0]))
            lines += [Content(" " * width + more) for more in wrapped[1:]]
        box = VerticalScroll(id="help-scroll")
        box.border_title = f"Help: {title}"
        box.border_subtitle = "j/k pgup/pgdn scroll  esc/q/? close"
        with box:
            yield Static(Content("\n").join(lines), id="help-body")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def on_click(self, event: events.Click) -> None:
        if event.widget is self:  # a click beside the box closes it, as Esc does
            self.dismiss(None)

    def action_scroll(self, lines: int) -> None:
        self.query_one("#help-scroll", VerticalScroll).scroll_relative(y=lines, animate=False)



class PathPrompt(ModalScreen[Path | None]):
    """Ask for a file or folder path; Enter accepts, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    PathPrompt { align: center middle; }
    PathPrompt > Vertical {
        width: 70; max-width: 100%; height: auto;
        border: round $accent; background: $surface; padding: 0 1;
    }
    PathPrompt #prompt-error { color: $error; height: auto; }
    PathPrompt Horizontal { height: 1; margin-top: 1; }
    PathPrompt Button { margin-right: 2; }
    """

    def __init__(self, title: str, default: str, *, explain: str = "", check=None) -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.explain = explain
        self.check = check  # path -> error message or None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.styled(self.title_text, "bold $accent"))
            if self.explain:
                yield Static(self.explain)
            yield WizInput(self.default, id="prompt-input", compact=True)
            yield Static("", id="prompt-error")
            with Horizontal():
                yield Button("OK (enter)", id="prompt-ok", compact=True, variant="primary")
                yield Button("Cancel (esc)", id="prompt-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _accept(self) -> None:
        text = self.query_one(Input).value.strip()
        err = None
        if not text:
            err = "a path is needed"
        elif self.check:
            err = self.check(Path(text).expanduser())
        if err:
            self.query_one("#prompt-error", Static).update(err)
            return
        self.dismiss(Path(text).expanduser())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._accept()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "prompt-ok":
            self._accept()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    BINDINGS = [Binding("escape,n", "answer(False)", "No"), Binding("y", "answer(True)", "Yes")]

    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical { width: 60; max-width: 100%; height: auto; border: round $warning; background: $surface; padding: 0 1; }
    Confirm Horizontal { height: 1; margin-top: 1; }
    Confirm Button { margin-right: 2; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            with Horizontal():
                yield Button("Yes (y)", id="yes", compact=True, variant="warning")
                yield Button("No (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
