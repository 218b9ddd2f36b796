"""When the journal cannot be written, the run stops at a step boundary, says where and why, and
exits non-zero; nothing is lost silently. A disk that fills keeps what matters: the room the
journal set aside takes every step's end, the run's end and summary.json.

The state dir is a 64 KiB tmpfs (a whole dry run of the kubeadm path writes about 135 KiB there),
mounted in a private mount namespace made for this test by ``unshare``, so nothing on the
machine running the tests changes. The command runs inside that namespace; before the namespace
goes, the state dir is copied out so the test can read the journal's end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PLAN = """\
name: full-disk
tool: kubeadm
preset: kubeadm-minimum
hosts:
  - {name: cp-1, address: 192.0.2.10, user: root, roles: [control-plane]}
  - {name: worker-1, address: 192.0.2.11, user: root, roles: [worker]}
  - {name: worker-2, address: 192.0.2.12, user: root, roles: [worker]}
"""

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare(1) to mount a small tmpfs in a private mount namespace",
)


@needs_root
def test_journal_on_a_full_disk_stops_the_run_and_exits_nonzero(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    state, copy = tmp_path / "state", tmp_path / "copy"
    state.mkdir()
    script = textwrap.dedent("""\
        set -u
        mount -t tmpfs -o size=64k,mode=0700 tmpfs "$STATE"
        K8S_TUI_STATE_DIR="$STATE" COLUMNS=200 "$PY" -m k8s_tui apply "$PLAN" --dry-run >"$OUT/stdout" 2>"$OUT/stderr"
        echo $? >"$OUT/rc"
        cp -a "$STATE" "$COPY"
    """)
    env = {**os.environ, "STATE": str(state), "COPY": str(copy), "PLAN": str(plan), "OUT": str(tmp_path),
           "PY": sys.executable, "PYTHONPATH": str(ROOT)}
    subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], env=env, check=True, timeout=300)

    rc = int((tmp_path / "rc").read_text())
    out, err = (tmp_path / "stdout").read_text(), (tmp_path / "stderr").read_text()
    assert rc == 1, (out, err)
    # why, at once, on stderr; and where the run stopped, in the summary
    assert "error: the journal stopped working: [Errno 28] No space left on device" in err
    assert "the run stops once the running steps end" in err
    assert "the disk is full: output lines and host logs after" in err
    assert "still gets every step's end and the run's end, and summary.json is written, from the room kept aside" in err
    assert "run stopped: the journal could not be written ([Errno 28] No space left on device)" in out
    assert ": stopped" in out  # the summary table's title: run <id>: stopped
    assert "Traceback" not in err  # said in words, once

    runs = list((copy / "runs").iterdir())
    assert len(runs) == 1
    journal = runs[0] / "journal.jsonl"
    complete = []
    for ln in journal.read_bytes().split(b"\n"):
        try:
            complete.append(json.loads(ln))
        except ValueError:
            continue  # a line cut short when the disk filled, or the empty line after it
    assert complete[0]["type"] == "run_started"
    # the room kept aside took the records that say what happened: the run's end and its summary
    assert complete[-1]["type"] == "run_finished" and complete[-1]["status"] == "stopped", complete[-1]
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["status"] == "stopped"
    assert any(r["type"] == "subscriber_failed" and r["name"] == "journal" for r in complete)
    assert not (runs[0] / ".reserve").exists()
    # the run did stop early: fewer steps finished than the plan has, on disk and on screen
    printed = [ln for ln in out.splitlines() if ln.startswith("[") and "/" in ln.split("]")[0]]
    ran = [ln for ln in printed if " skipped " not in ln]
    stopped = [ln for ln in printed if "not run: the run stopped (its journal could not be written)" in ln]
    assert ran and stopped and len(ran) + len(stopped) == len(printed)
    assert "kubeadm-init" in " ".join(stopped)  # the cluster steps never started
    # every step's end the screen showed is in the journal too: what changed on the hosts is on record
    ends = {(r["host"], r["step_id"], r["status"]) for r in complete if r["type"] == "step_finished"}
    for ln in printed:
        host, step, status = ln.split("]", 1)[1].split()[:3]
        assert (host, step, status) in ends, ln
