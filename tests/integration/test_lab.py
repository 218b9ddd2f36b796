"""`k8s-tui lab` for real, as root: each experiment runs in its own network namespaces and its
measurement agrees with the knowledge base's prediction within the experiment's own tolerance;
the machine's sysctls for those keys are the same before and after; a lab killed mid-run leaves
namespaces that the next start removes. Without root, nft, ip or ss these tests skip."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_tui.lab import EXPERIMENTS, lab_namespaces
from k8s_tui.knowledge import KernelVersion
from k8s_tui.lab.predict import predict_syn_retries, timer_agrees

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "nft", "ss", "sysctl")),
    reason="the lab needs root and ip, nft, ss, sysctl (tests/run.sh installs them as root)",
)

LAB = [sys.executable, "-m", "k8s_tui", "lab"]
ROOT = Path(__file__).resolve().parents[2]
KEYS = sorted({k for keys in EXPERIMENTS.values() for k in keys})
RUN_LIMIT_S = 120  # far above any run here (the longest, tcp_tw_reuse without --quick, takes 9 s)


def machine_values() -> dict[str, str]:
    """The experiments' keys as this machine (the root namespace) has them."""
    out = {}
    for key in KEYS:
        p = Path("/proc/sys") / key.replace(".", "/")
        out[key] = p.read_text().strip() if p.exists() else "<absent>"
    return out


@pytest.fixture(autouse=True)
def machine_unchanged():
    before = machine_values()
    yield
    assert machine_values() == before


def lab(*args: str) -> tuple[int, str, dict]:
    p = subprocess.run([*LAB, *args, "--json"], capture_output=True, text=True, timeout=RUN_LIMIT_S, cwd=ROOT)
    lines = p.stdout.strip().splitlines()
    assert lines, p.stderr
    return p.returncode, p.stdout, json.loads(lines[-1])


def mine(names: list[str]) -> list[str]:
    return [n for n in names if n in lab_namespaces()]


@pytest.mark.parametrize("retries, linear", [(1, None), (2, None), (2, 0)])
def test_syn_retries_gives_up_when_predicted(retries, linear):
    args = [f"net.ipv4.tcp_syn_retries={retries}"] + ([f"net.ipv4.tcp_syn_linear_timeouts={linear}"] if linear is not None else [])
    before = set(lab_namespaces())
    rc, out, res = lab(*args, "--quick")
    assert set(lab_namespaces()) <= before  # its own namespaces are gone
    assert res["experiment"] == "tcp_syn_retries" and res["agrees"] is True and rc == 0, out
    m, p = res["measured"], res["predicted"]
    assert m["syns"] == p["syns"] and m["error"] == "ETIMEDOUT" and m["dropped"] == m["syns"]
    assert timer_agrees(m["give_up_s"], p["give_up_s"])
    syns = [e for e in res["timeline"] if e["kind"] == "syn"]
    assert [e["data"]["n"] for e in syns] == list(range(1, p["syns"] + 1))
    for e, want in zip(syns, p["syn_times_s"]):  # each SYN left when the schedule says
        assert timer_agrees(e["t"], want)
    assert "SYN #1 on the wire" in out and "connect() failed with ETIMEDOUT" in out


def test_synack_retries_drops_the_half_open_connection_when_predicted():
    rc, out, res = lab("net.ipv4.tcp_synack_retries=1", "--quick")
    assert res["agrees"] is True and rc == 0, out
    m, p = res["measured"], res["predicted"]
    assert m["synacks"] == p["synacks"] == 2 and timer_agrees(m["give_up_s"], p["give_up_s"])
    for got, want in zip(m["synack_times_s"], p["synack_times_s"]):
        assert timer_agrees(got, want)
    assert "server: connection half-open (SYN_RECV)" in out and "half-open connection dropped" in out


def test_keepalive_resets_the_idle_connection_when_predicted():
    rc, out, res = lab("net.ipv4.tcp_keepalive_time=1", "net.ipv4.tcp_keepalive_intvl=1", "net.ipv4.tcp_keepalive_probes=2", "--quick")
    assert res["agrees"] is True and rc == 0, out
    m, p = res["measured"], res["predicted"]
    assert m["probes"] == p["probes"] == 2 and m["error"] == "ETIMEDOUT" and timer_agrees(m["give_up_s"], p["give_up_s"])
    for got, want in zip(m["probe_times_s"], p["probe_times_s"]):
        assert timer_agrees(got, want)


