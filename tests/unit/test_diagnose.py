"""`k8s-tui diagnose FILE [--json]`, run as a user would (in-process, output captured)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from k8s_tui import cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kubeadm"


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fx(name: str) -> str:
    return str(FIXTURES / name)


def test_success_report(capsys):
    code, out, err = run(capsys, "diagnose", fx("init-ha-upload-certs-v1.32.txt"))
    assert code == 0, err
    assert "kubeadm init succeeded (Kubernetes v1.32.7)" in out
    lines = out.splitlines()
    # the join commands come out whole, one line each, ready to paste
    assert (
        "kubeadm join k8s-lab.lab.vezpi.me:6443 --token 8etamd.g8whseg60kg09nu1 --discovery-token-ca-cert-hash "
        "sha256:65c4da3121f57d2e67ea6c1c1349544c9e295d78790b199b5c3be908ffe5ed6c"
    ) in lines
    assert any(line.startswith("kubeadm join ") and line.endswith(
        "--control-plane --certificate-key 70614009469f9fc7a97c392253492c509f1884281f59ccd7725b3200e3271794"
    ) for line in lines)
    assert "show-join-command" in out
    flat = " ".join(out.split())
    assert "expires 24 hours" in flat
    assert "deleted 2 hours" in flat


def test_failure_report_with_hints(capsys):
    code, out, _ = run(capsys, "diagnose", fx("preflight-ip-forward-v1.23.txt"))
    assert code == 1
    flat = " ".join(out.split())
    assert "kubeadm init failed in phase preflight" in flat
    assert "[ERROR FileContent--proc-sys-net-ipv4-ip_forward] /proc/sys/net/ipv4/ip_forward contents are not set to 1" in flat
    assert "What to look at next" in out
    assert "net.ipv4.ip_forward = 1" in flat and "sysctl step" in flat


def test_timeout_report_points_at_the_kubelet(capsys):
    code, out, _ = run(capsys, "diagnose", fx("wait-control-plane-timeout-crio.txt"))
    assert code == 1
    flat = " ".join(out.split())
    assert "failed in phase wait-control-plane" in flat
    assert "journalctl -xeu kubelet" in flat
    assert "timed out waiting for the condition" in flat


def test_join_failure_report(capsys):
    code, out, _ = run(capsys, "diagnose", fx("join-control-plane-certs-expired-v1.32.txt"))
    assert code == 1
    flat = " ".join(out.split())
    assert "kubeadm join failed in phase control-plane-prepare/download-certs" in flat
    assert "kubeadm init phase upload-certs --upload-certs" in flat


def test_preflight_warnings_listed(capsys):
    code, out, _ = run(capsys, "diagnose", fx("preflight-cri-v1.25.txt"))
    assert code == 1
    assert "Preflight warnings" in out and "[WARNING Swap]" in out
    assert "Preflight errors" in out and "[ERROR CRI]" in out


def test_json(capsys):
    code, out, _ = run(capsys, "diagnose", fx("init-ha-upload-certs-v1.28.txt"), "--json")
    assert code == 0
    j = json.loads(out)
    assert j["succeeded"] is True and j["failed_phase"] is None
    assert j["preflight_errors"] == []
    assert j["join_worker"].startswith("kubeadm join 172.31.42.243:6443 --token zn9nc8.yzjycysxsnu0cxze ")
    assert j["join_control_plane"].endswith(" --control-plane --certificate-key c4fa3b3c313a4586481087c051808223240235bd182eac5f7d08022056c2008f")
    assert j["token_ttl_hours"] == 24 and j["certificate_key_ttl_hours"] == 2
    assert j["phases_reached"][-1] == "show-join-command"


def test_json_failure(capsys):
    code, out, _ = run(capsys, "diagnose", "--json", fx("preflight-swap-v1.17.txt"))
    assert code == 1
    j = json.loads(out)
    assert j["succeeded"] is False
    assert j["failed_phase"] == "preflight"
    assert j["preflight_errors"] == [{"check": "Swap", "message": "running with swap on is not supported. Please disable swap"}]
    assert j["join_worker"] is None and j["join_control_plane"] is None
    assert [h["id"] for h in j["hints"]] == ["swap", "cgroup-driver"]
    assert all(set(h) >= {"error", "hint"} for h in j["hints"])


def test_stdin(capsys, monkeypatch):
    data = (FIXTURES / "join-worker-v1.32.txt").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = run(capsys, "diagnose", "-", "--json")
    assert code == 0
    j = json.loads(out)
    assert j["kind"] == "join" and j["succeeded"] is True


def test_unfinished_output_is_not_success(capsys, tmp_path):
    f = tmp_path / "partial.log"
    f.write_text("[init] Using Kubernetes version: v1.33.2\n[preflight] Running pre-flight checks\n")
    code, out, _ = run(capsys, "diagnose", str(f))
    assert code == 1
    assert "did not finish" in out


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "cannot read"),
        (lambda p: p.write_text(""), "empty"),
        (lambda p: p.write_bytes(b"\x7fELF\x00\x00binary"), "binary"),
        (lambda p: p.write_text("hello\nthis is not kubeadm\n"), "no kubeadm init or join output"),
    ],
)
def test_unreadable_input_exits_2_without_traceback(capsys, tmp_path, setup, message):
    p = tmp_path / "input.log"
    setup(p)
    code, out, err = run(capsys, "diagnose", str(p))
    assert code == 2
    assert message in err
    assert "Traceback" not in err and out == ""
