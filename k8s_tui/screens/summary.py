"""Step 6: the summary of a run. Per host its result and time; the join commands and when they
expire (when the run had kubeadm steps); the kubeconfig; where the logs and the journal are; what
to do next.

Everything shown comes from the run's ``RunFinished`` summary, the run screen's view model and the
run plan's shared kubeadm state (in memory only: the join token is a secret, so the commands are
masked until ``j`` reveals them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color, ColorParseError
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Footer, Static

from ..session.summary import cluster_info, left_out_text
from ..widgets.crumbs import CrumbLine
from ..widgets.host_grid import fmt_duration
from ..widgets.host_log import short_path
from .base import WizardScreen

if TYPE_CHECKING:
    from ..session.run_session import RunSession

RESULT_ROLE = {"ok": "ok", "changed": "changed", "unchanged": "ok", "failed": "failed", "lost": "failed",
               "interrupted": "failed", "incomplete": "failed", "skipped": "muted"}


class SummaryScreen(WizardScreen):
    STEP = ""
    TITLE = "6 Summary"
    HELP_TEXT = (
        "How the run ended on each host (steps that changed something, were already as wanted, failed, "
        "were skipped; the time), the join commands kubeadm made (masked: v shows them; the "
        "token is a secret that lets a machine join the cluster) and when they expire, the "
        "kubeconfig copied to this machine, where the logs and the journal are, and what to do next."
    )
    BINDINGS = [
        Binding("l", "back_to_run", "Run log", tooltip="back to the run screen and its logs"),
        Binding("enter", "show_log", "Host log", key_display="enter", tooltip="the log of the host selected in the table (tab reaches the table)"),
        Binding("v", "toggle_join", "Show join", tooltip="show or mask the join commands (they hold the token)"),
        Binding("b", "wizard", "Wizard", tooltip="back to the wizard (review) for another run"),
        Binding("t", "run_tool", "Run tool", tooltip="run the plan's own installer (kubespray, kubeasz, kops) from here, as run-tool does"),
    ]


    def __init__(self, session: RunSession, *, demo: bool = False) -> None:
        super().__init__()
        self.session = session
        self.model = session.model
        self.demo = demo
        self.log_dir = session.journal_dir
        self.reveal = False
        self.info = cluster_info(session)

    @property
    def result(self):
        return self.model.result

    def compose(self) -> ComposeResult:
        yield CrumbLine("summary", demo=self.demo, extra=f"run {self.session.run_id}", id="sum-crumbs")
        yield Static(id="sum-title")
        yield DataTable(id="sum-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="sum-scroll"):
            yield Static(id="sum-body")
        yield Footer(compact=True, show_command_palette=False)  # ? help lists ctrl+p; 80 columns need the room

    def on_mount(self) -> None:
        self.fill_table()
        self.query_one("#sum-title", Static).update(self.title_content())
        self.query_one("#sum-body", Static).update(self.body_content())
        # the text below the table is what to read first (and scroll at 80x24); tab reaches the
        # table, where enter opens a host's log
        self.query_one("#sum-scroll").focus()

    # -- content -----------------------------------------------------------------------------

    def _hosts(self) -> dict[str, dict[str, Any]]:
        r = self.result
        return dict(r.summary) if r is not None else {}

    def title_content(self) -> Content:
        r = self.result
        hosts = self._hosts()
        good = [h for h, s in hosts.items() if s.get("ok")]
        if r is None:
            return Content("the run has not finished")
        style = "bold $success" if r.status == "finished" and len(good) == len(hosts) else "bold $warning"
        verdict = (f"all {len(hosts)} hosts done" if len(good) == len(hosts)
                   else f"{len(good)} of {len(hosts)} hosts done")
        return Content.assemble((f"Run {r.run_id} {r.status}", style), f": {verdict}, in {fmt_duration(r.duration_s)}")

    def _styles(self) -> dict[str, Style]:
        v = self.app.get_css_variables()

        def st(name: str, fallback: str, **kw) -> Style:
            try:
                return Style(color=Color.parse(v.get(name, fallback)).rich_color, **kw)
            except ColorParseError:  # a theme without that variable: plain text, still readable
                return Style(**kw)

        return {"ok": st("text-success", "green"), "changed": st("text-accent", "yellow"),
                "failed": st("text-error", "red", bold=True), "muted": Style(dim=True)}

    def fill_table(self) -> None:
        t = self.query_one("#sum-table", DataTable)
        t.clear(columns=True)
        styles = self._styles()
        # steps per host: changed, already as wanted (or read-only and ok), failed, skipped
        for key, label in [("host", "Host"), ("result", "Result"), ("chg", "chg"), ("same", "same"),
                           ("fail", "fail"), ("skip", "skip"), ("time", "Time"), ("detail", "Detail")]:
            t.add_column(label, key=key)
        for host, s in self._hosts().items():
            c = s.get("counts", {})
            status = s.get("status", "?")
            detail = ""
            if s.get("failed_step"):
                detail = f"at {s['failed_step']}"
            elif status == "skipped":
                detail = "skipped by you: not in the cluster" if self.info.has_cluster_steps else "skipped by you"
            t.add_row(
                host,
                Text(status, style=styles.get(RESULT_ROLE.get(status, ""), Style())),
                str(c.get("changed", 0)),
                str(c.get("unchanged", 0) + c.get("ok", 0)),
                str(c.get("failed", 0)),
                str(c.get("skipped", 0)),
                fmt_duration(float(s.get("duration_s", 0.0))),
                Text(detail, no_wrap=True, overflow="ellipsis"),
                key=host,
            )

    def body_content(self) -> Content:
        r = self.result
        info = self.info
        lines: list[Content] = []

        def head(text: str) -> None:
            if lines:
                lines.append(Content(""))
            lines.append(Content.styled(text, "bold $accent"))

        problems = [(h, st) for h, st in self._hosts().items() if not st.get("ok")]
        if problems or self.model.failures or self.model.reason:
            head("Problems")
            if self.model.reason:
                lines.append(Content.assemble(("run stopped: ", "bold $error"), self.model.reason))
            for f in self.model.failures:
                lines.append(Content.assemble((f"the {f.name} broke: ", "bold $error"), f.error))
                if f.missing:
                    lines.append(Content.styled(f"  {f.missing}", "$text-muted"))
            for h, st in problems:
                status = st.get("status", "?")
                where = f" at {st['failed_step']}" if st.get("failed_step") else ""
                msg = st.get("message") or {"skipped": "skipped by you", "incomplete": "not every step ran"}.get(status, "")
                msg = msg.removeprefix(f"{status}: ")  # "interrupted: the run was cancelled"
                lines.append(Content.assemble((h, "bold"), " ", (status + where, "bold $error"), (": " + msg) if msg else ""))
                if st.get("hint"):
                    lines.append(Content.assemble("  ", ("hint: ", "bold $warning"), st["hint"]))
                if st.get("log"):
                    lines.append(Content.styled(f"  full log: {short_path(st['log'])}", "$text-muted"))

        head("Cluster")
        if not info.has_cluster_steps:
            lines.append(Content("no cluster steps in this run (host preparation only): no join commands, no kubeconfig"))
            if info.rest:
                lines.append(Content.assemble(("next: ", "bold $warning"), info.rest))
        else:
            if info.joins:
                for j in info.joins:
                    lines.append(Content.assemble((f"join {j.who}: ", "bold"), f"expires {j.expires}"))
                    lines.append(Content.assemble("  ", (j.command if self.reveal else j.masked, "$text")))
                lines.append(Content.styled("  (v shows or masks the token; run the command as root on the new machine)", "$text-muted"))
            else:
                lines.append(Content("no join commands: kubeadm init did not run to the end in this run"))
            if info.kubeconfig is not None:
                lines.append(Content.assemble(("kubeconfig: ", "bold"), short_path(info.kubeconfig), " (mode 0600)"))
                if info.note:
                    lines.append(Content.styled(f"  {info.note}", "$text-muted"))
            else:
                lines.append(Content.assemble(("kubeconfig: ", "bold"), "none" + (f" ({info.note})" if info.note else "")))
            if info.left_out:
                lines.append(Content.assemble(("not in the cluster: ", "bold $warning"), left_out_text(info.left_out)))

        head("Logs")
        if self.log_dir is not None:
            lines.append(Content.assemble(("run folder: ", "bold"), short_path(self.log_dir)))
            lines.append(Content.styled("  journal.jsonl: every event; hosts/<host>.log: each host's full output; "
                                        "summary.json: this table", "$text-muted"))
        else:
            lines.append(Content("this run kept no journal (nothing was written to disk)"))

        head("Next")
        rid = self.session.run_id
        env = ""
        suffix = ""
        if self.demo and self.log_dir is not None:
            env = f"K8S_TUI_STATE_DIR={short_path(self.log_dir.parent.parent)} "
            suffix = " --dry-run"

        def cmd(text: str, what: str) -> None:
            lines.append(Content.assemble(("$ ", "$text-muted"), (text, "bold")))
            lines.append(Content.styled(f"    {what}", "$text-muted"))

        all_ok = r is not None and r.status == "finished" and all(s.get("ok") for s in self._hosts().values())
        if self.info.kubeconfig is not None:
            cmd(f"KUBECONFIG={short_path(self.info.kubeconfig)} kubectl get nodes", "look at the cluster")
        if self.log_dir is not None:
            if not all_ok:
                cmd(f"{env}k8s-tui resume {rid}{suffix}", "run the plan again from each host's first unfinished step")
            cmd(f"{env}k8s-tui runs", "every run and how it ended")
            cmd(f"{env}k8s-tui rollback {rid}{suffix}", "put back what this run changed, from the backups it made on the hosts")
        if self.demo:
            lines.append(Content.styled("demo: the hosts are made up and nothing was changed; --dry-run keeps it that way", "$text-muted"))
        return Content("\n").join(lines)

    # -- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run_tool":  # only where the run left the install to the tool
            return self.info.rest is not None and self.session.plan.tool.value != "kubeadm"
        return True

    def action_run_tool(self) -> None:
        from .tool_run import open_tool_run

        open_tool_run(self.app)

    def action_toggle_join(self) -> None:
        if not self.info.joins:
            self.notify("no join commands in this run")
            return
        self.reveal = not self.reveal
        self.query_one("#sum-body", Static).update(self.body_content())

    def action_back_to_run(self) -> None:
        self.app.pop_screen()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show_log()

    def action_show_log(self) -> None:
        t = self.query_one("#sum-table", DataTable)
        host = None
        if t.row_count:
            host = str(t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value)
        self.app.pop_screen()
        run = self.app.screen
        if host is not None and hasattr(run, "pane_ids") and host in run.pane_ids:
            run.tabs.active = run.pane_ids[host]

    def action_wizard(self) -> None:
        """Leave the run behind: back to the wizard's review step."""
        self.app.pop_screen()
        if getattr(self.app.screen, "session", None) is self.session:  # the run screen under it
            self.app.pop_screen()