def test_fin_timeout_ends_the_orphaned_fin_wait_2_when_predicted():
    rc, out, res = lab("net.ipv4.tcp_fin_timeout=1", "--quick")
    assert res["agrees"] is True and rc == 0, out
    assert timer_agrees(res["measured"]["fin_wait2_s"], 1.0)
    assert "FIN_WAIT_1 -> FIN_WAIT_2" in out


@pytest.mark.parametrize("value", [0, 1])
def test_ip_forward_decides_whether_ping_passes(value):
    rc, out, res = lab(f"net.ipv4.ip_forward={value}", "--quick")
    assert res["agrees"] is True and rc == 0, out
    assert res["measured"]["passes"] is bool(value) and res["measured"]["control_passes"] is True
    moved = res["measured"]["router_counters"]
    assert moved.get("Ip.ForwDatagrams", 0) > 0 if value else "Ip.ForwDatagrams" not in moved


def test_somaxconn_accept_queue_overflows_at_backlog_plus_one():
    rc, out, res = lab("net.core.somaxconn=128", "net.ipv4.tcp_abort_on_overflow=1")
    assert res["agrees"] is True and rc == 0, out
    assert res["measured"]["accepted_queue"] == 129 and res["measured"]["overflows"] == 4
    assert res["settings"] == {"net.core.somaxconn": "128", "net.ipv4.tcp_abort_on_overflow": "1"}


@pytest.mark.parametrize("abort", [1, 0])
def test_somaxconn_4_holds_5_and_resets_the_overflow_only_with_abort_on_overflow(abort):
    """min(511, 4) = 4 is the limit and the queue is full only above it: 5 wait. Of the 4 handshakes
    finishing together one takes the 5th place and 3 overflow: with abort_on_overflow=1 those 3
    clients get ECONNRESET and 3 RSTs cross the wire; with 0 nobody is told. The last client's SYN
    is dropped at the full queue without a RST either way."""
    rc, out, res = lab("net.core.somaxconn=4", f"net.ipv4.tcp_abort_on_overflow={abort}")
    assert res["agrees"] is True and rc == 0, out
    m = res["measured"]
    assert m["accepted_queue"] == 5 and m["overflows"] == 4 and m["clients"] == 9
    assert m["rsts"] == m["rsts_on_wire"] == (3 if abort else 0)
    assert "so 5 fit" in out and "no RST" in out
    assert ("ECONNRESET" in out) is bool(abort)


def test_tw_reuse_takes_over_time_wait_ports_after_the_delay():
    rc, out, res = lab("net.ipv4.tcp_tw_reuse=1", "--quick")
    assert res["experiment"] == "tcp_tw_reuse" and res["agrees"] is True and rc == 0, out
    m, p = res["measured"], res["predicted"]
    # without reuse: 100 ports, 100 connections, then EADDRNOTAVAIL for the rest of the window
    assert m["ports_without_reuse"] == m["connections_until_eaddrnotavail_without_reuse"] == m["connections_without_reuse"] == 100
    assert m["first_reuse_s_without_reuse"] is None and m["tw_recycled_without_reuse"] == 0 and m["eaddrnotavail_without_reuse"] > 0
    # with reuse: the same first EADDRNOTAVAIL, then the ports come back tcp_tw_reuse_delay (1 s) after TIME_WAIT began
    assert m["connections_until_eaddrnotavail"] == 100 and p["first_reuse_s"] == 1.0
    assert 1.0 - 0.02 <= m["first_reuse_s"] <= 1.0 + 0.25
    assert abs(m["connections"] - p["connections"]) <= 50 and p["connections"] == 300  # 2.5 s with --quick: 3 batches
    assert abs(m["tw_recycled"] - (m["connections"] - 100)) <= 1
    assert "connect() works again" in out and "EADDRNOTAVAIL" in out and "--quick" in out


