"""The Review step's Network section: image repository, package repository, registry mirrors, the
proxy and an offline bundle as text fields, each with its error line under it; a preset button;
the reachability check's mode (warn, strict, off), its button and table. The form only shows and reports: typing posts
``FieldChanged``, the buttons post ``PresetPressed`` / ``CheckPressed``; the screen applies them
through the session (session/network.py) and tells the form what came of it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static

from .inputs import WizInput
from .reachability_table import ReachabilityTable

LABELS = {
    "image_repository": "image_repository",
    "package_repository": "package_repository",
    "registry_mirrors": "registry_mirrors",
    "proxy.http": "proxy.http",
    "proxy.https": "proxy.https",
    "proxy.no_proxy": "proxy.no_proxy",
    "offline_bundle": "offline_bundle",
}


def _id(field: str) -> str:
    return "net-" + field.replace(".", "-").replace("_", "-")


class NetworkForm(Vertical):
    DEFAULT_CSS = """
    NetworkForm { height: auto; padding: 0 1; }
    NetworkForm .net-row { height: auto; }
    NetworkForm .net-label { width: 20; padding: 0 1 0 0; }
    NetworkForm .net-input { width: 1fr; }
    NetworkForm #net-network-check { width: 1fr; }
    NetworkForm .net-error { height: auto; padding: 0 0 0 20; color: $error; }
    NetworkForm #net-buttons { height: auto; margin: 1 0 0 0; }
    NetworkForm #net-buttons Button { margin-right: 1; }
    NetworkForm #net-sources { height: auto; }
    NetworkForm #net-intro { height: auto; }
    """

    class FieldChanged(Message):
        def __init__(self, field: str, value: str) -> None:
            super().__init__()
            self.field = field
            self.value = value

    class PresetPressed(Message):
        def __init__(self, preset: str) -> None:
            super().__init__()
            self.preset = preset

    class CheckPressed(Message):
        pass

    def __init__(self, texts: dict[str, str], placeholders: dict[str, str], presets: list[tuple[str, str]],
                 check_modes: tuple[tuple[str, str], ...] = (), check_mode: str = "warn", **kw) -> None:
        super().__init__(**kw)
        self._check_modes = check_modes  # (value, label)
        self._check_mode = check_mode
        self._texts = texts
        self._placeholders = placeholders
        self._presets = presets  # (name, title)

    def compose(self) -> ComposeResult:
        yield Static(Text("Where the hosts get packages and images. Empty fields: pkgs.k8s.io and registry.k8s.io, "
                          "no proxy. Each value is checked as you type and saved with the plan.", style="dim"),
                     id="net-intro")
        for field, label in LABELS.items():
            with Horizontal(classes="net-row"):
                yield Label(label, classes="net-label")
                yield WizInput(self._texts.get(field, ""), placeholder=self._placeholders.get(field, ""),
                               id=_id(field), classes="net-input", compact=True)
            err = Static("", id=_id(field) + "-error", classes="net-error")
            err.display = False
            yield err
        if self._check_modes:
            with Horizontal(classes="net-row"):
                yield Label("network_check", classes="net-label")
                yield Select([(label, value) for value, label in self._check_modes], value=self._check_mode,
                             allow_blank=False, compact=True, id="net-network-check")
            err = Static("", id="net-network-check-error", classes="net-error")
            err.display = False
            yield err
        with Horizontal(id="net-buttons"):
            for name, title in self._presets:
                yield Button(title, id=f"net-preset-{name}", compact=True)
            yield Button("Check reachability (c)", id="net-check", compact=True, variant="primary")
        yield Static("", id="net-sources")
        yield ReachabilityTable("", id="net-reach")

    def on_input_changed(self, event: Input.Changed) -> None:
        field = next((f for f in LABELS if _id(f) == event.input.id), None)
        if field is not None:
            event.stop()
            self.post_message(self.FieldChanged(field, event.value))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "net-network-check" and event.value is not Select.NULL:
            event.stop()
            self.post_message(self.FieldChanged("network_check", str(event.value)))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid == "net-check":
            event.stop()
            self.post_message(self.CheckPressed())
        elif bid.startswith("net-preset-"):
            event.stop()
            self.post_message(self.PresetPressed(bid.removeprefix("net-preset-")))

    def show_error(self, field: str, message: str | None) -> None:
        err = self.query_one(f"#{_id(field)}-error", Static)
        err.update(Text(message or ""))
        err.display = bool(message)

    def set_texts(self, texts: dict[str, str]) -> None:
        """Put values in the fields (a preset filled them), without reporting them as typed."""
        for field, value in texts.items():
            inp = self.query_one(f"#{_id(field)}", Input)
            if inp.value != value:
                with inp.prevent(Input.Changed):
                    inp.value = value
            self.show_error(field, None)

    def show_sources(self, lines: list[str]) -> None:
        self.query_one("#net-sources", Static).update(Text("\n".join(lines), style="dim"))

    @property
    def table(self) -> ReachabilityTable:
        return self.query_one("#net-reach", ReachabilityTable)
