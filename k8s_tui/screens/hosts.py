"""Step 2: the hosts. A table; add, edit and remove through a form that checks as you type; import
them from an inventory; probe them all at once (live status per host, then each host's facts)."""

from __future__ import annotations

import importlib.util
from contextlib import contextmanager
from types import SimpleNamespace

from rich.text import Text

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Button, DataTable, Static
from textual.worker import Worker

from ..engine.executor import HostKeyInfo
from ..hostprep.facts import HostFacts
from ..model.hosts import Host
from ..model.plan import Tool
from ..widgets.dialogs import Confirm
from ..widgets.host_form import HostForm
from ..widgets.hostkey_dialog import ask_host_key, ask_secret
from ..widgets.import_dialog import ImportDialog
from ..widgets.probe_view import details, status_cell
from ..yamlio import InputError
from ..session import hosts as host_ops
from .base import WizardScreen
from ..session.hosts import CONNECTING, FAILED, ImportPreview, ProbeStatus
from ..session.state import roles_text

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
        "host needs the control-plane role. Import them from a kubespray inventory, a kubeasz hosts "
        "file or ~/.ssh/config. Probe connects to every host at once and reads its facts (OS, kernel, "
        "CPUs, memory, swap, runtime, current sysctls); it changes nothing. No password is ever stored."
    )
    BINDINGS = [
        Binding("a,insert", "add", "Add", tooltip="add a host"),
        Binding("e,enter", "edit", "Edit", tooltip="edit the highlighted host"),
        Binding("d,delete", "remove", "Remove", tooltip="remove the highlighted host (asks first)"),
        Binding("i", "import_hosts", "Import", tooltip="import hosts: kubespray inventory, kubeasz hosts, ~/.ssh/config"),
        Binding("p", "probe", "Probe", tooltip="connect to every host at once and read its facts (changes nothing)"),
    ]
    EXTRA_KEYS = [("up / down", "move between hosts")]

    DEFAULT_CSS = """
    HostsScreen #hosts-buttons Button { min-width: 0; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.probe_status: dict[str, ProbeStatus] = {}  # this session's probe, per host
        self._probe_worker: Worker | None = None
        self._ticker: Timer | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(id="hosts-note")
        table = DataTable(id="hosts-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="host-facts")
        with Horizontal(id="hosts-buttons"):
            yield Button("Add (a)", id="host-add", compact=True, variant="primary")
            yield Button("Edit (e)", id="host-edit", compact=True)
            yield Button("Remove (d)", id="host-remove", compact=True)
            yield Button("Import (i)", id="host-import", compact=True)
            yield Button("Probe (p)", id="host-probe", compact=True)

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        for key, label in COLUMNS:
            t.add_column(label, key=key)
        # room for a failed probe's error and hint (the stylesheet's 4 lines fit a host's facts)
        self.query_one("#host-facts", Static).styles.max_height = 6
        self.refresh_from_state()
        t.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "import_hosts":
            return True if import_available() else None
        if action in ("edit", "remove", "probe") and not self.state.hosts:
            return None
        if action == "probe" and self.probing:
            return False
        return True

    @property
    def probing(self) -> bool:
        return self._probe_worker is not None and not self._probe_worker.is_finished

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
        for col in t.columns.values():  # clear() keeps the widths of rows gone; measure afresh
            col.content_width = col.label.cell_len
        width = self.probe_width()
        for h in self.state.hosts:
            cell = status_cell(self.probe_status.get(h.name), self.state.probes.get(h.name), width)
            t.add_row(Text(h.name), Text(h.address), str(h.port), Text(h.user), roles_text(h), cell, key=h.name)
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
            box.update(details(None, None, None))
            return
        box.update(details(h, self.state.probes.get(h.name), self.probe_status.get(h.name), demo=self.state.demo))

    # ---- the probe column ------------------------------------------------------------------

    def probe_width(self) -> int | None:
        """Room left for the Probe column (its text is shortened to fit; the pane shows it all)."""
        t = self.query_one(DataTable)
        room = t.scrollable_content_region.width
        if room <= 0:
            return None
        hosts = self.state.hosts
        other = 0
        for key, label in COLUMNS[:-1]:
            cells = [len(label)] + [len(_cell(h, key)) for h in hosts]
            other += max(cells) + 2 * t.cell_padding
        return max(16, room - other - 2 * t.cell_padding)

    def update_status_cells(self) -> None:
        t = self.query_one(DataTable)
        width = self.probe_width()
        for h in self.state.hosts:
            try:
                t.update_cell(h.name, "probe", status_cell(self.probe_status.get(h.name), self.state.probes.get(h.name), width),
                              update_width=True)
            except Exception:  # the row went away meanwhile (removed, renamed)
                continue

    def on_resize(self) -> None:
        self.call_after_refresh(self.update_status_cells)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_facts()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"host-add": self.action_add, "host-edit": self.action_edit, "host-remove": self.action_remove,
                   "host-import": self.action_import_hosts, "host-probe": self.action_probe}
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
                status = self.probe_status.pop(old.name, None)
                if status is not None and (host.address, host.port) == (old.address, old.port):
                    self.probe_status[host.name] = status
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
                self.probe_status.pop(h.name, None)
                self.refresh_from_state()
                self.notify(f"removed {h.name}")

        self.app.push_screen(Confirm(f"Remove host {h.name} ({h.address}) from the plan?"), done)

    # ---- import -----------------------------------------------------------------------------

    def action_import_hosts(self) -> None:
        kind = {Tool.kubespray: "kubespray", Tool.kubeasz: "kubeasz"}.get(self.state.tool, "ssh-config")

        def preview(kind: str, path: str, only: str) -> ImportPreview:
            return host_ops.preview_import(self.state, kind, path, only)

        def done(pv: ImportPreview | None) -> None:
            if pv is None or pv.plan is None:
                return
            host_ops.apply_import(self.state, pv.plan)
            names = set(self.state.host_names())
            for name in [n for n in self.probe_status if n not in names or n in pv.changed]:
                del self.probe_status[name]
            self.refresh_from_state()
            self.notify(f"imported from {pv.path}: {pv.counts()}")

        self.app.push_screen(ImportDialog(preview, host_ops.path_problem, kind), done)

    # ---- probe ------------------------------------------------------------------------------

    def action_probe(self) -> None:
        if not self.state.hosts:
            self.notify("no hosts to probe yet: add or import them first", severity="warning")
            return
        if self.probing:
            self.notify("a probe is running; its results are coming in")
            return
        hosts = list(self.state.hosts)
        try:
            plan = self.state.to_plan()
        except InputError:
            plan = None  # the probe needs only the hosts
        factory = self.app.executors()
        try:
            executor = factory.make(plan, SimpleNamespace(host_key=self.ask_host_key, secret=self.ask_secret))
        except (InputError, OSError, ValueError) as e:  # a bad option, an unreadable file: say so, change nothing
            self.notify(f"cannot probe: {e}", severity="error")
            return
        for h in hosts:
            self.probe_status[h.name] = ProbeStatus()
        self._probe_worker = self.run_worker(self._probe(hosts, executor, factory.options.max_concurrent_hosts), group="probe", exclusive=True, exit_on_error=False)
        self._ticker = self.set_interval(0.25, self._tick)
        self.refresh_bindings()
        self.update_status_cells()
        self.show_facts()

    async def ask_host_key(self, info: HostKeyInfo) -> bool:
        with self._waiting(info.host, "host key"):
            return await ask_host_key(self.app, info)

    async def ask_secret(self, prompt: str) -> str | None:
        host = next((h.name for h in self.state.hosts if prompt.endswith((f"@{h.name}", f"@{h.address}"))), None)
        with self._waiting(host, "password"):
            return await ask_secret(self.app, prompt)

    @contextmanager
    def _waiting(self, host: str | None, what: str):
        st = self.probe_status.get(host) if host else None
        if st is not None and st.state == CONNECTING:
            st.waiting = what
            self.update_status_cells()
        try:
            yield
        finally:
            if st is not None:
                st.waiting = ""

    def _on_status(self, host: str, status: ProbeStatus, facts: HostFacts | None) -> None:
        if host not in self.state.host_names():
            return
        self.probe_status[host] = status
        if facts is not None:  # each host's facts as soon as it is done
            self.state.probes[host] = host_ops.probe_from_facts(facts, self.state.catalogue)
        self.update_status_cells()
        cur = self.current()
        if cur is not None and cur.name == host:
            self.show_facts()

    async def _probe(self, hosts: list[Host], executor, max_hosts: int) -> None:
        try:
            facts = await host_ops.run_probe(hosts, executor, self.state.catalogue.keys(), self._on_status, max_hosts=max_hosts)
        finally:
            if self._ticker is not None:
                self._ticker.stop()
                self._ticker = None
        names = set(self.state.host_names())
        failed = [n for n, st in self.probe_status.items() if st.state == FAILED and n in names]
        self.refresh_from_state()
        ok = len([n for n in facts if n in names])
        if failed:
            self.notify(f"probe: {ok} ok, {len(failed)} failed ({', '.join(failed)}); the pane shows why",
                        severity="warning", timeout=8)
        else:
            self.notify(f"probe: {ok} host{'s' if ok != 1 else ''} ok")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._probe_worker and event.worker.is_finished:
            for st in self.probe_status.values():
                if st.state == CONNECTING:  # cancelled or crashed before the host answered
                    st.state, st.kind = FAILED, "error"
                    st.message = str(event.worker.error) if event.worker.error else "the probe was stopped"
                    st.duration = st.elapsed()
            if event.worker.error is not None:
                self.notify(f"probe failed: {event.worker.error}", severity="error")
            self.refresh_bindings()
            self.update_status_cells()
            self.show_facts()

    def _tick(self) -> None:
        if any(st.state == CONNECTING for st in self.probe_status.values()):
            self.update_status_cells()
            cur = self.current()
            if cur is not None and (st := self.probe_status.get(cur.name)) is not None and st.state == CONNECTING:
                self.show_facts()


COLUMNS = [("name", "Name"), ("address", "Address"), ("port", "Port"), ("user", "User"), ("roles", "Roles"), ("probe", "Probe")]


def _cell(h: Host, key: str) -> str:
    return roles_text(h) if key == "roles" else str(getattr(h, key))
