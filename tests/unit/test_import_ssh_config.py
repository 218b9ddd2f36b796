"""Import of hosts from an OpenSSH client config."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_tui.backends.importers import import_ssh_config, to_plan
from k8s_tui.cli import main
from k8s_tui.model.plan import load_plan
from k8s_tui.yamlio import InputError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "inventories"
CONFIG = FIX / "ssh" / "config"
GOLDEN_PLAN = Path(__file__).resolve().parents[1] / "golden" / "render" / "plan.yaml"


def test_hosts_resolved_like_ssh():
    res = import_ssh_config(CONFIG)
    got = {h.name: (h.address, h.user, h.port, h.key_file, h.proxy_jump, [r.value for r in h.roles]) for h in res.hosts}
    assert got == {
        "cp-1": ("10.0.0.11", "ubuntu", 22, "~/.ssh/k8s_ed25519", "admin@203.0.113.10:22", ["control-plane"]),
        "cp-2": ("10.0.0.12", "ubuntu", 2222, "~/.ssh/k8s_ed25519", "admin@203.0.113.10:22", ["worker"]),
        # Host=value form, User from the trailing 'Host *'
        "worker-1": ("10.0.0.21", "root", 22, None, None, ["worker"]),
    }


def test_notices():
    res = import_ssh_config(CONFIG)
    got = [(n.line, n.kind) for n in res.notices]
    assert (1, "comment") in got and (20, "comment") in got  # a trailing comment too
    assert (2, "skipped") in got  # bastion: the others jump through it
    assert (22, "skipped") in got and (28, "skipped") in got  # wildcards
    assert (25, "skipped") in got and (26, "skipped") in got  # Match block
    assert (20, "unknown") in got  # ForwardAgent
    assert any(n.kind == "default" and "no roles" in n.message for n in res.notices)


def test_only_and_jump_host():
    res = import_ssh_config(CONFIG, only=["bastion", "cp-2"])
    assert [h.name for h in res.hosts] == ["bastion", "cp-2"]
    with pytest.raises(InputError, match="no Host nope"):
        import_ssh_config(CONFIG, only=["nope"])


def test_repeated_host_block_first_value_wins():
    res = import_ssh_config(FIX / "ssh" / "repeated_host")
    assert res.hosts[0].address == "10.0.0.1"
    assert any(n.line == 4 and "ignored" in n.message for n in res.notices)


@pytest.mark.parametrize("name,message", [
    ("ssh_duplicate", "ssh_duplicate:3: Host 'Web' and 'web' (line 1) would both be node 'web'"),
    ("ssh_badname", "ssh_badname:1: host 'under_score'"),
    ("ssh_badport", "ssh_badport:2: port 99999 is outside 1..65535"),
])
def test_malformed(name, message):
    with pytest.raises(InputError) as e:
        import_ssh_config(FIX / "malformed" / name)
    assert message in str(e.value)


def test_update_merges_and_keeps_roles():
    plan = load_plan(GOLDEN_PLAN)
    res = import_ssh_config(CONFIG)
    new, changes = to_plan(res, plan)
    assert [h.name for h in new.hosts] == ["cp1", "cp2", "cp3", "w1", "w2", "cp-1", "cp-2", "worker-1"]
    # the plan already has a control plane: new hosts come in as workers
    assert [r.value for r in new.inventory.get("cp-1").roles] == ["worker"]
    assert new.tuning == plan.tuning
    assert "host + cp-1 (worker) 10.0.0.11" in changes


def test_update_existing_host_keeps_roles(tmp_path):
    plan = load_plan(GOLDEN_PLAN)
    cfg = tmp_path / "config"
    cfg.write_text("Host cp1\n  HostName 10.1.1.1\n  User admin\n")
    new, changes = to_plan(import_ssh_config(cfg), plan)
    cp1 = new.inventory.get("cp1")
    assert (cp1.address, cp1.user, [r.value for r in cp1.roles]) == ("10.1.1.1", "admin", ["control-plane", "etcd"])
    assert changes == ["host ~ cp1: address 10.0.0.11 -> 10.1.1.1; user root -> admin"]


def test_default_path(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(CONFIG.read_text())
    out = tmp_path / "plan.yaml"
    assert main(["import", "ssh-config", "-o", str(out)]) == 0
    assert [h.name for h in load_plan(out).hosts] == ["cp-1", "cp-2", "worker-1"]
    assert main(["import", "ssh-config", "-o", str(tmp_path / "p2.yaml"), "--only", "cp-2"]) == 0
    assert [h.name for h in load_plan(tmp_path / "p2.yaml").hosts] == ["cp-2"]


def test_missing_file(tmp_path, capsys):
    assert main(["import", "ssh-config", str(tmp_path / "none"), "-o", str(tmp_path / "p.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err
