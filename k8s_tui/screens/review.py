"""Step 4: review the plan per host (diff, files, steps), save plan.yaml, export everything."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, DataTable, Label, Select, Static, TabbedContent, TabPane

from ..yamlio import InputError
from ..widgets.dialogs import PathPrompt
from ..widgets.hostkey_dialog import ask_host_key, ask_secret
from ..widgets.network_form import NetworkForm
from ..session import network as net
from .base import WizardScreen

STATUS = {
    "change": ("~", "bold yellow"),
    "same": ("=", "dim"),
    "unknown": ("?", ""),
    "left out": ("!", "bold red"),
}


class ReviewScreen(WizardScreen):
    STEP = "review"
    TITLE = "4 Review"
    HELP_TEXT = (
        "What the run would do, per host: each sysctl now -> new (~ changes, = already so, ? not "
        "probed, ! left out because that host's kernel lacks the key), the exact file written, "
        "and the steps in order. Save the plan as YAML, or export the plan and every host's file "
        "to a folder."
    )
    BINDINGS = [
        Binding("r", "run", "Run", tooltip="run the plan on the hosts now (asks first; the demo is a dry run)"),
        Binding("s", "save", "Save plan", tooltip="save plan.yaml (asks for the path)"),
        Binding("x", "export", "Export", tooltip="export plan.yaml and each host's sysctl file to a folder"),
        Binding("h", "focus_host", "Host", tooltip="choose the host to review"),
        Binding("1", "tab('tab-diff')", "Changes", show=False, tooltip="show the changes (now -> new)"),
        Binding("2", "tab('tab-file')", "File", show=False, tooltip="show the sysctl file for the host"),
        Binding("3", "tab('tab-steps')", "Steps", show=False, tooltip="show the steps in order"),
        Binding("4", "tab('tab-plan')", "Plan", show=False, tooltip="show plan.yaml"),
        Binding("5", "tab('tab-network')", "Network", show=False,
                tooltip="mirrors, package repository, proxy, offline bundle; check reachability"),
        Binding("c", "check_network", "Check network",
                tooltip="each host tries the package repository, the image registry and every mirror (changes nothing)"),
    ]
    EXTRA_KEYS = [("left / right (on the tabs)", "switch between changes, file, steps and plan")]

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        if tab == "tab-network":  # off the host list (it takes letters): c and Enter check at once
            self.query_one("#net-check", Button).focus()

    def __init__(self) -> None:
        super().__init__()
        self.last_saved: Path | None = None
        self.host: str | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="review-top"):
            yield Label("Host", classes="top-label")
            yield Select([], allow_blank=True, compact=True, id="host-select", prompt="no hosts")
            yield Static(id="review-spacer")
            yield Button("Save plan (s)", id="save", compact=True, variant="primary")
            yield Button("Export (x)", id="export", compact=True)
            yield Button("Run (r)", id="run", compact=True, variant="warning")
        yield Static(id="review-summary")
        yield Static(id="review-problem")
        with TabbedContent(id="review-tabs"):
            with TabPane("1 Changes", id="tab-diff"):
                with Horizontal(id="diff-row"):
                    yield DataTable(id="diff-table", cursor_type="row", zebra_stripes=True)
                    with VerticalScroll(id="diff-file-scroll"):
                        yield Static(id="diff-file")
            with TabPane("2 sysctl file", id="tab-file"):
                with VerticalScroll():
                    yield Static(id="file-text")
            with TabPane("3 Steps", id="tab-steps"):
                with VerticalScroll():
                    yield Static(id="steps-text")
            with TabPane("4 plan.yaml", id="tab-plan"):
                with VerticalScroll():
                    yield Static(id="plan-text")
            with TabPane("5 Network", id="tab-network"):
                with VerticalScroll(id="network-scroll"):
                    yield NetworkForm(net.field_texts(self.state), net.PLACEHOLDERS,
                                      [(n, p.title) for n, p in self._network_presets().items()],
                                      check_modes=net.CHECK_MODES, check_mode=net.check_mode(self.state), id="network-form")

    def on_mount(self) -> None:
        t = self.query_one("#diff-table", DataTable)
        for key, label in [("st", ""), ("key", "Key"), ("change", "Now -> new"), ("note", "Note")]:
            t.add_column(label, key=key)
        self.refresh_from_state()

    def refresh_from_state(self) -> None:
        s = self.state
        names = s.host_names()
        sel = self.query_one("#host-select", Select)
        if self.host not in names:
            self.host = names[0] if names else None
        with self.prevent(Select.Changed):
            sel.set_options([(n, n) for n in names])
            if self.host:
                sel.value = self.host
        self.show_host()
        self.show_plan()

    def on_resize(self, event) -> None:
        # wide: the file beside the changes; narrow: the file has its own tab only
        self.query_one("#diff-file-scroll").display = self.size.width >= 110
        self.call_after_refresh(self.show_host)  # the table's width is known after the layout

    def _fit_columns(self, t: DataTable, rows) -> None:
        """Fixed widths so long values and notes wrap inside the table instead of running off
        its right edge (a cut tcp_rmem looked like a different value)."""
        room = (t.scrollable_content_region.width or self.size.width - 4) - 2 * t.cell_padding * 4 - 2
        key_w = min(max((len(r.key) for r in rows), default=10), 40)
        change_w = max((len(f"{r.now} -> {r.new}") for r in rows), default=10)
        change_w = max(16, min(change_w, (room - 2 - key_w) * 2 // 3))
        note_w = max(12, room - 2 - key_w - change_w)
        for key, width in (("st", 2), ("key", key_w), ("change", change_w), ("note", note_w)):
            column = t.columns[key]
            column.auto_width, column.width = False, width

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "host-select" and event.value is not Select.NULL:
            self.host = str(event.value)
            self.show_host()

    def show_host(self) -> None:
        s = self.state
        t = self.query_one("#diff-table", DataTable)
        t.clear()
        summary = self.query_one("#review-summary", Static)
        if self.host is None:
            summary.update("no hosts: add some in step 2")
            self.query_one("#file-text", Static).update("")
            return
        rows = s.host_diff(self.host)
        self._fit_columns(t, rows)
        counts = {k: 0 for k in STATUS}
        for r in rows:
            mark, style = STATUS[r.status]
            counts[r.status] += 1
            if r.status == "same":
                change = Text(r.now)
            elif r.status == "left out":
                change = Text(f"{r.now} (kept)", style="dim")
            else:
                change = Text.assemble(r.now, " -> ", (r.new, "bold"))
            t.add_row(Text(mark, style=style), Text(r.key, style=style if r.status != "same" else ""), change,
                      Text(r.note, style="dim"), key=r.key, height=None)
        probe = s.probes.get(self.host)
        kernel = f"kernel {probe.kernel}" if probe and probe.kernel else "not probed"
        summary.update(Content.assemble(
            (self.host, "bold"), f", {kernel}: ",
            (f"{counts['change']} to change", "bold $warning"),
            f", {counts['same']} same, {counts['unknown']} unknown, ",
            (f"{counts['left out']} left out", "bold $error" if counts["left out"] else ""),
        ))
        file_text = Content.assemble((s.sysctl_path() + "\n", "bold $accent"), s.sysctl_file(self.host))
        self.query_one("#file-text", Static).update(file_text)
        self.query_one("#diff-file", Static).update(file_text)

    def show_plan(self) -> None:
        """plan.yaml and the steps tab: both follow every edit (a network field adds or drops steps)."""
        steps = []
        for i, (sid, what) in enumerate(self.state.steps(), 1):
            steps.append(Content.assemble((f"{i}. {sid}", "bold"), f"  {what}"))
        self.query_one("#steps-text", Static).update(Content("\n").join(steps))
        problem = self.query_one("#review-problem", Static)
        try:
            plan = self.state.to_plan()
        except InputError as e:
            problem.update(Content.styled(f"The plan is not valid yet: {e}", "bold $error"))
            problem.display = True
            self.query_one("#plan-text", Static).update("")
            return
        problem.display = False
        self.query_one("#plan-text", Static).update(plan.to_yaml())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            event.stop()
            self.action_save()
        elif event.button.id == "export":
            event.stop()
            self.action_export()
        elif event.button.id == "run":
            event.stop()
            self.action_run()

    def action_run(self) -> None:
        from .run_start import confirm_run

        confirm_run(self.app)

    def action_focus_host(self) -> None:
        self.query_one("#host-select", Select).focus()

    def _check_plan(self) -> bool:
        try:
            self.state.to_plan()
        except InputError as e:
            self.notify(f"cannot save yet: {e}", severity="error", timeout=8)
            return False
        return True

    def action_save(self) -> None:
        if not self._check_plan():
            return
        default = str(self.last_saved or Path.cwd() / "plan.yaml")

        def done(path: Path | None) -> None:
            if path is None:
                return
            try:
                written = self.state.save(path)
            except (OSError, InputError) as e:
                self.notify(f"not saved: {e}", severity="error", timeout=8)
                return
            self.last_saved = written
            self.notify(f"saved {written}")

        self.app.push_screen(PathPrompt("Save the plan", default, explain="plan.yaml holds no secrets; `k8s-tui apply` runs it."), done)

    def action_export(self) -> None:
        if not self._check_plan():
            return
        default = str(Path.cwd() / f"{self.state.base.name}-export")

        def check(path: Path) -> str | None:
            if path.exists() and not path.is_dir():
                return f"{path} exists and is not a folder"
            return None

        def done(path: Path | None) -> None:
            if path is None:
                return
            try:
                written = self.state.export(path)
            except (OSError, InputError) as e:
                self.notify(f"not exported: {e}", severity="error", timeout=8)
                return
            self.notify(f"exported {len(written)} files to {path}")

        self.app.push_screen(PathPrompt("Export to a folder", default, explain="plan.yaml, and hosts/<name>/<sysctl file> per host.", check=check), done)

    # ---- the Network tab (session/network.py applies the values; the form shows them) ----------

    def _network_presets(self) -> dict:
        from ..model.network_presets import load_network_presets

        try:
            return load_network_presets()
        except InputError as e:
            self.notify(f"network presets not loaded: {e}", severity="error", timeout=8)
            return {}

    def on_network_form_field_changed(self, event: NetworkForm.FieldChanged) -> None:
        error = net.set_field(self.state, event.field, event.value)
        self.query_one(NetworkForm).show_error(event.field, error)
        if error is None:
            self.show_plan()

    def on_network_form_preset_pressed(self, event: NetworkForm.PresetPressed) -> None:
        preset = self._network_presets().get(event.preset)
        if preset is None:
            return
        lines = net.apply_network_preset(self.state, preset)
        form = self.query_one(NetworkForm)
        form.set_texts(net.field_texts(self.state))
        form.show_sources([f"Filled from '{preset.title}' (open each source before relying on a mirror):", *lines])
        self.show_plan()

    def on_network_form_check_pressed(self, event: NetworkForm.CheckPressed) -> None:
        self.action_check_network()

    def action_check_network(self) -> None:
        self.query_one(TabbedContent).active = "tab-network"
        table = self.query_one(NetworkForm).table
        try:
            plan = self.state.to_plan()
        except InputError as e:
            table.show_text(f"cannot check yet: {e}", "bold red")
            return
        if not plan.hosts:
            table.show_text("no hosts to check from: add them in step 2", "bold red")
            return
        table.show_text(f"checking from {len(plan.hosts)} hosts ...", "italic")
        self.run_worker(self._check_network(plan), group="reachability", exclusive=True, exit_on_error=False)

    async def _check_network(self, plan) -> None:
        from ..session.reachability import run_reachability

        table = self.query_one(NetworkForm).table
        prompts = SimpleNamespace(host_key=lambda info: ask_host_key(self.app, info),
                                  secret=lambda prompt: ask_secret(self.app, prompt))
        try:
            report = await run_reachability(self.app.executors(), plan, prompts)
        except (InputError, OSError, ValueError) as e:
            table.show_text(f"the check could not run: {e}", "bold red")
            return
        table.show_report(report)
        self.query_one("#network-scroll", VerticalScroll).scroll_to_widget(table, top=True)
