"""One truth, as a person sees it: the host form refuses a bad address inline and keeps the text;
the run-start dialog says what a kubespray run leaves to `run-tool`; skipping a host that failed
its join lets verify pass, and the summary says the host is not in the cluster and where the
kubeconfig is."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from k8s_tui.app import make_app
from k8s_tui.screens.themes import DEFAULT
from k8s_tui.screens.tool_run import ToolRunScreen, open_tool_run
from k8s_tui.session.demo import demo_plan
from k8s_tui.session.state import WizardState

from k8s_tui.engine.faults import Fault, FaultPlan
from k8s_tui.model.plan import Tool
from k8s_tui.screens.summary import SummaryScreen
from k8s_tui.widgets.dialogs import Confirm
from k8s_tui.widgets.host_form import HostForm
from test_run_screen import open_run, record, wait_for
from tui_helpers import demo_app, settle


def text_of(widget: Static) -> str:
    return str(widget.render())


async def test_the_host_form_refuses_a_bad_address_inline_and_keeps_what_was_typed():
    app = demo_app(start="hosts")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        n = len(app.state.hosts)
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, HostForm)
        await pilot.press(*"db-1")
        form.query_one("#f-address", Input).focus()
        await pilot.press(*"1.2.3.999")
        await settle(pilot)
        err = text_of(form.query_one("#e-address", Static))
        assert err.startswith("address: '1.2.3.999' is not a valid IPv4 address"), err
        assert "host name" in err
        assert form.query_one("#e-address").display and form.query_one("#form-save").disabled
        await pilot.press("ctrl+s")  # refused: the form stays, with what was typed
        await settle(pilot)
        assert app.screen is form and len(app.state.hosts) == n
        assert form.query_one("#f-address", Input).value == "1.2.3.999"
        assert form.query_one("#f-name", Input).value == "db-1"
        await pilot.press("backspace", "backspace", "backspace", *"99")
        await settle(pilot)
        assert text_of(form.query_one("#e-address", Static)) == ""
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, HostForm)
        assert app.state.hosts[-1].address == "1.2.3.99"


async def test_run_start_says_kubespray_itself_runs_from_run_tool():
    app = demo_app(start="review")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.state.set_tool(Tool.kubespray)
        await pilot.press("r")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, Confirm)
        text = " ".join(text_of(s) for s in dialog.query(Static))
        assert "Run 2 steps (facts, sysctl)" in text
        assert "does not install Kubernetes" in text
        assert "k8s-tui run-tool plan.yaml --checkout KUBESPRAY_DIR" in text


async def test_skip_a_host_that_failed_its_join_then_the_summary(tmp_path):
    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        hosts = [h for h in app.state.hosts if h.name != "worker-3"]  # its old kernel fails preflight
        run = await open_run(pilot, tmp_path, scope="full", hosts=hosts,
                             faults=FaultPlan({"worker-2": Fault(fail=True, fail_step="kubeadm-join-workers")}))
        # the run reaches verify, which cannot pass while worker-2 is expected: it says what to do
        await wait_for(pilot, run.waiting, timeout=60, what="the run to wait at its end")
        assert run.model.failed_step("worker-2") == "kubeadm-join-workers"
        cell = run.model.cell("cp-1", "verify")
        assert cell.status == "failed" and "not in the cluster: worker-2" in cell.message
        assert "skip them (s)" in cell.hint
        run.grid.move_cursor(row=run.model.hosts.index("worker-2"))
        await settle(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: run.model.host_state.get("worker-2") == "skipped", what="worker-2 skipped")
        await pilot.press("r")  # the one failed host left: cp-1, at verify
        await wait_for(pilot, lambda: run.model.status_of("cp-1", "verify") == "unchanged", timeout=60,
                       what="verify to pass once worker-2 is out")
        assert "worker-2 skipped by you: not in the cluster" in run.model.cell("cp-1", "verify").message
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), what="the summary")
        summary = app.screen
        text = str(summary.query_one("#sum-body").render())
        kubeconfig = record(tmp_path, run) / "clusters" / "demo" / "admin.conf"
        assert kubeconfig.exists() and f"kubeconfig: {kubeconfig}" in text
        assert "not in the cluster: worker-2 (skipped by you" in text
        table = summary.query_one("#sum-table", DataTable)
        assert str(table.get_cell("worker-2", "result")) == "skipped"
        assert str(table.get_cell("cp-1", "result")) == "changed"


# ------------------------------------------------------------------------------ kubespray from the wizard

BIN = str(Path(sys.executable).parent)  # the venv's ansible-playbook (ansible-core)
CLUSTER_YML = """\
- name: A stand-in cluster.yml, run locally, that reads the rendered inventory
  hosts: k8s_cluster
  gather_facts: false
  connection: local
  tasks:
    - name: Node from the rendered inventory
      ansible.builtin.debug:
        msg: "node {{ inventory_hostname }}"
"""


def kubespray_app(tmp_path):
    state = WizardState(demo_plan().model_copy(update={"tool": Tool.kubespray}))
    return make_app(state=state, theme=DEFAULT, start="review")


@pytest.mark.skipif(not shutil.which("ansible-playbook", path=BIN), reason="ansible-playbook (ansible-core) is not installed")
async def test_kubespray_runs_from_the_wizard_streamed_as_run_tool_runs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PATH", BIN + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("ANSIBLE_LOCAL_TEMP", str(tmp_path / "ansible-tmp"))
    checkout = tmp_path / "kubespray"
    checkout.mkdir()
    (checkout / "cluster.yml").write_text(CLUSTER_YML)
    out = tmp_path / "out"
    app = kubespray_app(tmp_path)
    app.cursor_blink = False
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        open_tool_run(app)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ToolRunScreen)
        screen.query_one("#tool-out", Input).value = str(out)
        await pilot.press("ctrl+r")  # nothing typed for the checkout: it says what is missing
        await settle(pilot)
        status = text_of(screen.query_one("#tool-status", Static))
        assert "cannot run kubespray yet" in status and "--checkout" in status
        screen.query_one("#tool-checkout", Input).value = str(checkout)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, Confirm)  # a real run asks first
        await pilot.press("y")
        await wait_for(pilot, lambda: "finished" in text_of(screen.query_one("#tool-status", Static))
                       or "failed" in text_of(screen.query_one("#tool-status", Static)), timeout=120,
                       what="ansible-playbook to end")
        lines = list(screen.query_one("#tool-log").lines)
        assert text_of(screen.query_one("#tool-status", Static)) == "kubespray: all 1 step(s) finished", "\n".join(lines[-30:])
        lines = list(screen.query_one("#tool-log").lines)
        inv = out / "inventory" / "demo" / "inventory.ini"
        assert f"$ ansible-playbook -i {inv} cluster.yml -b" in lines
        assert any('"msg": "node cp-1"' in ln for ln in lines) and any("PLAY RECAP" in ln for ln in lines)
        assert inv.is_file() and "worker-3" in inv.read_text()