@pytest.mark.parametrize("pairs", [["net.ipv4.tcp_tw_reuse=2"], ["net.ipv4.tcp_tw_reuse=1", "net.ipv4.tcp_timestamps=0"]])
def test_tw_reuse_does_nothing_off_loopback_or_without_timestamps(pairs):
    rc, out, res = lab(*pairs, "--quick")
    assert res["agrees"] is True and rc == 0, out
    m = res["measured"]
    assert m["connections"] == m["connections_until_eaddrnotavail"] == 100 and m["first_reuse_s"] is None and m["tw_recycled"] == 0


def test_json_of_a_run_stopped_mid_way_has_the_error_and_the_timeline_so_far():
    p = subprocess.Popen([*LAB, "net.ipv4.tcp_syn_retries=3", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in p.stdout:
            if "SYN #2 on the wire" in line:
                break
        p.send_signal(signal.SIGTERM)
        rest, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    d = json.loads(rest.strip().splitlines()[-1])
    assert d["agrees"] is None and "interrupted" in d["error"] and d["measured"] == {}
    assert d["predicted"] == predict_syn_retries(3, 4, KernelVersion.parse(platform.release()))  # the prediction stands
    assert [e["data"]["n"] for e in d["timeline"] if e["kind"] == "syn"][:2] == [1, 2]


def test_cli_shows_a_progress_bar_with_the_estimate_on_a_terminal():
    """A real run on a pseudo-terminal: the bar, the elapsed seconds and the estimate (7 s)."""
    import pty
    import re
    import select

    master, slave = pty.openpty()
    p = subprocess.Popen([*LAB, "net.ipv4.tcp_syn_retries=2"], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env={**os.environ, "TERM": "xterm", "COLUMNS": "100"})
    os.close(slave)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], RUN_LIMIT_S)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        p.wait(timeout=RUN_LIMIT_S)
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.decode(errors="replace"))
    assert p.returncode == 0, text
    assert "━" in text and "s of about 7 s" in text and "about 4 s left" in text, text
    assert "waiting: 3 s of about 7 s" not in text  # the bar replaces the waiting lines


def test_a_killed_lab_is_cleaned_up_by_the_next_start():
    before = set(lab_namespaces())
    p = subprocess.Popen([*LAB, "net.ipv4.tcp_syn_retries=3"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        seen = []
        for line in p.stdout:  # wait for the experiment to be running: its first SYN
            seen.append(line)
            if "SYN #1 on the wire" in line:
                break
        else:
            pytest.fail("the lab ended before its first SYN:\n" + "".join(seen))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
        p.stdout.close()
    left = sorted(set(lab_namespaces()) - before)
    assert len(left) == 2 and all(n.endswith(("-client", "-server")) for n in left), left
    rc, out, res = lab("net.ipv4.ip_forward=1", "--quick")
    assert rc == 0 and res["agrees"] is True
    assert not mine(left)
    for n in left:
        assert f"removed {n}, left over from a lab run that died" in out
    assert not list(Path("/run/k8s-tui-lab").glob(f"{left[0].split('-')[3]}.pid"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_lab_removes_its_namespaces_itself(sig):
    before = set(lab_namespaces())
    p = subprocess.Popen([*LAB, "net.ipv4.tcp_syn_retries=3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in p.stdout:
            if "SYN #1 on the wire" in line:
                break
        p.send_signal(sig)  # SIGINT is Ctrl+C
        rest, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert "namespaces were removed" in err
    assert set(lab_namespaces()) <= before


def test_quick_scales_fin_timeout_down_and_says_so():
    rc, out, res = lab("net.ipv4.tcp_fin_timeout=30", "--quick")
    assert res["agrees"] is True and rc == 0, out
    assert res["settings"] == {"net.ipv4.tcp_fin_timeout": "30"} and res["predicted"] == {"fin_wait2_s": 10.0}
    assert timer_agrees(res["measured"]["fin_wait2_s"], 10.0)
    assert "ran tcp_fin_timeout=10 instead of 30 (durations / 3)" in out and res["notes"][0].startswith("--quick: ran")
