"""Add or edit one host: every field checked as it is typed, the message naming field and rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from .inputs import WizInput
from .toggles import AsciiCheckbox

from ..model.hosts import Host, Role

FIELDS: list[tuple[str, str, str]] = [
    ("name", "Node name", "lower-case, like worker-1"),
    ("address", "Address", "IP or DNS name to SSH to"),
    ("port", "SSH port", "22"),
    ("user", "SSH user", "root"),
    ("key_file", "Key file", "~/.ssh/id_ed25519 (empty: agent)"),
    ("proxy_jump", "Jump host", "[user@]host[:port] (optional)"),
]
ROLES: list[tuple[Role, str]] = [(Role.control_plane, "control-plane"), (Role.worker, "worker"), (Role.etcd, "etcd")]

Checker = Callable[[dict[str, Any]], tuple[Host | None, dict[str, str]]]


class HostForm(ModalScreen[Host | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    DEFAULT_CSS = """
    HostForm { align: center middle; }
    HostForm > Vertical {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    HostForm .row { height: 1; }
    HostForm .row Label { width: 12; }
    HostForm .row Input { width: 1fr; }
    HostForm .field-error { color: $error; height: auto; padding-left: 12; display: none; }
    HostForm .field-error.-shown { display: block; }
    HostForm #roles { height: 1; margin-top: 1; }
    HostForm #roles Label { width: 12; }
    HostForm #roles Checkbox { margin-right: 2; }
    HostForm #form-buttons { height: 1; margin-top: 1; }
    HostForm #form-buttons Button { margin-right: 2; }
    HostForm #form-status { height: auto; color: $text-muted; }
    """

    def __init__(self, check: Checker, host: Host | None = None) -> None:
        super().__init__()
        self.check = check
        self.original = host
        self.touched: set[str] = set()
        self.result: Host | None = None

    def compose(self) -> ComposeResult:
        h = self.original
        title = f"Edit host {h.name}" if h else "Add a host"
        with Vertical():
            yield Static(Content.styled(title, "bold $accent"))
            for field, label, placeholder in FIELDS:
                value = ""
                if h is not None:
                    v = getattr(h, field)
                    value = "" if v is None else str(v)
                elif field == "port":
                    value = "22"
                elif field == "user":
                    value = "root"
                with Horizontal(classes="row"):
                    yield Label(label)
                    yield WizInput(value, placeholder=placeholder, id=f"f-{field}", compact=True)
                yield Static("", id=f"e-{field}", classes="field-error")
            with Horizontal(id="roles"):
                yield Label("Roles")
                for role, label in ROLES:
                    on = role in h.roles if h else role is Role.worker
                    yield AsciiCheckbox(label, on, id=f"r-{role.value}", compact=True)
            yield Static("", id="e-roles", classes="field-error")
            yield Static("", id="form-status")
            with Horizontal(id="form-buttons"):
                yield Button("Save (ctrl+s)", id="form-save", compact=True, variant="primary")
                yield Button("Cancel (esc)", id="form-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-name", Input).focus()
        self.validate(show_all=self.original is not None)

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field, _, _ in FIELDS:
            text = self.query_one(f"#f-{field}", Input).value.strip()
            if field == "port":
                out[field] = int(text) if text.isdigit() else text
            elif field in ("key_file", "proxy_jump"):
                out[field] = text or None
            else:
                out[field] = text
        out["roles"] = [r.value for r, _ in ROLES if self.query_one(f"#r-{r.value}", Checkbox).value]
        if self.original is not None and self.original.labels:
            out["labels"] = dict(self.original.labels)
        return out

    def validate(self, *, show_all: bool = False) -> Host | None:
        host, errors = self.check(self.data())
        for field in [f for f, _, _ in FIELDS] + ["roles"]:
            err = self.query_one(f"#e-{field}", Static)
            msg = errors.get(field, "")
            visible = bool(msg) and (show_all or field in self.touched)
            err.update(msg if visible else "")
            err.set_class(visible, "-shown")
        hidden = [f for f in errors if f not in self.touched and not show_all]
        status = self.query_one("#form-status", Static)
        if host is not None:
            status.update("ok: ready to save")
        elif hidden:
            status.update(f"still to fill in: {', '.join(hidden)}")
        else:
            status.update("")
        self.query_one("#form-save", Button).disabled = host is None
        self.result = host
        return host

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self.touched.add(event.input.id.removeprefix("f-"))
        self.validate()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.touched.add("roles")
        self.validate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "form-save":
            self.action_save()
        else:
            self.dismiss(None)

    def action_save(self) -> None:
        host = self.validate(show_all=True)
        if host is not None:
            self.dismiss(host)
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)
