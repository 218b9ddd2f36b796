"""Modal dialogs: F1 help, a path prompt, a yes/no question."""

from __future__ import annotations

from pathlib import Path

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
    """(keys, what they do) for the screen: its own keys, then the wizard's, then the widget keys."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(keys: str, desc: str) -> None:
        if desc and keys not in seen:
            seen.add(keys)
            rows.append((keys, desc))

    for b in getattr(screen, "BINDINGS", []):
        if isinstance(b, Binding) and b.description and not b.system:
            add(_key_text(b.key), b.tooltip or b.description)
    for keys, desc in getattr(screen, "EXTRA_KEYS", []):
        add(keys, desc)
    for b in getattr(screen.app, "BINDINGS", []):
        if isinstance(b, Binding) and b.description and not b.system:
            add(_key_text(b.key), b.tooltip or b.description)
    add("ctrl+p", "command palette: every action by name")
    add("tab / shift+tab", "move between fields")
    return rows


class HelpScreen(ModalScreen[None]):
    """F1: the keys of the screen underneath, and what the step is for."""

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close help")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    HelpScreen VerticalScroll { height: auto; max-height: 1fr; }
    HelpScreen #help-close { margin-top: 1; }
    """

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.target = screen

    def compose(self) -> ComposeResult:
        title = getattr(self.target, "TITLE", None) or type(self.target).__name__
        about = getattr(self.target, "HELP_TEXT", "")
        rows = binding_rows(self.target)
        width = max((len(k) for k, _ in rows), default=8) + 2
        lines = [Content.styled(f"Help: {title}", "bold $accent")]
        if about:
            lines += [Content(about), Content("")]
        lines.append(Content.styled("Keys", "bold"))
        for keys, desc in rows:
            lines.append(Content.assemble((keys.ljust(width), "bold"), desc))
        with Vertical():
            with VerticalScroll():
                yield Static(Content("\n").join(lines), id="help-body")
            yield Button("Close (esc)", id="help-close", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)


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
