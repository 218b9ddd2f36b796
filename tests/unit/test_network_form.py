"""The wizard's Network section below the UI (session/network.py): typed values go into the plan
only when they pass the plan's own checks, errors name the field, the preset fills three fields
with a source each, and the values survive a quit and a restart (the saved session)."""

from __future__ import annotations

import pytest

from k8s_tui.model.hosts import Host, Role
from k8s_tui.model.network_presets import load_network_presets
from k8s_tui.model.plan import ClusterPlan
from k8s_tui.session import network as net
from k8s_tui.session.persistence import load_session, save_session
from k8s_tui.session.state import WizardState


def state() -> WizardState:
    return WizardState(ClusterPlan(name="n", hosts=[Host(name="cp", address="192.0.2.1", roles=[Role.control_plane])]))


def test_good_values_land_in_the_plan():
    s = state()
    assert net.set_field(s, "image_repository", "registry.aliyuncs.com/google_containers") is None
    assert net.set_field(s, "package_repository", "https://mirrors.aliyun.com/kubernetes-new/core/stable/") is None
    assert net.set_field(s, "registry_mirrors", "docker.io=https://a.example.cn, https://b.example.cn; quay.io=https://q.example.cn") is None
    assert net.set_field(s, "proxy.http", "http://proxy.corp:3128") is None
    assert net.set_field(s, "proxy.no_proxy", ".corp, 10.0.0.0/8") is None
    p = s.to_plan()
    assert p.image_repository == "registry.aliyuncs.com/google_containers"
    assert p.package_repository == "https://mirrors.aliyun.com/kubernetes-new/core/stable"
    assert p.registry_mirrors == {"docker.io": ["https://a.example.cn", "https://b.example.cn"], "quay.io": ["https://q.example.cn"]}
    assert (p.proxy.http, p.proxy.https, p.proxy.no_proxy) == ("http://proxy.corp:3128", None, [".corp", "10.0.0.0/8"])
    assert net.field_texts(s)["registry_mirrors"] == "docker.io=https://a.example.cn,https://b.example.cn; quay.io=https://q.example.cn"
    # emptied: back to the public defaults, and no proxy at all
    for f in ("image_repository", "proxy.http", "proxy.no_proxy"):
        assert net.set_field(s, f, "") is None
    assert s.to_plan().image_repository is None and s.to_plan().proxy is None


@pytest.mark.parametrize("field, text, says", [
    ("image_repository", "https://registry.example.cn/x", "image_repository: 'https://registry.example.cn/x': an image repository has no scheme"),
    ("image_repository", "registry.example.cn/Google", "image_repository: 'registry.example.cn/Google': the path"),
    ("package_repository", "ftp://mirror.example.cn", "package_repository:"),
    ("registry_mirrors", "docker.io https://x.cn", "registry_mirrors: 'docker.io https://x.cn': write REGISTRY=URL"),
    ("registry_mirrors", "dockerio=https://x.cn", "registry_mirrors:"),
    ("registry_mirrors", "docker.io=https://x.cn/$(id)", "registry_mirrors"),
    ("proxy.http", "http://proxy:3128 x", "proxy.http:"),
    ("proxy.no_proxy", "a b", "proxy.no_proxy"),
    ("offline_bundle", "/nonexistent/bundle", "offline_bundle: '/nonexistent/bundle' is not an existing folder"),
])
def test_bad_values_are_refused_naming_the_field(field, text, says):
    s = state()
    before = s.to_plan()
    msg = net.set_field(s, field, text)
    assert msg is not None and msg.startswith(field) and says in msg
    assert s.to_plan() == before  # the plan keeps its last good value


def test_china_preset_fills_three_fields_each_with_a_source():
    presets = load_network_presets()
    p = presets["china-public-mirrors"]
    s = state()
    lines = net.apply_network_preset(s, p)
    plan = s.to_plan()
    assert plan.image_repository == "registry.aliyuncs.com/google_containers"
    assert plan.package_repository == "https://mirrors.aliyun.com/kubernetes-new/core/stable"
    assert plan.registry_mirrors == {"docker.io": ["https://docker.m.daocloud.io"], "quay.io": ["https://quay.m.daocloud.io"]}
    assert len(lines) == 4 and all("(source: https://" in ln for ln in lines)
    assert {src for _, _, src in p.sources()} == {"https://developer.aliyun.com/mirror/kubernetes",
                                                    "https://github.com/DaoCloud/public-image-mirror"}


def test_values_survive_quit_and_restart(tmp_path, monkeypatch):
    monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path))
    s = state()
    assert net.set_field(s, "image_repository", "registry.example.cn/k8s") is None
    assert net.set_field(s, "proxy.https", "http://proxy.example.cn:3128") is None
    save_session(s, "review")
    back = load_session().to_state()
    assert net.field_texts(back)["image_repository"] == "registry.example.cn/k8s"
    assert net.field_texts(back)["proxy.https"] == "http://proxy.example.cn:3128"


def test_network_check_mode_is_a_field_with_named_modes():
    s = state()
    assert net.check_mode(s) == "warn"
    assert net.set_field(s, "network_check", "strict") is None and s.to_plan().network_check.value == "strict"
    err = net.set_field(s, "network_check", "sometimes")
    assert err is not None and err.startswith("network_check") and "strict, warn or off" in err
    assert net.check_mode(s) == "strict"  # the last good value stays
    assert [v for v, _ in net.CHECK_MODES] == ["warn", "strict", "off"]
