"""Swap off now and after a reboot: /proc/swaps and /etc/fstab."""

from __future__ import annotations

from k8s_tui.engine.dryrun import Transcript
from k8s_tui.hostprep.swap import COMMENT, SwapStep, active_swaps, comment_out_swap, fstab_swap_lines

from .hostprep_helpers import executor, make_plan, run_steps

FSTAB = """\
# /etc/fstab: static file system information.
UUID=1111-2222 /               ext4    errors=remount-ro 0       1
UUID=3333-4444 none            swap    sw              0       0
/swapfile	none	swap	sw	0	0
#/dev/sdb1 none swap sw 0 0
tmpfs /tmp tmpfs defaults 0 0
"""
PROC_SWAPS_ON = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile                               file\t\t2097148\t\t0\t\t-2\n"


def test_fstab_lines_and_comment_out_keep_everything_else_byte_for_byte():
    assert fstab_swap_lines(FSTAB) == ["UUID=3333-4444 none            swap    sw              0       0", "/swapfile\tnone\tswap\tsw\t0\t0"]
    out = comment_out_swap(FSTAB)
    assert fstab_swap_lines(out) == []
    assert out.count(COMMENT) == 2 and out.replace(COMMENT, "") == FSTAB
    assert comment_out_swap(out) == out  # idempotent
    assert active_swaps(PROC_SWAPS_ON) == ["/swapfile"] and active_swaps("Filename Type Size Used Priority\n") == []


def test_swap_step_turns_off_comments_out_with_backup_then_unchanged():
    plan = make_plan()
    ex = executor(files={"/etc/fstab": FSTAB})
    ev = run_steps(plan, [SwapStep()], ex)
    assert ev.status("cp1", "swap") == "changed", ev.failures()
    assert "commented out 2 lines of /etc/fstab" in ev.finished[("cp1", "swap")].message
    w = [c for c in ex.writes("cp1") if c.path == "/etc/fstab"][0]
    assert w.backup_dir == "/var/lib/k8s-tui/backup/unit-run" and w.mode == 0o644
    assert ex.sim("cp1").files["/var/lib/k8s-tui/backup/unit-run/fstab"] == FSTAB.encode()
    assert fstab_swap_lines(ex.sim("cp1").files["/etc/fstab"].decode()) == []
    assert ["swapoff", "-a"] not in ex.commands("cp1")  # /proc/swaps was empty
    ev2 = run_steps(plan, [SwapStep()], ex, run_id="unit-run-2")
    assert ev2.status("cp1", "swap") == "unchanged" and ev2.status("w1", "swap") == "unchanged"


def test_active_swap_is_turned_off_and_a_swap_that_comes_back_fails_verify():
    plan = make_plan()
    on = Transcript(match="cat /proc/swaps", lines=[("stdout", ln) for ln in PROC_SWAPS_ON.splitlines()])
    ex = executor(transcripts=[on])
    ev = run_steps(plan, [SwapStep()], ex)
    assert ["swapoff", "-a"] in ex.commands("cp1", step_id="swap", phase="apply")
    fin = ev.finished[("cp1", "swap")]
    assert fin.status == "failed" and "still on: /swapfile" in fin.message and "zram" in fin.hint
