"""Step 2: the hosts. A table; add, edit and remove through a form that checks as you type."""

from __future__ import annotations

import importlib.util

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Button, DataTable, Static

from ..model.hosts import Host
from ..model.plan import Tool
from ..widgets.dialogs import Confirm
from ..widgets.host_form import HostForm
from .base import WizardScreen
from .state import roles_text

# the import screen appears once this module exists (inventory, kubeasz hosts, ~/.ssh/config)
IMPORT_MODULE = "k8s_tui.backends.importers"


def import_available() -> bool:
    try:
        return importlib.util.find_spec(IMPORT_MODULE) is not None
    except ModuleNotFoundError:
        return False


class HostsScreen(WizardScreen):
    STEP = "hosts"
    TITLE = "2 Hosts"
    HELP_TEXT = (
        "The machines that become the cluster: where to SSH and what role each plays. At least one "
        "host needs the control-plane role. Nothing is connected to yet; no password is ever stored."
    )
    BINDINGS = [
        Binding("a,insert", "add", "Add", tooltip="add a host"),
        Binding("e,enter", "edit", "Edit", tooltip="edit the highlighted host"),
        Binding("d,delete", "remove", "Remove", tooltip="remove the highlighted host (asks first)"),
        Binding("i", "import_hosts", "Import", show=False, tooltip="import hosts from an inventory"),
    ]
    EXTRA_KEYS = [("up / down", "move between hosts")]

    def compose_body(self) -> ComposeResult:
        yield Static(id="hosts-note")
        table = DataTable(id="hosts-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="host-facts")
        with Horizontal(id="hosts-buttons"):
            yield Button("Add (a)", id="host-add", compact=True, variant="primary")
            yield Button("Edit (e)", id="host-edit", compact=True)
            yield Button("Remove (d)", id="host-remove", compact=True)

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        for key, label in [("name", "Name"), ("address", "Address"), ("port", "Port"), ("user", "User"), ("roles", "Roles"), ("kernel", "Kernel")]:
            t.add_column(label, key=key)
        self.refresh_from_state()
        t.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "import_hosts":
            return True if import_available() else None
        if action in ("edit", "remove") and not self.state.hosts:
            return None
        return True

    def current(self) -> Host | None:
        t = self.query_one(DataTable)
        if not self.state.hosts or t.row_count == 0:
            return None
        row = t.cursor_row
        names = self.state.host_names()
        return self.state.hosts[row] if 0 <= row < len(names) else None

    def refresh_from_state(self, select: str | None = None) -> None:
        t = self.query_one(DataTable)
        keep = select or (self.current().name if self.current() else None)
        t.clear()
        for h in self.state.hosts:
            probe = self.state.probes.get(h.name)
            kernel = probe.kernel if probe and probe.kernel else "-"
            t.add_row(h.name, h.address, str(h.port), h.user, roles_text(h), kernel, key=h.name)
        if keep and keep in self.state.host_names():
            t.move_cursor(row=self.state.host_names().index(keep))
        problem = self.state.hosts_problem()
        n = len(self.state.hosts)
        note = [(f"{n} host{'s' if n != 1 else ''}", "bold")]
        if self.state.tool is Tool.kops:
            note.append(("  kops creates its own machines: this list is kept but not used.", "$warning"))
        elif problem:
            note.append((f"  to do: {problem}", "bold $warning"))
        else:
            cps = sum(1 for h in self.state.hosts if h.is_control_plane)
            note.append(f"  {cps} control plane{'s' if cps != 1 else ''}")
        self.query_one("#hosts-note", Static).update(Content.assemble(*note))
        self.show_facts()
        self.refresh_bindings()

    def show_facts(self) -> None:
        h = self.current()
        box = self.query_one("#host-facts", Static)
        if h is None:
            box.update("No hosts yet. Press a to add one.")
            return
        p = self.state.probes.get(h.name)
        where = f"{h.user}@{h.address}:{h.port}" + (f" key {h.key_file}" if h.key_file else " (SSH agent)")
        if h.proxy_jump:
            where += f" via {h.proxy_jump}"
        if p is None:
            facts = "not probed yet"
        else:
            bits = [
                p.os or "OS ?",
                f"kernel {p.kernel or '?'}",
                f"{p.cpus} CPUs" if p.cpus else "CPUs ?",
                f"{p.memory_mb} MB RAM" if p.memory_mb else "RAM ?",
                f"swap {p.swap_mb} MB" if p.swap_mb is not None else "swap ?",
                p.runtime or "no container runtime",
            ]
            facts = ", ".join(bits)
        box.update(Content.assemble((h.name, "bold"), f": {where}\n  ", facts))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_facts()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"host-add": self.action_add, "host-edit": self.action_edit, "host-remove": self.action_remove}
        if event.button.id in actions:
            event.stop()
            actions[event.button.id]()

    def action_add(self) -> None:
        def done(host: Host | None) -> None:
            if host is not None:
                self.state.add_host(host)
                self.refresh_from_state(select=host.name)
                self.notify(f"added {host.name}")

        self.app.push_screen(HostForm(lambda data: self.state.check_host(data)), done)

    def action_edit(self) -> None:
        old = self.current()
        if old is None:
            self.action_add()
            return

        def done(host: Host | None) -> None:
            if host is not None:
                self.state.replace_host(old.name, host)
                self.refresh_from_state(select=host.name)
                self.notify(f"saved {host.name}")

        self.app.push_screen(HostForm(lambda data: self.state.check_host(data, replacing=old.name), old), done)

    def action_remove(self) -> None:
        h = self.current()
        if h is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.state.remove_host(h.name)
                self.refresh_from_state()
                self.notify(f"removed {h.name}")

        self.app.push_screen(Confirm(f"Remove host {h.name} ({h.address}) from the plan?"), done)

    def action_import_hosts(self) -> None:
        self.notify("importing hosts is not available yet", severity="warning")
