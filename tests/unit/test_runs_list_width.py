"""`k8s-tui runs` at 80 columns (issue 13): the run id is what `resume` and `rollback` take, so it
is never cut; less important columns wrap or move. Real dry-run records, made by the CLI itself."""

from __future__ import annotations

import pytest

from k8s_tui.cli import main
from k8s_tui.engine.journal import list_runs

PLAN = """\
name: a-plan-with-a-rather-long-name-for-narrow-terminals
tool: kubeadm
preset: kubeadm-minimum
hosts:
  - {name: cp-1, address: 192.0.2.10, user: root, roles: [control-plane]}
  - {name: worker-1, address: 192.0.2.11, user: root, roles: [worker]}
"""


@pytest.mark.parametrize("columns", [80, 60, 200])
def test_runs_shows_every_run_id_whole(tmp_path, monkeypatch, capsys, columns):
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    assert main(["apply", str(plan), "--dry-run", "--tuning-only"]) == 0
    first = list_runs()[-1].run_id
    assert main(["resume", first, "--dry-run"]) == 0
    assert main(["apply", str(plan), "--dry-run", "--tuning-only"]) == 0
    runs = [r.run_id for r in list_runs()]
    assert len(runs) == 3
    capsys.readouterr()

    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    lines = out.splitlines()
    table = [ln for ln in lines if not ln.startswith("in /")]  # the state dir's path is printed whole
    assert all(len(ln) <= columns for ln in table), out
    for rid in runs:  # each id whole, on one line, where a mouse or a triple-click picks it up
        assert any(rid in ln for ln in lines), (rid, out)
    resumed = list_runs()[1]
    assert resumed.resumed_from == first
    # the run it resumed is shown too, whole
    assert sum(first in ln for ln in lines) == 2, out
