"""The questions an SSH connection may ask while the wizard runs: trust a host key seen for the
first time (with its fingerprint), and a secret (a key passphrase, an SSH or sudo password).

Both answer the executor's prompt callables (``HostKeyPrompt``, ``SecretPrompt``): ``ask_host_key``
and ``ask_secret`` push the dialog and wait for the answer without blocking the UI.
"""

from __future__ import annotations

import asyncio
import contextvars

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ..engine.executor import HostKeyInfo
from .inputs import WizInput


class HostKeyDialog(ModalScreen[bool]):
    """Trust and remember this host key, or refuse it (the host then fails with hostkey-unknown)."""

    BINDINGS = [
        Binding("t", "answer(True)", "Trust and remember"),
        Binding("r,escape", "answer(False)", "Refuse"),
    ]

    DEFAULT_CSS = """
    HostKeyDialog { align: center middle; }
    HostKeyDialog > Vertical {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: round $warning; background: $surface; padding: 0 1;
    }
    HostKeyDialog #hk-facts { grid-size: 2; grid-columns: 13 1fr; grid-rows: 1; height: auto; margin: 1 0; }
    HostKeyDialog #hk-facts .label { color: $text-muted; }
    HostKeyDialog #hk-facts .value { text-style: bold; }
    HostKeyDialog #hk-buttons { height: 1; margin-top: 1; }
    HostKeyDialog Button { margin-right: 2; }
    """

    def __init__(self, info: HostKeyInfo) -> None:
        super().__init__()
        self.info = info

    def compose(self) -> ComposeResult:
        i = self.info
        with Vertical():
            yield Static(Content.styled("Unknown host key", "bold $warning"))
            yield Static(f"{i.host} presents a host key that is not in known_hosts. Trust it only if the "
                         "fingerprint matches the host's own.", id="hk-intro")
            with Grid(id="hk-facts"):
                for label, value in (("host", i.host), ("address", f"{i.address}:{i.port}"),
                                     ("key type", i.key_type), ("fingerprint", i.fingerprint)):
                    yield Static(label, classes="label")
                    yield Static(value, classes="value", id=f"hk-{label.replace(' ', '-')}")
            yield Static(Content.styled(
                f"On the host: ssh-keygen -lf /etc/ssh/ssh_host_{_short_type(i.key_type)}_key.pub", "$text-muted"),
                id="hk-how")
            with Horizontal(id="hk-buttons"):
                yield Button("Trust and remember (t)", id="hk-trust", compact=True, variant="warning")
                yield Button("Refuse (r)", id="hk-refuse", compact=True)

    def on_mount(self) -> None:
        self.query_one("#hk-refuse", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "hk-trust")

    def action_answer(self, trust: bool) -> None:
        self.dismiss(trust)


def _short_type(key_type: str) -> str:
    """ssh-ed25519 -> ed25519, ecdsa-sha2-nistp256 -> ecdsa, ssh-rsa / rsa-sha2-* -> rsa."""
    k = key_type.lower()
    for name in ("ed25519", "ecdsa", "rsa", "dsa"):
        if name in k:
            return name
    return k.removeprefix("ssh-") or "*"


class SecretDialog(ModalScreen[str | None]):
    """A passphrase or password, typed hidden; kept in memory only, never written anywhere."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    SecretDialog { align: center middle; }
    SecretDialog > Vertical {
        width: 70; max-width: 100%; height: auto;
        border: round $accent; background: $surface; padding: 0 1;
    }
    SecretDialog #secret-note { color: $text-muted; }
    SecretDialog #secret-row { height: 1; margin-top: 1; }
    SecretDialog #secret-row Label { width: 10; }
    SecretDialog #secret-row Input { width: 1fr; }
    SecretDialog #secret-buttons { height: 1; margin-top: 1; }
    SecretDialog Button { margin-right: 2; }
    """

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.styled(self.prompt, "bold $accent"))
            with Horizontal(id="secret-row"):
                yield Label("Password")
                yield WizInput("", password=True, placeholder="typed hidden", id="secret-input", compact=True)
            yield Static("Kept in memory for this session only; never written to disk.", id="secret-note")
            with Horizontal(id="secret-buttons"):
                yield Button("OK (enter)", id="secret-ok", compact=True, variant="primary")
                yield Button("Cancel (esc)", id="secret-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self.query_one(Input).value if event.button.id == "secret-ok" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


async def _ask(app: App, screen: ModalScreen, default, ui_loop: asyncio.AbstractEventLoop | None = None,
               ui_context: contextvars.Context | None = None):
    """Show ``screen`` and wait for its answer, from the UI's loop or from another (the engine's
    thread): the dialog is always pushed on the UI's loop, in the UI's context (Textual keeps the
    active app in a context variable, which the engine's thread does not have), and the answer
    comes back to the asker's loop."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future = loop.create_future()

    def done(answer) -> None:
        def settle() -> None:
            if not fut.done():
                fut.set_result(answer)

        if loop.is_closed():
            return
        loop.call_soon_threadsafe(settle)

    if ui_loop is None or ui_loop is loop:
        app.push_screen(screen, done)
    else:
        ctx = ui_context.copy() if ui_context is not None else None
        ui_loop.call_soon_threadsafe(app.push_screen, screen, done, context=ctx)
    try:
        return await fut
    except asyncio.CancelledError:
        def take_back() -> None:
            if app.screen is screen:  # a cancelled probe or run takes its question away
                screen.dismiss(default)

        if ui_loop is None or ui_loop is loop:
            take_back()
        elif not ui_loop.is_closed():
            ui_loop.call_soon_threadsafe(take_back, context=ui_context.copy() if ui_context is not None else None)
        raise


async def ask_host_key(app: App, info: HostKeyInfo, ui_loop: asyncio.AbstractEventLoop | None = None,
                       ui_context: contextvars.Context | None = None) -> bool:
    return bool(await _ask(app, HostKeyDialog(info), False, ui_loop, ui_context))


async def ask_secret(app: App, prompt: str, ui_loop: asyncio.AbstractEventLoop | None = None,
                     ui_context: contextvars.Context | None = None) -> str | None:
    return await _ask(app, SecretDialog(prompt), None, ui_loop, ui_context)


class TuiPrompts:
    """The session's ``Prompts`` answered by dialogs, asked from any thread. Make it on the UI's
    loop (it remembers that loop)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.ui_loop = asyncio.get_running_loop()
        self.ui_context = contextvars.copy_context()

    async def host_key(self, info: HostKeyInfo) -> bool:
        return await ask_host_key(self.app, info, self.ui_loop, self.ui_context)

    async def secret(self, prompt: str) -> str | None:
        return await ask_secret(self.app, prompt, self.ui_loop, self.ui_context)
