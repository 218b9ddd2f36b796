"""The foundation's commands, run as a user would (in-process, output captured)."""

import json
import subprocess
import sys

import pytest

from k8s_tui.cli import main

KUBEASZ_365_IPVS = """\
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.bridge.bridge-nf-call-arptables = 1
net.ipv4.tcp_tw_reuse = 0
net.core.somaxconn = 32768
net.netfilter.nf_conntrack_max = 1000000
vm.swappiness = 0
vm.max_map_count = 655360
fs.file-max = 6553600
net.ipv4.tcp_keepalive_time = 600
net.ipv4.tcp_keepalive_intvl = 30
net.ipv4.tcp_keepalive_probes = 10
"""


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_render_sysctl_kubeasz_365_ipvs_is_exactly_kubeasz(capsys):
    code, out, _ = run(capsys, "render-sysctl", "kubeasz-3.6.5", "--proxy-mode", "ipvs")
    assert code == 0
    body = "".join(line + "\n" for line in out.splitlines() if not line.startswith("#"))
    assert body == KUBEASZ_365_IPVS


def test_render_sysctl_kubeasz_365_iptables_has_no_keepalive(capsys):
    code, out, _ = run(capsys, "render-sysctl", "kubeasz-3.6.5", "--proxy-mode", "iptables")
    assert code == 0 and "keepalive" not in out and "net.core.somaxconn = 32768" in out


def test_render_sysctl_leaves_out_keys_the_kernel_lacks(capsys):
    code, out, _ = run(capsys, "render-sysctl", "datacenter-tcp", "--kernel", "5.15")
    assert code == 0
    assert "\nnet.ipv4.tcp_tw_recycle =" not in out
    assert "# net.ipv4.tcp_tw_recycle left out: removed in kernel 4.12, this host runs 5.15" in out
    code, out, _ = run(capsys, "render-sysctl", "datacenter-tcp", "--kernel", "4.9")
    assert "net.ipv4.tcp_tw_recycle = 0" in out


def test_render_sysctl_from_plan(capsys, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("preset: kubeasz-3.6.5\nkube_proxy_mode: ipvs\ntuning:\n  net.core.somaxconn: 4096\n")
    code, out, _ = run(capsys, "render-sysctl", str(plan))
    assert code == 0
    assert "net.core.somaxconn = 4096" in out and "net.ipv4.tcp_keepalive_time = 600" in out


def test_catalog_json_has_every_field(capsys):
    code, out, _ = run(capsys, "catalog", "--json")
    assert code == 0
    items = json.loads(out)
    assert len(items) >= 50
    for item in items:
        for field in ("key", "type", "min", "max", "allowed", "default", "netns", "pod_inherits",
                      "requires_module", "added_in", "removed_in", "overwritten_by", "sources"):
            assert field in item, (item["key"], field)
        assert item["sources"]
    by_key = {i["key"]: i for i in items}
    assert by_key["net.ipv4.tcp_tw_recycle"]["removed_in"] == "4.12"
    assert "kube-proxy" in by_key["net.netfilter.nf_conntrack_max"]["overwritten_by"]
    assert by_key["net.ipv4.tcp_tw_reuse"]["allowed"]


@pytest.mark.parametrize("lang,word", [("en", "Trade-off"), ("zh", "取舍")])
def test_explain(capsys, lang, word):
    code, out, _ = run(capsys, "explain", "net.ipv4.tcp_syn_retries", "--lang", lang, "--value", "2", "--kernel", "6.8")
    assert code == 0
    assert word in out and "net.ipv4.tcp_syn_retries" in out
    assert "\n> " in out  # the diagram marks where the key acts


def test_explain_unknown_key_suggests(capsys):
    code, _, err = run(capsys, "explain", "net.ipv4.tcp_tw_reus")
    assert code == 2
    assert "unknown sysctl key" in err and "net.ipv4.tcp_tw_reuse" in err


def test_explain_bad_value_names_rule(capsys):
    code, _, err = run(capsys, "explain", "net.core.somaxconn", "--value", "$(id)")
    assert code == 2 and "not a whole number" in err


def test_presets_list_and_diff(capsys):
    code, out, _ = run(capsys, "presets")
    assert code == 0
    for name in ("kernel-defaults", "kubeadm-minimum", "kubeasz-3.6.5", "kubeasz-3.7.0", "kubespray", "kops", "datacenter-tcp"):
        assert name in out
    code, out, _ = run(capsys, "presets", "diff", "kubeasz-3.6.5", "kops")
    assert code == 0
    assert "net.ipv4.tcp_tw_reuse" in out and "net.core.somaxconn" in out
    assert "keys differ" in out


def test_presets_diff_unknown_name(capsys):
    code, _, err = run(capsys, "presets", "diff", "kubeasz", "kops")
    assert code == 2 and "unknown preset 'kubeasz'" in err


def test_check_bad_plan_is_a_message_not_a_traceback(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("hosts:\n  - {name: cp-1, address: 198.18.0.11, roles: [control-plane]}\ntuning:\n  net.core.somaxconn: '1; reboot'\n")
    r = subprocess.run([sys.executable, "-m", "k8s_tui", "check", str(plan)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{plan} line 4: tuning.net.core.somaxconn" in r.stderr
    assert "not a whole number" in r.stderr


def test_missing_plan_file(capsys):
    code, _, err = run(capsys, "check", "/nonexistent/plan.yaml")
    assert code == 2 and "no such file" in err
