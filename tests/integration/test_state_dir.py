"""A run that cannot keep its record refuses before touching any host, in one line, exit 2; and
SIGTERM mid-step ends a run the way ^C does: the running step is cancelled, the journal gets its
end, the resume hint is printed, exit 143.

The unusable state dirs are a read-only tmpfs, a path under a regular file and a full tmpfs,
each mounted in a private mount namespace made for the test by ``unshare``, so nothing on the
machine running the tests changes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PLAN = """\
name: state-dir
tool: kubeadm
preset: kubeadm-minimum
hosts:
  - {name: cp-1, address: 192.0.2.10, user: root, roles: [control-plane]}
  - {name: worker-1, address: 192.0.2.11, user: root, roles: [worker]}
"""

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare(1) to mount a tmpfs in a private mount namespace",
)


def in_namespace(tmp_path: Path, setup: str, state: str) -> tuple[int, str, str]:
    """Run ``setup`` (shell) and then ``k8s-tui apply --dry-run`` with the state dir ``state``,
    inside a private mount namespace; the exit status, stdout and stderr."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    script = textwrap.dedent(f"""\
        set -eu
        {setup}
        set +e
        K8S_TUI_STATE_DIR="{state}" COLUMNS=200 "$PY" -m k8s_tui apply "$PLAN" --dry-run >"$OUT/stdout" 2>"$OUT/stderr"
        echo $? >"$OUT/rc"
    """)
    env = {**os.environ, "PLAN": str(plan), "OUT": str(tmp_path), "PY": sys.executable, "PYTHONPATH": str(ROOT)}
    subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], env=env, check=True,
                   timeout=120)
    return int((tmp_path / "rc").read_text()), (tmp_path / "stdout").read_text(), (tmp_path / "stderr").read_text()


def assert_refused(rc: int, out: str, err: str, *words: str) -> None:
    assert rc == 2, (out, err)
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "nothing was run" in lines[0]
    for w in words:
        assert w in lines[0], err
    assert "run " not in out  # no run started: no host was touched


@needs_root
def test_read_only_state_dir(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    rc, out, err = in_namespace(tmp_path, f'mount -t tmpfs -o size=8m tmpfs "{state}"\n'
                                          f'mount -o remount,ro "{state}"', str(state))
    assert_refused(rc, out, err, str(state / "runs"), "Read-only file system")


@needs_root
def test_read_only_state_dir_with_runs_in_it(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    rc, out, err = in_namespace(tmp_path, f'mount -t tmpfs -o size=8m tmpfs "{state}"\nmkdir "{state}/runs"\n'
                                          f'mount -o remount,ro "{state}"', str(state))
    assert_refused(rc, out, err, "cannot write in the state dir", "Read-only file system")


def test_state_dir_under_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a directory\n")
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    env = {**os.environ, "K8S_TUI_STATE_DIR": str(afile / "state"), "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "k8s_tui", "apply", str(plan), "--dry-run"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert_refused(p.returncode, p.stdout, p.stderr, "is under a file")
    assert afile.read_text() == "not a directory\n"


@needs_root
def test_full_state_dir(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    # a 1 MiB tmpfs filled to the last block: the check's own small write fails
    rc, out, err = in_namespace(tmp_path, f'mount -t tmpfs -o size=1m tmpfs "{state}"\n'
                                          f'dd if=/dev/zero of="{state}/fill" bs=64k 2>/dev/null || true', str(state))
    assert_refused(rc, out, err, "No space left on device")


@needs_root
def test_state_dir_without_room(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    # a 32 MiB tmpfs with 1 MiB left: writable, but not enough room for a run's record
    rc, out, err = in_namespace(tmp_path, f'mount -t tmpfs -o size=32m tmpfs "{state}"\n'
                                          f'dd if=/dev/zero of="{state}/fill" bs=1M count=31 2>/dev/null', str(state))
    assert_refused(rc, out, err, "MiB free", "a run needs at least 4.0 MiB")


# -- SIGTERM ---------------------------------------------------------------------------------------

# The CLI's dry run takes no time (its executor's speed is 0, so a slow fault scales nothing); the
# test's copy of the CLI runs it at speed 1, where worker-1 ({slow: 1000}) needs 20 s per command.
DRIVER = """\
import dataclasses, sys
import k8s_tui.cli.runs as runs
_make = runs.executor_factory
runs.executor_factory = lambda args: dataclasses.replace(_make(args), speed=1.0)
from k8s_tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_mid_step_cancels_closes_the_journal_and_exits_143(tmp_path):
    plan, faults, state = tmp_path / "plan.yaml", tmp_path / "faults.yaml", tmp_path / "state"
    plan.write_text(PLAN)
    faults.write_text("worker-1: {slow: 1000}\n")
    env = {**os.environ, "K8S_TUI_STATE_DIR": str(state), "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, "apply", str(plan), "--dry-run", "--faults", str(faults)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        # cp-1 finishing its facts step means worker-1's facts step runs: it started with cp-1's,
        # and each of its commands takes 20 s
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if "cp-1" in line and " facts " in line:
                break
        else:
            pytest.fail(f"the run ended before cp-1's facts step: {''.join(seen)} {proc.stderr.read()}")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = "".join(seen) + out
    assert proc.returncode == 143, (out, err)
    assert "Traceback" not in err, err
    run_id = out.split()[1].rstrip(":")
    assert f"terminated (SIGTERM): the journal of run {run_id} is in" in err
    assert f"`k8s-tui resume {run_id}` continues from the first unfinished step" in err
    # the step that was running was cancelled half way, and the journal has its end
    records = [json.loads(ln) for ln in (state / "runs" / run_id / "journal.jsonl").read_text().splitlines()]
    facts = [r for r in records if r["type"] == "step_finished" and r["host"] == "worker-1" and r["step_id"] == "facts"]
    assert len(facts) == 1 and facts[0]["status"] == "failed" and facts[0]["interrupted"], facts
    assert records[-1]["type"] == "run_finished" and records[-1]["status"] == "interrupted"
    summary = json.loads((state / "runs" / run_id / "summary.json").read_text())
    assert summary["status"] == "interrupted"
