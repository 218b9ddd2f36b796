"""The hosts screen's import and probe: what a person does and sees.

Import: pick the format, type the path (checked as typed), see the changes and the notices
(file:line), apply or cancel; a malformed file shows the importer's error and changes nothing.
Probe: every host at once, a live status per host, then the facts (or the error) in the pane; the
results land in the wizard state the tuning screen reads. Unknown host keys: a prompt with the
fingerprint; refusing fails that host with hostkey-unknown. Snapshots at 80x24 and 120x40.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input, Static

from k8s_tui.app import make_app
from k8s_tui.engine.executor import ExecError, HostKeyInfo
from k8s_tui.model.hosts import Host, Role
from k8s_tui.model.plan import ClusterPlan
from k8s_tui.engine.faults import Fault, FaultPlan
from k8s_tui.session import demo as demo_mod
from k8s_tui.session import hosts as host_ops
from k8s_tui.session.demo import DEMO_FAULTS, demo_probes, demo_state
from k8s_tui.screens.hosts import HostsScreen
from k8s_tui.session.state import WizardState
from k8s_tui.screens.themes import DEFAULT
from k8s_tui.widgets.hostkey_dialog import HostKeyDialog, SecretDialog
from k8s_tui.widgets.import_dialog import ImportDialog

from tui_helpers import settle, wait_probe, wait_until

REAL_DEMO_EXECUTOR = demo_mod.demo_executor
# the extra host some tests add never answers: stated here (a dry run reads nothing from names)
UNREACHABLE = FaultPlan({**DEMO_FAULTS.faults, "unreachable-4": Fault(unreachable=True)})
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "inventories"
SIZES = [(80, 24), (120, 40)]
FINGERPRINT = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"

SSH_CONFIG = """\
# lab machines
Host bastion
  HostName 203.0.113.5
  User jump
Host cp-1
  HostName 10.0.0.10
  User ubuntu
  IdentityFile ~/.ssh/lab
  ProxyJump jump@bastion
Host node-a
  HostName 10.0.0.11
  Port 2200
  ProxyJump jump@bastion
"""


def text_of(widget: Static) -> str:
    return str(widget.render())


def app_for(state: WizardState, **kw):
    app = make_app(state=state, theme=DEFAULT, start="hosts", **kw)
    app.cursor_blink = False
    return app


def demo_with(*extra: Host, probed: bool = True) -> WizardState:
    st = demo_state()
    for h in extra:
        st.add_host(h)
    if not probed:
        st.probes = {}
    return st


@pytest.fixture
def instant_demo(monkeypatch):
    """The demo's executor without its delays, with the demo's faults and ``unreachable-4`` never
    answering."""
    monkeypatch.setattr(demo_mod, "demo_executor", lambda speed=1.0, faults=None: REAL_DEMO_EXECUTOR(speed=0, faults=UNREACHABLE))


@pytest.fixture
def still_clock(monkeypatch):
    """Elapsed times read 0.0s, so a picture does not depend on the machine's speed."""
    monkeypatch.setattr(host_ops, "_clock", lambda: 100.0)


class Gated:
    """An executor that holds some hosts until the test opens the gate."""

    def __init__(self, inner, hold: set[str]):
        self.inner, self.hold = inner, hold
        self.gate = asyncio.Event()

    async def run(self, host, argv, **kw):
        if host.name in self.hold:
            await self.gate.wait()
        return await self.inner.run(host, argv, **kw)

    async def read_file(self, host, path, **kw):
        return await self.inner.read_file(host, path, **kw)

    async def write_file(self, host, path, content, **kw):
        return await self.inner.write_file(host, path, content, **kw)

    async def close(self):
        await self.inner.close()


