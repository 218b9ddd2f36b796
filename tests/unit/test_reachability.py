"""The reachability check's pieces without hosts: endpoints from a plan, the script's arguments,
parsing the lines the script printed (recorded from real curl, wget and python3 runs on this
machine against a local server, a closed port and a name that does not resolve), the hints, the
dry run's answers through the same check, and `k8s-tui check-network --dry-run`. The real check on
SSH test hosts is tests/integration/test_reachability_real.py."""

from __future__ import annotations

import json

import pytest

from k8s_tui.cli import main
from k8s_tui.engine.dryrun import DryRunExecutor
from k8s_tui.hostprep.reachability import (
    REACH_SCRIPT,
    Endpoint,
    check_reachability,
    classify,
    endpoints_for,
    parse_reach_output,
    reach_args,
    registry_v2,
)
from k8s_tui.model.plan import ClusterPlan

HOSTS = [{"name": "cp-1", "address": "192.0.2.10", "roles": ["control-plane"]},
         {"name": "w-1", "address": "192.0.2.11", "roles": ["worker"]}]


def plan(**kw) -> ClusterPlan:
    return ClusterPlan(hosts=HOSTS, **kw)


def test_public_defaults():
    eps = endpoints_for(plan())
    assert [(e.kind, e.name, e.url) for e in eps] == [
        ("packages", "packages pkgs.k8s.io", "https://pkgs.k8s.io/core:/stable:/v1.33/deb/Release"),
        ("images", "registry.k8s.io", "https://registry.k8s.io/v2/"),
    ]


def test_mirrors_repository_and_registry_of_the_plan():
    p = plan(kubernetes_version="1.32.4", image_repository="registry.aliyuncs.com/google_containers",
             package_repository="https://mirrors.aliyun.com/kubernetes-new/core/stable/",
             registry_mirrors={"docker.io": ["https://docker.m.daocloud.io", "https://hub.example.cn/v2"]})
    assert [(e.name, e.url) for e in endpoints_for(p)] == [
        ("packages mirrors.aliyun.com", "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.32/deb/Release"),
        ("registry.aliyuncs.com", "https://registry.aliyuncs.com/v2/"),
        ("mirror docker.m.daocloud.io (docker.io)", "https://docker.m.daocloud.io/v2/"),
        ("mirror hub.example.cn (docker.io)", "https://hub.example.cn/v2/"),
    ]
    assert registry_v2("localhost:5000") == "https://localhost:5000/v2/"


def test_arguments_are_words_never_shell_text():
    p = plan(proxy={"http": "http://proxy.corp:3128", "https": "http://proxy.corp:3128", "no_proxy": [".corp", "10.0.0.0/8"]})
    eps = endpoints_for(p)
    args = reach_args(eps, p, 3, ("curl",))
    assert args[:5] == ["3", "curl", "http://proxy.corp:3128", "http://proxy.corp:3128", ".corp,10.0.0.0/8"]
    assert args[6:] == [e.url for e in eps]
    assert "$1" in REACH_SCRIPT and "{" not in args[0]
    with pytest.raises(ValueError, match="tools"):
        reach_args(eps, p, 3, ("curl; rm -rf /",))
    with pytest.raises(ValueError, match="timeout"):
        reach_args(eps, p, 0, ("curl",))


def test_a_proxy_with_a_space_never_reaches_a_host():
    with pytest.raises(ValueError, match="character a URL cannot hold"):
        plan(proxy={"http": "http://proxy:3128 ; touch /tmp/x"})


EPS = [Endpoint("packages", "packages", "http://198.18.1.11:8080/k8s/v1.33/deb/Release"),
       Endpoint("images", "198.18.1.11:8080", "https://198.18.1.11:8080/v2/", "198.18.1.11:8080"),
       Endpoint("mirror", "mirror ok", "http://198.18.1.11:8080/v2/", "docker.io"),
       Endpoint("mirror", "mirror refused", "http://198.18.1.11:9/v2/", "docker.io"),
       Endpoint("mirror", "mirror dns", "http://no-such-mirror.invalid/v2/", "docker.io")]

# what REACH_SCRIPT printed (lines in completion order, as the probes run at once)
CURL = """tool=curl
r=4 curl 7 000 0 curl: (7) Failed to connect to 198.18.1.11 port 9 after 0 ms: Couldn't connect to server 
r=5 curl 6 000 0 curl: (6) Could not resolve host: no-such-mirror.invalid 
r=2 curl 35 000 28 curl: (35) OpenSSL/3.0.19: error:0A00010B:SSL routines::wrong version number 
r=3 curl 0 401 8 
r=1 curl 0 200 14 
end=1
"""
WGET = """tool=wget
r=5 wget 4 000 11 Resolving no-such-mirror.invalid (no-such-mirror.invalid)... failed: Name or service not known. wget: unable to resolve host address 'no-such-mirror.invalid' 
r=1 wget 0 200 22 
r=4 wget 4 000 10 Connecting to 198.18.1.11:9... failed: Connection refused. 
r=3 wget 6 401 22 Username/Password Authentication Failed. 
r=2 wget 4 000 28 GnuTLS: An unexpected TLS packet was received. Unable to establish SSL connection. 
end=1
"""
PYTHON = """tool=python3
r=3 python3 0 401 3  
r=4 python3 0 000 5  ConnectionRefusedError: [Errno 111] Connection refused
r=1 python3 0 200 1  
r=5 python3 0 000 2  gaierror: [Errno -2] Name or service not known
r=2 python3 0 000 25  SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)
end=1
"""


