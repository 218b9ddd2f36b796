"""Helpers for tests that run `k8s-tui apply` on SSH test hosts as a separate process and catch it
half way: a gate in front of `sysctl -p` on a host (a stand-in at /usr/local/bin/sysctl, inside
that host only) that says when it is reached and holds the step there until the test opens it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SYSCTL_FILE = "/etc/sysctl.d/90-k8s-tui.conf"
TUNING = {"net.core.somaxconn": "16384", "net.ipv4.tcp_keepalive_time": "600", "vm.max_map_count": "262144"}

GATE = """#!/bin/sh
# k8s-tui test gate: `sysctl -p` waits here until /tmp/k8s-tui-gate.open exists
if [ "$1" = "-p" ]; then
  echo $$ > /tmp/k8s-tui-gate.pid
  : > /tmp/k8s-tui-gate.reached
  while [ ! -e /tmp/k8s-tui-gate.open ]; do sleep 0.05; done
fi
for s in /usr/sbin/sysctl /sbin/sysctl; do
  if [ -x "$s" ]; then exec "$s" "$@"; fi
done
exit 127
"""


def wait_for(cond, what: str, timeout: float = 90.0, interval: float = 0.05):
    """Poll ``cond`` until it returns something true; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def write_plan(path: Path, hosts, name: str = "locks") -> Path:
    lines = [f"name: {name}", "hosts:"]
    for i, th in enumerate(hosts):
        role = "control-plane" if i == 0 else "worker"
        lines.append(f"  - {{name: {th.name}, address: {th.address}, port: {th.port}, user: {th.user}, "
                     f"key_file: {th.key_file}, roles: [{role}]}}")
    lines.append("tuning:")
    lines += [f"  {k}: {v}" for k, v in TUNING.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def close_gate(th) -> None:
    for f in ("open", "reached", "pid"):
        th.run(["rm", "-f", f"/tmp/k8s-tui-gate.{f}"])
    th.install_standin("sysctl", GATE)


def open_gate(th) -> None:
    th.path("/tmp/k8s-tui-gate.open").write_text("")


def remove_gate(th) -> None:
    th.run(["rm", "-f", "/usr/local/bin/sysctl"], check=True)
    open_gate(th)


def reached(th) -> bool:
    return th.path("/tmp/k8s-tui-gate.reached").exists()


def gate_pid_alive(th) -> bool:
    try:
        pid = int(th.path("/tmp/k8s-tui-gate.pid").read_text())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def cli_env(state: Path) -> dict:
    return {**os.environ, "K8S_TUI_STATE_DIR": str(state), "COLUMNS": "200", "PYTHONPATH": str(ROOT)}


def start_apply(plan: Path, state: Path, known_hosts: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "k8s_tui", "apply", str(plan), "--tuning-only", "--yes", "--known-hosts", known_hosts,
         *extra],
        env=cli_env(state), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def the_run(state: Path) -> str:
    """The id of the one run in ``state`` (waits for its journal to exist)."""
    runs = state / "runs"
    found = wait_for(lambda: [d.name for d in runs.iterdir() if (d / "journal.jsonl").exists()] if runs.is_dir() else [],
                     "the run's journal")
    assert len(found) == 1, found
    return found[0]


def journal(state: Path, run_id: str) -> list[dict]:
    out = []
    for ln in (state / "runs" / run_id / "journal.jsonl").read_text().splitlines():
        try:
            out.append(json.loads(ln))
        except ValueError:
            pass
    return out


def finished(state: Path, run_id: str, host: str, step: str) -> dict | None:
    for r in journal(state, run_id):
        if r.get("type") == "step_finished" and r.get("host") == host and r.get("step_id") == step:
            return r
    return None


def backups(th) -> list[str]:
    d = th.path("/var/lib/k8s-tui/backup")
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def host_lock(th) -> dict | None:
    p = th.path("/var/lib/k8s-tui/locks/run.lock")
    return json.loads(p.read_text()) if p.exists() else None


def live(th) -> dict:
    return {k: th.sysctl(k) for k in TUNING}