class FakeSsh:
    """Asks host_key_prompt the first time it meets each host (one question at a time, as the SSH
    executor does), asks secret_prompt when told to, then answers as the demo's dry run."""

    def __init__(self, host_key_prompt=None, secret_prompt=None, *, ask_secret: bool = False):
        self.host_key_prompt = host_key_prompt
        self.secret_prompt = secret_prompt
        self.ask_secret = ask_secret
        self.inner = REAL_DEMO_EXECUTOR(speed=0)
        self.trusted: set[str] = set()
        self.refused: set[str] = set()
        self.secrets: list[str | None] = []
        self.closed = False
        self._lock = asyncio.Lock()

    async def _connect(self, host):
        async with self._lock:
            if host.name in self.refused:
                raise ExecError(host.name, "host key was not accepted", kind="hostkey-unknown")
            if host.name not in self.trusted:
                info = HostKeyInfo(host.name, host.address, host.port, "ssh-ed25519", FINGERPRINT)
                if not await self.host_key_prompt(info):
                    self.refused.add(host.name)
                    raise ExecError(host.name, f"host key ssh-ed25519 {FINGERPRINT} was not accepted", kind="hostkey-unknown")
                self.trusted.add(host.name)
                if self.ask_secret:
                    self.secrets.append(await self.secret_prompt(f"sudo password for admin@{host.name}"))

    async def run(self, host, argv, **kw):
        await self._connect(host)
        return await self.inner.run(host, argv, **kw)

    async def read_file(self, host, path, **kw):
        await self._connect(host)
        return await self.inner.read_file(host, path, **kw)

    async def write_file(self, host, path, content, **kw):
        return await self.inner.write_file(host, path, content, **kw)

    async def close(self):
        self.closed = True


def two_host_state() -> WizardState:
    hosts = [
        Host(name="cp-1", address="192.0.2.10", user="admin", roles=[Role.control_plane]),
        Host(name="worker-1", address="192.0.2.21", user="admin", roles=[Role.worker]),
    ]
    return WizardState(ClusterPlan(name="lab", hosts=hosts))


async def wait_for(pilot, cond, what: str = "the condition") -> None:
    await wait_until(pilot, cond, what)


def select_host(pilot, name: str) -> None:
    table = pilot.app.screen.query_one("#hosts-table", DataTable)
    table.move_cursor(row=pilot.app.state.host_names().index(name))


# ------------------------------------------------------------------------------------ probe


async def test_probe_fills_the_facts_the_other_screens_read(instant_demo):
    """A probe in the demo finds the demo's facts, through the facts step on the dry run, and
    puts them where the tuning screen's "now" column reads them."""
    state = demo_with(probed=False)
    app = app_for(state)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "not probed" in str(app.screen.query_one(DataTable).get_row("cp-1")[-1])
        assert state.now("net.ipv4.ip_forward").text == "-"
        await pilot.press("p")
        await wait_probe(pilot)
        expected = demo_probes()
        assert set(state.probes) == set(expected)
        for name, p in expected.items():
            got = state.probes[name]
            assert (got.kernel, got.os, got.cpus, got.memory_mb, got.swap_mb, got.runtime) == (
                p.kernel, p.os, p.cpus, p.memory_mb, p.swap_mb, p.runtime)
            assert got.sysctls == p.sysctls
        assert state.now("net.ipv4.ip_forward") == demo_state().now("net.ipv4.ip_forward")
        assert state.now("net.ipv4.ip_forward").text == "mixed"
        row = str(app.screen.query_one(DataTable).get_row("worker-3")[-1])
        assert row.startswith("ok 4.19.0-26-amd64, Debian 10")
        select_host(pilot, "worker-3")
        await settle(pilot)
        pane = text_of(app.screen.query_one("#host-facts", Static))
        for needle in ("probe ok", "OS Debian 10", "kernel 4.19.0-26-amd64", "CPUs 2", "memory 4 GiB",
                       "swap 1 GiB", "runtime containerd 1.4.13"):
            assert needle in pane, needle
        # the tuning screen shows what the probe found
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen.STEP == "tuning"


async def test_a_failing_host_shows_its_error_and_the_others_go_on(instant_demo):
    state = demo_with(Host(name="unreachable-4", address="192.0.2.24", user="admin", roles=[Role.worker]), probed=False)
    app = app_for(state)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await wait_probe(pilot)
        screen = app.screen
        st = screen.probe_status["unreachable-4"]
        assert (st.state, st.kind) == ("failed", "unreachable")
        assert "No route to host" in st.message
        assert "unreachable-4" not in state.probes
        assert len(state.probes) == 4
        cell = str(screen.query_one(DataTable).get_row("unreachable-4")[-1])
        assert cell.startswith("FAILED unreachable: cannot connect to 192.0.2.24 port 22")
        select_host(pilot, "unreachable-4")
        await settle(pilot)
        pane = text_of(screen.query_one("#host-facts", Static))
        assert "probe FAILED" in pane and "unreachable: cannot connect" in pane
        assert "check the address and port" in pane  # the hint


