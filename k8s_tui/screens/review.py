"""Step 4: review the plan per host (diff, files, steps), save plan.yaml, export everything."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, DataTable, Label, Select, Static, TabbedContent, TabPane

from ..yamlio import InputError
from ..widgets.dialogs import PathPrompt
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
        Binding("escape", "app.prev_step", "Back", show=False, tooltip="back to tuning"),
    ]
    EXTRA_KEYS = [("left / right (on the tabs)", "switch between changes, file, steps and plan")]

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

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
            t.add_row(Text(mark, style=style), Text(r.key, style=style if r.status != "same" else ""), change, Text(r.note, style="dim"), key=r.key)
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
        steps = []
        for i, (sid, what) in enumerate(s.steps(), 1):
            steps.append(Content.assemble((f"{i}. {sid}", "bold"), f"  {what}"))
        self.query_one("#steps-text", Static).update(Content("\n").join(steps))

    def show_plan(self) -> None:
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
