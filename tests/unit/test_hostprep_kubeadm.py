"""The kubeadm steps on the dry-run executor: config, init (live progress, failures), joins with
fresh tokens and certificate keys, the network add-on, verify with the kubeconfig copy, reset."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from k8s_tui.engine.dryrun import Transcript
from k8s_tui.engine.faults import FaultPlan
from k8s_tui.engine.runner import RunPlan, Stage
from k8s_tui.hostprep.facts import ADMIN_CONF, INIT_CONFIG, JOIN_CONFIG
from k8s_tui.backends.kubeadm.path import kubeadm_run_plan
from k8s_tui.backends.kubeadm.steps import (
    ClusterState,
    CniSpec,
    CniStep,
    JoinMaterial,
    KubeadmConfigStep,
    KubeadmInitStep,
    KubeadmJoinStep,
    VerifyStep,
    cni_patches,
    cni_spec,
    local_kubeconfig_path,
    parse_certificate_key,
    parse_join_command,
)

from .hostprep_helpers import executor, make_plan, run, run_steps

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kubeadm"
HA = [{"name": "cp1", "address": "10.0.0.1", "roles": ["control-plane"]},
      {"name": "cp2", "address": "10.0.0.2", "roles": ["control-plane"]},
      {"name": "w1", "address": "10.0.0.3", "roles": ["worker"]},
      {"name": "w2", "address": "10.0.0.4", "roles": ["worker"]}]
TOKEN = "abcdef.0123456789abcdef"
HASH = "sha256:" + "ab" * 32
KEY = "cd" * 32


def transcript(match: str, text: str, exit: int = 0) -> Transcript:
    return Transcript(match=match, exit=exit, lines=[("stderr" if re.match(r"^[IWEF]\d{4} ", ln) else "stdout", ln) for ln in text.splitlines()])


def test_parse_join_command_and_certificate_key():
    out = f"kubeadm join 10.0.0.100:6443 --token {TOKEN} --discovery-token-ca-cert-hash {HASH} \n"
    assert parse_join_command(out) == ("10.0.0.100:6443", TOKEN, HASH)
    assert parse_join_command(f"kubeadm join lb.example:6443 --token {TOKEN} \\\n\t--discovery-token-ca-cert-hash {HASH}") == ("lb.example:6443", TOKEN, HASH)
    assert parse_join_command("error: no") is None
    up = f'[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n[upload-certs] Using certificate key:\n{KEY}\n'
    assert parse_certificate_key(up) == KEY and parse_certificate_key("nothing") is None


def test_join_material_expiry():
    m = JoinMaterial("e:6443", TOKEN, HASH, token_made=0.0, certificate_key=KEY, key_made=0.0)
    assert m.token_ok(22.9 * 3600) and not m.token_ok(23.1 * 3600)
    assert m.key_ok(1.7 * 3600) and not m.key_ok(1.8 * 3600)
    assert TOKEN not in repr(m) and KEY not in repr(m)


def init_only(plan, state: ClusterState, **kw) -> RunPlan:
    return RunPlan([Stage("config", [KubeadmConfigStep()]), Stage("init", [KubeadmInitStep(state, **kw)])])


def test_config_uploaded_0600_and_init_streams_progress_and_keeps_join_material():
    plan = make_plan()
    ex = executor()
    state = ClusterState(clock=lambda: 1000.0)
    ev = run(plan, init_only(plan, state), ex)
    assert ev.status("cp1", "kubeadm-config") == "changed" and ev.status("cp1", "kubeadm-init") == "changed", ev.failures()
    w = next(c for c in ex.writes("cp1") if c.path == INIT_CONFIG)
    assert w.mode == 0o600 and b"kind: InitConfiguration" in w.content and b"apiVersion: kubeadm.k8s.io/v1beta4" in w.content
    assert ["kubeadm", "init", "--config", INIT_CONFIG] in ex.commands("cp1")
    phases = [t for t in ev.text("cp1", "kubeadm-init", "info") if t.startswith("phase ")]
    assert phases[0] == "phase 1/14: preflight (pre-flight checks)" and phases[-1].startswith("phase 14/14: show-join-command")
    assert state.join.token == "cj1u0k.fucyrjoxei8zw43m" and state.join.endpoint == "10.0.0.1:6443"
    assert state.join.token_made == 1000.0 and state.join.certificate_key is None
    assert ("w1", "kubeadm-init") not in ev.finished
    # HA: --upload-certs
    ex2 = executor()
    run(make_plan(hosts=HA, control_plane_endpoint="10.0.0.100:6443"), init_only(make_plan(hosts=HA), ClusterState()), ex2)
    assert ["kubeadm", "init", "--config", INIT_CONFIG, "--upload-certs"] in ex2.commands("cp1")


def test_init_failure_reports_phase_errors_hint_and_fetches_the_kubelet_journal():
    plan = make_plan()
    fail = transcript(r"kubeadm init --config .*", (FIXTURES / "wait-control-plane-timeout-api-check.txt").read_text(), exit=1)
    journal = transcript(r"journalctl -xeu kubelet --no-pager -n 50", "Nov 26 10:00:01 cp1 kubelet[812]: E1126 run.go:72] \"command failed\" err=\"failed to load kubelet config file\"")
    ex = executor(transcripts=[fail, journal])
    ev = run(plan, init_only(plan, ClusterState()), ex)
    fin = ev.finished[("cp1", "kubeadm-init")]
    assert fin.status == "failed"
    assert fin.message.startswith("kubeadm init failed in phase wait-control-plane (exit status 1)")
    assert "context deadline exceeded" in fin.message and "journal" in fin.hint
    out = ev.text("cp1", "kubeadm-init")
    assert "$ journalctl -xeu kubelet --no-pager -n 50" in out and any("failed to load kubelet config file" in t for t in out)
    assert out.index("$ journalctl -xeu kubelet --no-pager -n 50") > out.index("$ kubeadm init --config /etc/kubernetes/k8s-tui/kubeadm.yaml")


def test_preflight_failure_of_kubeadm_names_the_check_without_a_journal():
    plan = make_plan()
    fail = transcript(r"kubeadm init --config .*", (FIXTURES / "preflight-swap-v1.17.txt").read_text(), exit=1)
    ev = run(plan, init_only(plan, ClusterState()), executor(transcripts=[fail]))
    fin = ev.finished[("cp1", "kubeadm-init")]
    assert "failed in phase preflight" in fin.message and "Swap" in fin.message
    assert not [t for t in ev.text("cp1", "kubeadm-init", "cmd") if "journalctl" in t]


def test_existing_control_plane_whose_api_does_not_answer_fails_with_reset_hint():
    plan = make_plan()
    down = transcript(r"kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw /readyz", "connection refused", exit=1)
    ex = executor(transcripts=[down], files={ADMIN_CONF: "x"})
    ev = run(plan, init_only(plan, ClusterState(), api_wait=0.05, interval=0.01), ex)
    fin = ev.finished[("cp1", "kubeadm-init")]
    assert fin.status == "failed" and "does not answer" in fin.message and "k8s-tui reset" in fin.hint
    assert not [c for c in ex.commands("cp1") if c[:2] == ["kubeadm", "init"]]


def full(plan, ex, state, tmp_path, run_id="r1"):
    return run(plan, kubeadm_run_plan(plan, state=state, state_base=tmp_path, verify_timeout=2), ex, run_id=run_id)


def test_joins_serial_control_plane_with_fresh_key_then_parallel_workers(tmp_path):
    plan = make_plan(hosts=HA, control_plane_endpoint="10.0.0.100:6443")
    ex = executor()
    state = ClusterState()
    ev = full(plan, ex, state, tmp_path)
    assert not ev.failures(), ev.failures()
    rp = kubeadm_run_plan(plan)
    cp_join, w_join = rp.step("kubeadm-join-control-planes"), rp.step("kubeadm-join-workers")
    assert cp_join.serial and not w_join.serial
    assert set(k[0] for k in ev.finished if k[1] == "kubeadm-join-control-planes") == {"cp2"}
    assert set(k[0] for k in ev.finished if k[1] == "kubeadm-join-workers") == {"w1", "w2"}
    # the single-CP init output had no certificate key: one upload-certs on cp1 for cp2's join
    assert ex.commands("cp1", step_id="kubeadm-join-control-planes")[0] == ["kubeadm", "init", "phase", "upload-certs", "--upload-certs"]
    cp2_cfg = ex.sim("cp2").files[JOIN_CONFIG].decode()
    assert "controlPlane:" in cp2_cfg and "certificateKey: f0c5d2c8" in cp2_cfg
    w1_cfg = ex.sim("w1").files[JOIN_CONFIG].decode()
    assert "controlPlane:" not in w1_cfg and "token: cj1u0k.fucyrjoxei8zw43m" in w1_cfg
    # secrets of the token/key commands are not in the log
    logged = "\n".join(e.text for e in ev.lines)
    assert "f0c5d2c8e7c6b4a39a1b0e8d7c6f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4" not in logged.replace("certificateKey", "")


def test_expired_token_and_key_are_made_fresh_once_for_all_joins(tmp_path):
    plan = make_plan(hosts=HA)
    now = [0.0]
    state = ClusterState(clock=lambda: now[0])
    state.join = JoinMaterial("10.0.0.1:6443", TOKEN, HASH, token_made=0.0, certificate_key=KEY, key_made=0.0)
    now[0] = 25 * 3600.0
    ex = executor(files={ADMIN_CONF: "x"})
    ex.sim("cp1").files["/etc/kubernetes/kubelet.conf"] = b"x"
    rp = RunPlan([Stage("cp", [KubeadmJoinStep(state, control_plane=True)]), Stage("w", [KubeadmJoinStep(state, control_plane=False)])])
    for h in ("cp2", "w1", "w2"):
        ex.sim(h).files.pop(ADMIN_CONF, None)
    ev = run(plan, rp, ex)
    assert not ev.failures(), ev.failures()
    made = [c.argv for c in ex.calls if c.host == "cp1" and c.kind == "run"]
    assert made.count(["kubeadm", "token", "create", "--print-join-command"]) == 1
    assert made.count(["kubeadm", "init", "phase", "upload-certs", "--upload-certs"]) == 1
    assert state.join.token == "cj1u0k.fucyrjoxei8zw43m" and state.join.certificate_key != KEY
    assert TOKEN not in ex.sim("w1").files[JOIN_CONFIG].decode()
    assert "cj1u0k.fucyrjoxei8zw43m" not in "\n".join(e.text for e in ev.lines)  # quiet: the new token is not logged


def test_a_resumed_run_without_init_makes_a_token_and_joins(tmp_path):
    plan = make_plan()
    ex = executor()
    assert not full(plan, ex, ClusterState(), tmp_path).failures()
    ex.sim("w1").files.pop("/etc/kubernetes/kubelet.conf")  # as if w1's join had not happened
    n = len(ex.calls)
    ev = full(plan, ex, ClusterState(), tmp_path, run_id="r2")
    assert ev.status("cp1", "kubeadm-init") == "unchanged" and ev.status("w1", "kubeadm-join-workers") == "changed"
    assert ["kubeadm", "token", "create", "--print-join-command"] in [c.argv for c in ex.calls[n:] if c.host == "cp1"]


def sed(exprs: list[str], text: str) -> str:
    return subprocess.run(["sed", *exprs], input=text, capture_output=True, text=True, check=True).stdout


def test_cni_pod_cidr_patches_with_real_sed():
    calico = ('            # - name: CALICO_IPV4POOL_CIDR\n            #   value: "192.168.0.0/16"\n'
              '            # Disable file logging so `kubectl logs` works.\n')
    spec = cni_spec(make_plan(cni="calico"))
    (exprs, must), = cni_patches(spec, "10.42.0.0/16")
    out = sed(exprs, calico)
    assert out.splitlines()[:2] == ["            - name: CALICO_IPV4POOL_CIDR", '              value: "10.42.0.0/16"'] and must in out
    flannel = '  net-conf.json: |\n    {\n      "Network": "10.244.0.0/16",\n      "EnableNFTables": false,\n'
    (exprs, must), = cni_patches(cni_spec(make_plan(cni="flannel")), "fd00:10:244::/56")
    assert '"Network": "fd00:10:244::/56",' in sed(exprs, flannel)
    assert cni_spec(make_plan(cni="none")) is None
    assert cni_spec(make_plan(cni="cilium")).daemonset == ("kube-system", "cilium")


def test_cni_calico_download_patch_apply_then_unchanged():
    plan = make_plan(pod_cidr="10.42.0.0/16")
    ex = executor(files={ADMIN_CONF: "x"})
    ev = run_steps(plan, [CniStep()], ex, facts=False)
    assert ev.status("cp1", "cni") == "changed"
    cmds = ex.commands("cp1", step_id="cni", phase="apply")
    assert cmds[1][:6] == ["curl", "-fsSL", "--retry", "3", "-o", "/etc/kubernetes/k8s-tui/cni/calico.yaml"]
    assert cmds[1][6].startswith("https://raw.githubusercontent.com/projectcalico/calico/v3.")
    assert ["grep", "-F", "-q", "-e", 'value: "10.42.0.0/16"', "/etc/kubernetes/k8s-tui/cni/calico.yaml"] in cmds
    assert cmds[-1] == ["kubectl", "--kubeconfig", ADMIN_CONF, "apply", "-f", "/etc/kubernetes/k8s-tui/cni/calico.yaml"]
    assert run_steps(plan, [CniStep()], ex, facts=False).status("cp1", "cni") == "unchanged"
    # another pod CIDR is applied again
    assert run_steps(make_plan(pod_cidr="10.43.0.0/16"), [CniStep()], ex, facts=False).status("cp1", "cni") == "changed"


def test_cni_manifest_file_or_url_and_cilium_needs_its_cli(tmp_path):
    m = tmp_path / "net.yaml"
    m.write_text("kind: DaemonSet\n")
    ex = executor(files={ADMIN_CONF: "x"})
    ev = run_steps(make_plan(cni="manifest", cni_manifest=str(m)), [CniStep()], ex, facts=False)
    assert ev.status("cp1", "cni") == "changed" and ex.sim("cp1").files["/etc/kubernetes/k8s-tui/cni/manifest.yaml"] == b"kind: DaemonSet\n"
    ex = executor(files={ADMIN_CONF: "x"})
    run_steps(make_plan(cni="manifest", cni_manifest="https://example.org/net.yaml"), [CniStep()], ex, facts=False)
    assert ["kubectl", "--kubeconfig", ADMIN_CONF, "apply", "-f", "https://example.org/net.yaml"] in ex.commands("cp1")
    nocli = Transcript(match=r"sh -c 'command -v cilium' k8s-tui-cilium", exit=1)
    ev = run_steps(make_plan(cni="cilium"), [CniStep()], executor(transcripts=[nocli], files={ADMIN_CONF: "x"}), facts=False)
    fin = ev.finished[("cp1", "cni")]
    assert fin.status == "failed" and "cilium CLI" in fin.hint


def test_verify_waits_for_ready_nodes_and_copies_the_kubeconfig_0600(tmp_path):
    plan = make_plan()
    ex = executor(files={ADMIN_CONF: "apiVersion: v1\nkind: Config\n", "/etc/kubernetes/kubelet.conf": "x"})
    ex.sim("w1")  # a host the dry run has seen: it has the kubelet.conf above
    ev = run_steps(plan, [VerifyStep(timeout=1, interval=0.01, state_base=tmp_path)], ex, facts=False)
    assert ev.status("cp1", "verify") == "changed", ev.failures()
    wait = [c for c in ex.commands("cp1", step_id="verify") if "wait" in c]
    assert wait[0][-2:] == ["node/cp1", "node/w1"] and "--timeout=0s" in wait[0]  # check: look once
    assert ["kubectl", "--kubeconfig", ADMIN_CONF, "get", "nodes", "-o", "name"] in ex.commands("cp1", step_id="verify", phase="apply")
    local = local_kubeconfig_path(plan, tmp_path)
    assert local.read_bytes() == b"apiVersion: v1\nkind: Config\n" and oct(local.stat().st_mode & 0o777) == "0o600"
    assert oct(local.parent.stat().st_mode & 0o777) == "0o700"
    assert run_steps(plan, [VerifyStep(timeout=1, state_base=tmp_path)], ex, facts=False).status("cp1", "verify") == "unchanged"


def test_verify_times_out_with_hint_and_shows_the_nodes(tmp_path):
    notready = transcript(r"kubectl .* wait .*", "error: timed out waiting for the condition on nodes/w1", exit=1)
    ex = executor(transcripts=[notready], files={ADMIN_CONF: "x", "/etc/kubernetes/kubelet.conf": "x"})
    ex.sim("w1")
    ev = run_steps(make_plan(), [VerifyStep(timeout=0.05, interval=0.01, state_base=tmp_path)], ex, facts=False)
    fin = ev.finished[("cp1", "verify")]
    assert fin.status == "failed" and "timed out" in fin.message and "network add-on" in fin.hint
    assert "$ kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o wide" in ev.text("cp1", "verify", "cmd")


def test_verify_does_not_wait_for_a_host_that_never_joined_but_still_copies_the_kubeconfig(tmp_path):
    plan = make_plan()
    ex = executor(files={ADMIN_CONF: "x"})
    ex.sim("cp1").files["/etc/kubernetes/kubelet.conf"] = b"x"  # w1 has none: its join failed
    ev = run_steps(plan, [VerifyStep(timeout=30, interval=0.01, state_base=tmp_path)], ex, facts=False)
    fin = ev.finished[("cp1", "verify")]
    assert fin.status == "failed" and "not in the cluster: w1" in fin.message and "1 of 2 nodes Ready" in fin.message
    assert local_kubeconfig_path(plan, tmp_path).exists()
    # it did not wait for w1: one `kubectl wait`, for the node that is there, and no second round
    waits = [c for c in ex.commands("cp1", step_id="verify", phase="apply") if "wait" in c]
    assert len(waits) == 1 and [a for a in waits[0] if a.startswith("node/")] == ["node/cp1"]


def test_verify_without_admin_conf_fails_at_once_naming_init(tmp_path):
    """No admin.conf on the first control plane (init never ran, or a reset): no API server can come
    up, so verify says so at once instead of polling the API for its whole timeout."""
    ex = executor()
    ev = run_steps(make_plan(), [VerifyStep(timeout=3600, interval=0.01, state_base=tmp_path)], ex, facts=False)
    fin = ev.finished[("cp1", "verify")]
    assert fin.status == "failed" and f"{ADMIN_CONF} is missing on cp1" in fin.message and "kubeadm-init" in fin.hint
    assert not [c for c in ex.commands("cp1", step_id="verify", phase="apply") if "get" in c]  # no API polled


def test_joins_fail_fast_when_init_failed_and_another_hosts_trouble_is_not_this_hosts():
    plan = make_plan()
    state = ClusterState()
    fail = transcript(r"kubeadm init --config .*", (FIXTURES / "wait-control-plane-timeout-api-check.txt").read_text(), exit=1)
    ev = run(plan, RunPlan([*init_only(plan, state).stages, Stage("w", [KubeadmJoinStep(state, control_plane=False)])]),
             executor(transcripts=[fail]))
    assert ev.status("cp1", "kubeadm-init") == "failed"
    fin = ev.finished[("w1", "kubeadm-join-workers")]
    assert fin.status == "failed" and fin.message.startswith("nothing to join: kubeadm init failed")
    # the first control plane unreachable while a worker joins: the worker's step fails, the worker is not "lost"
    plan2 = make_plan(hosts=[{"name": "unreachable-cp", "address": "10.0.0.9", "roles": ["control-plane"]},
                             {"name": "w1", "address": "10.0.0.2", "roles": ["worker"]}])
    ev = run(plan2, RunPlan([Stage("w", [KubeadmJoinStep(ClusterState(), control_plane=False)])]),
             executor(faults=FaultPlan.from_doc({"unreachable-cp": "unreachable"})))
    fin = ev.finished[("w1", "kubeadm-join-workers")]
    assert fin.status == "failed" and "cannot run on unreachable-cp" in fin.message


def test_cni_spec_names_a_daemonset_for_the_pinned_add_ons():
    assert isinstance(cni_spec(make_plan(cni="flannel")), CniSpec)
    assert cni_spec(make_plan(cni="flannel")).daemonset == ("kube-flannel", "kube-flannel-ds")