async def test_probe_is_live_and_never_blocks_the_ui(monkeypatch, still_clock):
    gated: list[Gated] = []

    def make(speed=1.0, faults=None):
        g = Gated(REAL_DEMO_EXECUTOR(speed=0, faults=faults), {"worker-1", "worker-3"})
        gated.append(g)
        return g

    monkeypatch.setattr(demo_mod, "demo_executor", make)
    app = app_for(demo_with())
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        screen = app.screen
        await wait_for(pilot, lambda: screen.probe_status.get("cp-1") is not None and screen.probe_status["cp-1"].state == "ok")
        await settle(pilot)
        assert screen.probing
        table = screen.query_one(DataTable)
        assert str(table.get_row("worker-1")[-1]) == "connecting 0.0s"
        assert str(table.get_row("cp-1")[-1]).startswith("ok 6.1.0-18-amd64")
        # the UI answers while hosts are still connecting
        await pilot.press("down")
        await settle(pilot)
        assert table.cursor_row == 1
        assert "probing 0.0s" in text_of(screen.query_one("#host-facts", Static))
        await pilot.press("p")  # a second probe waits for the first
        await settle(pilot)
        assert len(gated) == 1
        gated[0].gate.set()
        await wait_probe(pilot)
        assert not screen.probing
        assert all(s.state == "ok" for s in screen.probe_status.values())
        assert str(table.get_row("worker-1")[-1]).startswith("ok 6.8.0-45-generic")


async def test_host_key_prompt_trust_and_refuse(still_clock):
    made: list[FakeSsh] = []

    def factory(plan, host_key_prompt=None, secret_prompt=None):
        assert plan is not None and [h.name for h in plan.hosts] == ["cp-1", "worker-1"]
        made.append(FakeSsh(host_key_prompt, secret_prompt))
        return made[-1]

    state = two_host_state()
    app = app_for(state, executor_factory=factory)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyDialog))
        await settle(pilot)
        dialog = app.screen
        shown = {w.id: text_of(w) for w in dialog.query(Static) if w.id}
        assert shown["hk-host"] == dialog.info.host
        assert shown["hk-address"] == f"{dialog.info.address}:22"
        assert shown["hk-key-type"] == "ssh-ed25519"
        assert shown["hk-fingerprint"] == FINGERPRINT
        first = dialog.info.host
        hosts_screen = app.get_screen("hosts")
        cell = str(hosts_screen.query_one(DataTable).get_row(first)[-1])
        assert cell == "waiting: host key (your answer)"
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyDialog) and app.screen.info.host != first)
        await settle(pilot)
        second = app.screen.info.host
        await pilot.press("r")
        await wait_probe(pilot)
        screen = app.get_screen("hosts")
        assert made[0].trusted == {first} and made[0].refused == {second}
        assert screen.probe_status[first].state == "ok"
        st = screen.probe_status[second]
        assert (st.state, st.kind) == ("failed", "hostkey-unknown")
        assert FINGERPRINT in st.message
        assert set(state.probes) == {first}
        assert made[0].closed
        select_host(pilot, second)
        await settle(pilot)
        pane = text_of(screen.query_one("#host-facts", Static))
        assert "hostkey-unknown: host key ssh-ed25519 " + FINGERPRINT in pane
        assert "you refused this key; p probes again and asks again" in pane


async def test_escape_refuses_the_key_and_a_secret_is_asked_hidden(still_clock):
    made: list[FakeSsh] = []

    def factory(plan, host_key_prompt=None, secret_prompt=None):
        made.append(FakeSsh(host_key_prompt, secret_prompt, ask_secret=True))
        return made[-1]

    state = two_host_state()
    app = app_for(state, executor_factory=factory)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyDialog))
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, SecretDialog))
        await settle(pilot)
        field = app.screen.query_one("#secret-input", Input)
        assert field.password
        await pilot.press(*"s3cret", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyDialog))
        await pilot.press("escape")
        await wait_probe(pilot)
        assert made[0].secrets == ["s3cret"]
        kinds = sorted(s.kind for s in app.get_screen("hosts").probe_status.values())
        assert kinds == ["", "hostkey-unknown"]


