"""SIGTERM while `apply` asks for confirmation (issue 14): one line, exit 143, nothing run, no run
record, no traceback. The prompt is asked on a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PLAN = """\
name: prompt
tool: kubeadm
preset: kubeadm-minimum
hosts:
  - {name: cp-1, address: 192.0.2.10, user: root, roles: [control-plane]}
"""


def test_sigterm_at_the_confirmation_prompt(tmp_path):
    plan, state = tmp_path / "plan.yaml", tmp_path / "state"
    plan.write_text(PLAN)
    env = {**os.environ, "K8S_TUI_STATE_DIR": str(state), "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "k8s_tui", "apply", str(plan), "--tuning-only"], env=env,
                            stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while b"[y/N]" not in seen:  # the question is asked: the process waits on the terminal
            left = deadline - time.monotonic()
            assert left > 0, f"no confirmation prompt: {seen!r}"
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                assert chunk, f"the process ended before asking: {seen!r} {proc.stderr.read()!r}"
                seen += chunk
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    err = err.decode()
    assert proc.returncode == 143, (seen, out, err)
    assert "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        "terminated (SIGTERM) at the confirmation: nothing was run, no host was touched"]
    assert not (state / "runs").exists() or not any((state / "runs").iterdir())
