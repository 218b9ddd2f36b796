"""`k8s-tui lab` for real, as root: each experiment runs in its own network namespaces and its
measurement agrees with the knowledge base's prediction within the experiment's own tolerance;
the machine's sysctls for those keys are the same before and after; a lab killed mid-run leaves
namespaces that the next start removes. Without root, nft, ip or ss these tests skip."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_tui.lab import EXPERIMENTS, lab_namespaces
from k8s_tui.lab.predict import timer_agrees

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "nft", "ss", "sysctl")),
    reason="the lab needs root and ip, nft, ss, sysctl (tests/run.sh installs them as root)",
)

LAB = [sys.executable, "-m", "k8s_tui", "lab"]
ROOT = Path(__file__).resolve().parents[2]
KEYS = sorted({k for keys in EXPERIMENTS.values() for k in keys})
RUN_LIMIT_S = 120  # far above any run here (the longest, tcp_syn_retries=2, takes 7 s)


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
    assert res["measured"]["accepted_queue"] == 129 and res["measured"]["overflows"] == 3
    assert res["settings"] == {"net.core.somaxconn": "128", "net.ipv4.tcp_abort_on_overflow": "1"}


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
