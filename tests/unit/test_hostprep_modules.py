"""Kernel modules: what counts as loaded, modprobe for the rest, /etc/modules-load.d."""

from __future__ import annotations

import subprocess

from k8s_tui.engine.dryrun import Transcript
from k8s_tui.hostprep.modules import MODULES_FILE, PROBE_SCRIPT, ModulesStep, modules_for, parse_probe, render_modules_file

from .hostprep_helpers import executor, make_plan, run_steps


def test_modules_for_proxy_mode():
    assert modules_for(make_plan()) == ["overlay", "br_netfilter", "nf_conntrack"]
    assert modules_for(make_plan(kube_proxy_mode="ipvs"))[-4:] == ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"]


def test_probe_runs_here_and_counts_built_in_modules():
    out = subprocess.run(["sh", "-c", PROBE_SCRIPT, "k8s-tui-modules", "overlay", "br_netfilter", "nf_conntrack", "no_such_mod"],
                         capture_output=True, text=True, timeout=30).stdout
    st = parse_probe(out)
    assert set(st) == {"overlay", "br_netfilter", "nf_conntrack", "no_such_mod"}
    assert st["no_such_mod"] == "no"
    assert all(v in ("loaded", "builtin", "present", "no") for v in st.values())


def probe(answer: dict[str, str]) -> Transcript:
    return Transcript(match=r"(?s)sh -c .* k8s-tui-modules( .*)?", lines=[("stdout", f"{k} {v}") for k, v in answer.items()])


def test_missing_module_is_loaded_and_persisted_then_unchanged():
    plan = make_plan()
    ex = executor()
    ev = run_steps(plan, [ModulesStep()], ex)
    assert ev.status("cp1", "modules") == "changed"  # loaded already; the file is new
    assert ex.sim("cp1").files[MODULES_FILE].decode() == render_modules_file(["overlay", "br_netfilter", "nf_conntrack"])
    assert not [c for c in ex.commands("cp1") if c[0] == "modprobe"]
    assert run_steps(plan, [ModulesStep()], ex, run_id="again").status("cp1", "modules") == "unchanged"


def test_modprobe_for_what_is_missing_and_a_module_that_cannot_load():
    plan = make_plan()
    ex = executor(transcripts=[probe({"overlay": "builtin", "br_netfilter": "no", "nf_conntrack": "present"})])
    ev = run_steps(plan, [ModulesStep()], ex)
    assert ["modprobe", "br_netfilter"] in ex.commands("cp1", step_id="modules", phase="apply")
    fin = ev.finished[("cp1", "modules")]
    assert fin.status == "failed" and "still not loaded: br_netfilter" in fin.message  # the probe says "no" again
    fail = Transcript(match="modprobe br_netfilter", exit=1,
                      lines=[("stderr", "modprobe: FATAL: Module br_netfilter not found in directory /lib/modules/6.1.0-18-amd64")])
    ex = executor(transcripts=[fail, probe({"overlay": "loaded", "br_netfilter": "no", "nf_conntrack": "loaded"})])
    fin = run_steps(plan, [ModulesStep()], ex).finished[("cp1", "modules")]
    assert fin.status == "failed" and "cannot load br_netfilter: modprobe: FATAL" in fin.message and "modules-extra" in fin.hint
    assert MODULES_FILE in ex.sim("cp1").files  # persisted anyway: loads at the next boot once the module is there