async def test_probe_without_hosts_says_so():
    app = app_for(WizardState(ClusterPlan()))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert not app.screen.probing
        assert "No hosts yet" in text_of(app.screen.query_one("#host-facts", Static))


# ----------------------------------------------------------------------------------- import


def kubespray_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "prod"
    shutil.copytree(FIXTURES / "kubespray" / "inventory" / "prod", dst)
    return dst


async def open_import(pilot, kind: str, path: str) -> ImportDialog:
    await pilot.press("i")
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, ImportDialog)
    dialog.select_kind(kind)
    await settle(pilot)
    dialog.query_one("#import-path", Input).value = path
    await settle(pilot)
    return dialog


async def test_import_kubespray_shows_changes_and_notices_then_applies(tmp_path, monkeypatch):
    kubespray_copy(tmp_path)
    monkeypatch.chdir(tmp_path)
    state = demo_with()
    app = app_for(state)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        dialog = await open_import(pilot, "kubespray", "prod")
        body = text_of(dialog.query_one("#import-body", Static))
        assert "Hosts  6 added, 0 changed, 4 removed" in body
        assert "+ node1 (control-plane,etcd) 95.54.0.12" in body
        assert "- worker-2 (not in prod/inventory.ini)" in body
        assert "kubernetes_version: 1.33.0 -> 1.32.5 (prod/group_vars/k8s_cluster/k8s-cluster.yml:3)" in " ".join(body.split())
        assert "prod/inventory.ini:5 comment the third etcd member" in body
        assert "secret" in body  # node6's become password: reported, never imported
        assert not dialog.query_one("#import-apply", Button).disabled
        assert state.host_names()[0] == "cp-1"  # nothing applied yet
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, HostsScreen)
        assert state.host_names() == ["node1", "node2", "node3", "node4", "node5", "node6"]
        assert state.base.kubernetes_version == "1.32.5"
        assert state.probes == {}  # the old hosts' facts went with them
        assert app.screen.query_one(DataTable).row_count == 6


async def test_import_cancel_keeps_the_host_list(tmp_path, monkeypatch):
    kubespray_copy(tmp_path)
    monkeypatch.chdir(tmp_path)
    state = demo_with()
    before = [h.model_dump() for h in state.hosts]
    app = app_for(state)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_import(pilot, "kubespray", "prod")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HostsScreen)
        assert [h.model_dump() for h in state.hosts] == before


async def test_malformed_file_shows_the_importers_error_and_nothing_changes(tmp_path, monkeypatch):
    shutil.copy(FIXTURES / "malformed" / "quote.ini", tmp_path / "bad.ini")
    monkeypatch.chdir(tmp_path)
    state = demo_with()
    names = state.host_names()
    app = app_for(state)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dialog = await open_import(pilot, "kubespray", "bad.ini")
        body = text_of(dialog.query_one("#import-body", Static))
        assert "The importer cannot use this file" in body
        assert "bad.ini:2: cannot split host line" in body
        assert dialog.query_one("#import-apply", Button).disabled
        await pilot.press("ctrl+s")  # refused: nothing to apply
        await settle(pilot)
        assert app.screen is dialog
        await pilot.press("escape")
        await settle(pilot)
        assert state.host_names() == names


async def test_path_is_checked_as_it_is_typed(tmp_path, monkeypatch):
    (tmp_path / "cfg").write_text(SSH_CONFIG)
    (tmp_path / "dir").mkdir()
    monkeypatch.chdir(tmp_path)
    app = app_for(demo_with())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dialog = await open_import(pilot, "ssh-config", "")
        status = dialog.query_one("#import-path-status", Static)
        assert "type the path" in text_of(status)
        field = dialog.query_one("#import-path", Input)
        field.focus()
        await pilot.press(*"cf")
        await settle(pilot)
        assert "cf: no such file or folder" in text_of(status) and status.has_class("-bad")
        await pilot.press("g")
        await settle(pilot)
        assert text_of(status).startswith("ok: readable") and status.has_class("-good")
        field.value = "dir"
        await settle(pilot)
        assert "is a folder; an ssh config is a file" in text_of(status)
        if os.geteuid() != 0:  # root reads everything
            (tmp_path / "locked").write_text(SSH_CONFIG)
            (tmp_path / "locked").chmod(0)
            field.value = "locked"
            await settle(pilot)
            assert "not readable" in text_of(status)


