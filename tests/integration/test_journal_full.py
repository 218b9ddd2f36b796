"""When the journal cannot be written, the run stops at a step boundary, says where and why, and
exits non-zero; nothing is lost silently.

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
    assert "events and output after that are not on disk, and neither is summary.json" in err
    assert "run stopped: the journal could not be written ([Errno 28] No space left on device)" in out
    assert ": stopped" in out  # the summary table's title: run <id>: stopped
    assert "Traceback" not in err  # said in words, once

    runs = list((copy / "runs").iterdir())
    assert len(runs) == 1
    journal = runs[0] / "journal.jsonl"
    lines = journal.read_bytes().split(b"\n")
    complete = []
    for ln in lines[:-1]:  # every line but a cut-off tail is whole JSON
        complete.append(json.loads(ln))
    assert complete[0]["type"] == "run_started"
    assert all(r["type"] != "run_finished" for r in complete)  # the end could not be written
    assert not (runs[0] / "summary.json").exists()
    # the run did stop early: fewer steps finished than the plan has, on disk and on screen
    printed = [ln for ln in out.splitlines() if ln.startswith("[") and "/" in ln.split("]")[0]]
    ran = [ln for ln in printed if " skipped " not in ln]
    stopped = [ln for ln in printed if "not run: the run stopped (its journal could not be written)" in ln]
    assert ran and stopped and len(ran) + len(stopped) == len(printed)
    assert "kubeadm-init" in " ".join(stopped)  # the cluster steps never started
    # the message counts the records that are surely on disk; at least that many are whole
    reported = int(err.split(" records, written by")[0].rsplit("(", 1)[1])
    assert len(complete) >= reported > 0
