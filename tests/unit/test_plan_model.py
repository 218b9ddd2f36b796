"""Plans, hosts and tuning profiles: valid input loads, bad input is refused with the field, the
line, the value and the rule, and nothing secret is ever written."""

import pytest

from k8s_tui.model.hosts import Host, Inventory, Role
from k8s_tui.model.plan import ClusterPlan, load_plan, load_plan_text, save_plan
from k8s_tui.model.tuning import TuningProfile
from k8s_tui.yamlio import InputError

GOOD = """\
name: lab
tool: kubeadm
kubernetes_version: "1.33.2"
control_plane_endpoint: "k8s-api.example:6443"
pod_cidr: 10.244.0.0/16
service_cidr: 10.96.0.0/12
kube_proxy_mode: ipvs
preset: kubeasz-3.6.5
hosts:
  - {name: cp-1, address: 198.18.0.11, roles: [control-plane, etcd]}
  - {name: worker-1, address: 198.18.0.12, user: admin, port: 2222, key_file: ~/.ssh/id_ed25519}
tuning:
  net.core.somaxconn: 16384
  net.ipv4.ip_local_port_range: 10240 65000
  net.ipv4.tcp_rmem: [4096, 131072, 6291456]
"""


def test_good_plan_loads():
    plan = load_plan_text(GOOD)
    assert plan.name == "lab"
    assert plan.hosts[0].roles == [Role.control_plane, Role.etcd]
    assert plan.hosts[1].roles == [Role.worker]
    assert plan.tuning.values["net.core.somaxconn"] == 16384
    assert plan.tuning.values["net.ipv4.ip_local_port_range"] == (10240, 65000)
    assert plan.tuning.values["net.ipv4.tcp_rmem"] == (4096, 131072, 6291456)
    assert plan.first_control_plane().name == "cp-1"
    assert plan.k8s_minor == 33


def test_round_trip(tmp_path):
    plan = load_plan_text(GOOD)
    path = tmp_path / "plan.yaml"
    save_plan(plan, path)
    again = load_plan(path)
    assert again == plan
    save_plan(again, path)
    assert load_plan(path) == plan


def _error(text: str) -> str:
    with pytest.raises(InputError) as e:
        load_plan_text(text, "plan.yaml")
    return str(e.value)


def test_bad_value_names_file_line_field_value_and_range():
    msg = _error(GOOD.replace("net.core.somaxconn: 16384", "net.core.somaxconn: 99999999999"))
    assert "plan.yaml line 13" in msg
    assert "tuning.net.core.somaxconn" in msg
    assert "99999999999" in msg and "allowed range" in msg


def test_unknown_key_suggests_nearest():
    msg = _error(GOOD.replace("net.core.somaxconn: 16384", "net.core.somaxcon: 16384"))
    assert "unknown sysctl key 'net.core.somaxcon'" in msg
    assert "net.core.somaxconn" in msg.split("did you mean", 1)[1]


@pytest.mark.parametrize("hostile", ["'1; reboot'", "'$(id)'", "'`id`'", "'1 && rm -rf /'", "'16384\\n'", "yes"])
def test_shell_metacharacters_are_invalid_by_type(hostile):
    msg = _error(GOOD.replace("net.core.somaxconn: 16384", f"net.core.somaxconn: {hostile}"))
    assert "not a whole number" in msg


def test_wrong_type_for_a_triple():
    msg = _error(GOOD.replace("[4096, 131072, 6291456]", "4096 131072"))
    assert "needs 3 whole numbers" in msg


def test_triple_must_not_decrease():
    msg = _error(GOOD.replace("[4096, 131072, 6291456]", "[8192, 4096, 6291456]"))
    assert "must not decrease" in msg


def test_broken_yaml_names_line():
    msg = _error("name: lab\nhosts: [\n  - {name: a\n")
    assert msg.startswith("plan.yaml line") and "broken YAML" in msg


def test_secret_fields_are_refused():
    msg = _error(GOOD.replace("user: admin,", "user: admin, password: hunter2,"))
    assert "hosts.1.password" in msg and "secrets" in msg


@pytest.mark.parametrize(
    "field,value,rule",
    [
        ("name", "Bad_Name", "RFC 1123"),
        ("name", "a;reboot", "RFC 1123"),
        ("address", "10.0.0.1;id", "neither an IP address nor a DNS name"),
        ("user", "root$(id)", "not a valid user name"),
        ("port", 70000, "less than or equal to 65535"),
        ("key_file", "~/.ssh/id;rm", "plain file path"),
        ("proxy_jump", "bastion;id", "neither an IP address nor a DNS name"),
        ("proxy_jump", "a@b@c", "not a jump host"),
    ],
)
def test_host_fields_are_checked(field, value, rule):
    data = {"name": "n1", "address": "198.18.0.1", field: value}
    with pytest.raises(ValueError) as e:
        Host.model_validate(data)
    assert rule in str(e.value)


def test_unique_host_names():
    with pytest.raises(ValueError, match="used twice"):
        Inventory(hosts=[Host(name="a", address="198.18.0.1"), Host(name="a", address="198.18.0.2")])


def test_plan_rules():
    assert "overlaps" in _error(GOOD.replace("10.96.0.0/12", "10.244.128.0/17"))
    assert "CIDR" in _error(GOOD.replace("10.96.0.0/12", "10.96.0.0/33"))
    assert "no host has the control-plane role" in _error(GOOD.replace("roles: [control-plane, etcd]", "roles: [etcd]"))
    assert "Kubernetes version" in _error(GOOD.replace('"1.33.2"', '"latest"'))
    assert "sysctl.d file name" in _error(GOOD + "sysctl_file: ../../etc/passwd\n")


def test_plan_never_writes_a_secret(tmp_path):
    plan = load_plan_text(GOOD)
    out = tmp_path / "p.yaml"
    save_plan(plan, out)
    text = out.read_text()
    assert "password" not in text.split("\n", 1)[1]  # only the header comment says none is stored
    assert "passphrase" not in text


def test_tuning_profile_rejects_bool_as_anything_but_bool():
    t = TuningProfile(values={"net.ipv4.ip_forward": True})
    assert t.values["net.ipv4.ip_forward"] == 1
    with pytest.raises(ValueError, match="allowed range"):
        TuningProfile(values={"net.ipv4.ip_forward": 2})


def test_default_plan_is_valid():
    ClusterPlan()