async def test_ssh_config_updates_and_adds_with_only(tmp_path, monkeypatch):
    (tmp_path / "cfg").write_text(SSH_CONFIG)
    monkeypatch.chdir(tmp_path)
    state = demo_with()
    app = app_for(state)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        dialog = await open_import(pilot, "ssh-config", "cfg")
        body = text_of(dialog.query_one("#import-body", Static))
        assert "1 added, 1 changed, 0 removed" in body
        assert "~ cp-1: address 192.0.2.10 -> 10.0.0.10" in body
        assert "cfg:2 skipped Host bastion is the jump host" in " ".join(body.split())
        dialog.query_one("#import-only", Input).value = "node-a"
        await settle(pilot)
        body = text_of(dialog.query_one("#import-body", Static))
        assert "1 added, 0 changed, 0 removed" in body
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert state.host_names()[-1] == "node-a"
        assert state.hosts[0].address == "192.0.2.10"  # not in --only: untouched
        assert "cp-1" in state.probes  # same address: the facts stay


def test_apply_import_drops_facts_of_moved_hosts(tmp_path):
    (tmp_path / "cfg").write_text(SSH_CONFIG)
    state = demo_state()
    pv = host_ops.preview_import(state, "ssh-config", str(tmp_path / "cfg"))
    assert pv.ok and pv.changed == ["cp-1"] and pv.added == ["node-a"]
    host_ops.apply_import(state, pv.plan)
    assert "cp-1" not in state.probes  # it moved to 10.0.0.10: what was found there is not known
    assert "worker-1" in state.probes


def test_command_palette_reaches_import_and_probe():
    from k8s_tui.screens.commands import WizardCommands

    app = app_for(demo_with())

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            names = [n for n, _, _ in WizardCommands(app.screen).commands()]
            assert any(n.startswith("Hosts: import") for n in names)
            assert any(n.startswith("Hosts: probe") for n in names)

    asyncio.run(run())


# -------------------------------------------------------------------------------- snapshots


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_import_dialog(snap_compare, size, tmp_path, monkeypatch):
    kubespray_copy(tmp_path)
    monkeypatch.chdir(tmp_path)

    async def run_before(pilot):
        await settle(pilot)
        await open_import(pilot, "kubespray", "prod")
        await settle(pilot)

    assert snap_compare(app_for(demo_with()), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_probe_in_progress(snap_compare, size, monkeypatch, still_clock):
    monkeypatch.setattr(demo_mod, "demo_executor",
                        lambda speed=1.0, faults=None: Gated(REAL_DEMO_EXECUTOR(speed=0, faults=faults), {"worker-1", "worker-3"}))

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("p")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: all(screen.probe_status[n].state == "ok" for n in ("cp-1", "worker-2")))
        await settle(pilot)

    assert snap_compare(app_for(demo_with()), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_probe_finished_with_a_failure(snap_compare, size, instant_demo, still_clock):
    state = demo_with(Host(name="unreachable-4", address="192.0.2.24", user="admin", key_file="~/.ssh/id_ed25519",
                           roles=[Role.worker]))

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("p")
        await wait_probe(pilot)
        select_host(pilot, "unreachable-4")
        pilot.app.clear_notifications()
        await settle(pilot)

    assert snap_compare(app_for(state), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_host_key_prompt(snap_compare, size, still_clock):
    def factory(plan, host_key_prompt=None, secret_prompt=None):
        return FakeSsh(host_key_prompt, secret_prompt)

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HostKeyDialog))
        await settle(pilot)

    assert snap_compare(app_for(two_host_state(), executor_factory=factory), terminal_size=size, run_before=run_before)


