"""Fuzzing plan loading: whatever the text, the answer is a plan or an InputError, never a traceback."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from k8s_tui.model.plan import ClusterPlan, load_plan, load_plan_text  # noqa: E402
from k8s_tui.yamlio import InputError, dump_yaml  # noqa: E402

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID = """\
name: fuzz
kubernetes_version: "1.33"
preset: kubeadm-minimum
control_plane_endpoint: 10.0.0.1:6443
hosts:
  - {name: cp-1, address: 10.0.0.1, roles: [control-plane], labels: {zone: a}}
  - {name: w-1, address: 10.0.0.2, port: 2222, user: ops, proxy_jump: "ops@10.0.0.9:22"}
tuning:
  net.core.somaxconn: 4096
  net.ipv4.ip_local_port_range: 30000 40000
"""

FIELDS = ["name", "tool", "kubernetes_version", "control_plane_endpoint", "pod_cidr", "service_cidr", "cni",
          "cni_manifest", "kube_proxy_mode", "container_runtime", "sysctl_file", "preset", "hosts", "tuning",
          "address", "port", "user", "roles", "labels", "proxy_jump", "key_file", "net.core.somaxconn"]
# pieces YAML gives meaning to, so random text reaches the parser's corners, not only its first error
TOKENS = ["\n", "  ", "- ", ": ", "[", "]", "{", "}", ", ", "&a ", "*a", "<<: ", "!!int ", "!!str ", "!!binary ",
          "!!set ", "!!omap ", "? ", "|\n", ">-\n", "'", '"', "#", "---\n", "...\n", "%YAML 1.2\n", "~", "null",
          "true", "0x1F", "1e400", "-.inf", ".nan", "2001-13-45", "10.0.0.1", "9" * 50, "３", "\t", "\\u0000",
          "\x85", "\u2028", "\ufeff", "é"]


def assert_plan_or_input_error(text: str) -> None:
    try:
        plan = load_plan_text(text, "fuzz.yaml")
    except InputError as e:
        assert str(e), "an InputError says what is wrong"
        return
    assert isinstance(plan, ClusterPlan)
    # what loaded saves and loads again to the same plan
    assert load_plan_text(plan.to_yaml(), "again.yaml") == plan


@SETTINGS
@given(st.text(max_size=300))
def test_random_text(text):
    assert_plan_or_input_error(text)


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(TOKENS), st.sampled_from(FIELDS), st.text(max_size=8)), max_size=60))
def test_random_yaml_pieces(pieces):
    assert_plan_or_input_error("".join(pieces))


@SETTINGS
@given(st.integers(0, len(VALID)), st.integers(0, 40), st.text(max_size=20))
def test_a_valid_plan_with_a_cut_and_an_insert(at, cut, insert):
    assert_plan_or_input_error(VALID[:at] + insert + VALID[at + cut:])


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                    st.sampled_from(["kubeadm", "calico", "cp-1", "10.0.0.1", "control-plane", "1.33", "x.conf"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), inner, max_size=4)), max_leaves=20)


@SETTINGS
@given(st.dictionaries(st.sampled_from(FIELDS), values, max_size=8))
def test_random_documents_with_plan_fields(doc):
    assert_plan_or_input_error(dump_yaml(doc))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_random_bytes_in_a_file(tmp_path, data):
    p = tmp_path / "plan.yaml"
    p.write_bytes(data)
    try:
        load_plan(p)
    except InputError as e:
        assert str(e).startswith(str(p))