@pytest.mark.parametrize("text", [CURL, WGET, PYTHON], ids=["curl", "wget", "python3"])
def test_parse_each_client(text):
    res, notes = parse_reach_output("h1", text, EPS, None)
    got = {r.endpoint: (r.ok, r.error_kind, r.status) for r in res}
    assert got["packages"] == (True, "", 200)
    assert got["mirror ok"] == (True, "", 401)
    assert got["198.18.1.11:8080"][:2] == (False, "tls")
    assert got["mirror refused"][:2] == (False, "refused")
    assert got["mirror dns"][:2] == (False, "dns")
    assert all(r.hint for r in res if not r.ok)
    assert notes == []


def test_http_status_and_missing_lines():
    text = "tool=curl\nr=1 curl 0 404 12 \nend=1\n"
    res, _ = parse_reach_output("h1", text, EPS[:2], None)
    assert (res[0].ok, res[0].error_kind, res[0].error) == (False, "http", "HTTP 404")
    assert "v1.<minor>/deb/" in res[0].hint
    assert (res[1].ok, res[1].error_kind) == (False, "error")  # no line for it: said so, never ok


def test_no_client_on_the_host():
    res, _ = parse_reach_output("h1", "tool=none\nend=1\n", EPS[:1], None)
    assert res[0].error_kind == "no-tool" and "curl" in res[0].hint


def test_a_proxy_that_refuses_is_named():
    p = plan(proxy={"http": "http://proxy.corp:3128", "https": "http://proxy.corp:3128"})
    text = "tool=curl\nr=1 curl 7 000 0 curl: (7) Failed to connect to proxy.corp port 3128 after 1 ms: Connection refused\nend=1\n"
    res, _ = parse_reach_output("h1", text, EPS[:1], p)
    assert res[0].error_kind == "proxy" and "proxy" in res[0].hint


def test_classify_timeouts():
    assert classify("curl", 28, 0, "curl: (28) Connection timed out after 5001 milliseconds") == "timeout"
    assert classify("wget", 4, 0, "Connecting to 10.1.1.1:443... failed: Connection timed out.") == "timeout"
    assert classify("curl", 7, 0, "curl: (7) Failed to connect to x port 443: No route to host") == "unreachable"


async def test_dry_run_answers_through_the_same_check():
    p = plan(image_repository="registry.aliyuncs.com/google_containers")
    ex = DryRunExecutor(speed=0, transcripts_dir=None)
    report = await check_reachability(ex, p)
    assert report.ok and report.hosts == ["cp-1", "w-1"]
    assert [r.cell().split()[0] for r in report.results] == ["ok"] * 4
    assert any("no request was sent" in n for n in report.notes)
    # one command per host, the script's values as separate words
    cmds = ex.commands("cp-1")
    assert len(cmds) == 1 and cmds[0][:2] == ["sh", "-c"] and cmds[0][3] == "k8s-tui-reach"
    assert cmds[0][-2:] == ["https://pkgs.k8s.io/core:/stable:/v1.33/deb/Release", "https://registry.aliyuncs.com/v2/"]


def test_check_network_cli_dry_run(tmp_path, capsys):
    f = tmp_path / "plan.yaml"
    f.write_text("name: t\nregistry_mirrors: {docker.io: ['https://docker.m.daocloud.io']}\nhosts:\n"
                 "  - {name: cp-1, address: 192.0.2.10, roles: [control-plane]}\n")
    assert main(["check-network", str(f), "--dry-run", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and [e["name"] for e in doc["endpoints"]] == [
        "packages pkgs.k8s.io", "registry.k8s.io", "mirror docker.m.daocloud.io (docker.io)"]


def test_check_network_bad_input(tmp_path, capsys):
    f = tmp_path / "plan.yaml"
    f.write_text("name: t\n")
    assert main(["check-network", str(f), "--dry-run"]) == 2
    assert "hosts" in capsys.readouterr().err
    f.write_text("name: t\nproxy: {http: 'http://proxy:3128 x'}\nhosts:\n  - {name: a, address: 192.0.2.1, roles: [control-plane]}\n")
    assert main(["check-network", str(f), "--dry-run"]) == 2
    assert "proxy.http" in capsys.readouterr().err


async def test_the_wizards_check_tries_the_rpm_index_on_a_rhel_host():
    """Without the run's facts step (the wizard's check, check-network) the host's
    /etc/os-release says which repository layout it will use."""
    os_release = 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n'
    ex = DryRunExecutor(speed=0, transcripts_dir=None, files={"/etc/os-release": os_release})
    await check_reachability(ex, plan())
    args = ex.commands("w-1")[0]
    assert "https://pkgs.k8s.io/core:/stable:/v1.33/rpm/repodata/repomd.xml" in args
    assert not any(a.endswith("/deb/Release") for a in args)
