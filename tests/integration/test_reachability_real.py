"""The reachability check on real SSH test hosts (tests/testbed) with the real SshExecutor.

One host (the "server") runs a tiny HTTP server in its own network namespace that answers like a
package repository (``.../deb/Release``: 200) and a registry (``/v2/``: 401). The other hosts try
it, a port where nothing listens (refused), a name that does not resolve (dns), the server's
plain-HTTP port over https (a real TLS failure) and, in a second plan, a proxy that does not
answer. Each client (curl, wget, python3) is forced in turn. Nothing is mocked: the requests are
real, and the server's own log shows they arrived.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from k8s_tui.engine.executor import ExecOptions
from k8s_tui.engine.ssh import SshExecutor
from k8s_tui.hostprep.reachability import check_reachability
from k8s_tui.model.plan import ClusterPlan

pytestmark = pytest.mark.testhosts

PORT = 8080
SERVER = r'''
import http.server, sys
log = open(sys.argv[3], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log.write(self.client_address[0] + " " + self.path + "\n")
        if self.path == "/v2/":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer realm="http://test/token"')
            self.end_headers()
        elif self.path.endswith("/deb/Release"):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"Origin: k8s-tui test\n")
        else:
            self.send_response(404)
            self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
'''


def wait_listening(address: str, port: int, proc: subprocess.Popen, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the test server ended: {proc.stderr.read().decode(errors='replace')}")
        try:
            with socket.create_connection((address, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the test server on {address}:{port} did not start within {deadline} s")


@pytest.fixture
def server_and_clients(testbed, tmp_path):
    hosts = testbed(3, prefix="rch")
    server = hosts[0]
    # the server host's /root is its own: the script and its request log live there
    server.path("/root/server.py").write_text(SERVER)
    log = server.path("/root/requests.log")
    proc = subprocess.Popen(server._nsenter() + ["python3", "/root/server.py", server.address, str(PORT), "/root/requests.log"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_listening(server.address, PORT, proc)
        yield server, hosts[1:], log
    finally:
        proc.kill()
        proc.wait(timeout=10)
        testbed.release(hosts)


def plan_for(clients, server, **network) -> ClusterPlan:
    return ClusterPlan(
        name="reach",
        hosts=[{"name": h.name, "address": h.address, "user": "root", "key_file": h.key_file,
                "roles": ["control-plane"] if i == 0 else ["worker"]} for i, h in enumerate(clients)],
        **network,
    )


def executor(clients) -> SshExecutor:
    return SshExecutor(ExecOptions(known_hosts=clients[0].known_hosts, connect_timeout=8))


@pytest.mark.parametrize("tool", ["curl", "wget", "python3"])
async def test_table_of_ok_and_failed(server_and_clients, tool):
    server, clients, log = server_and_clients
    base = f"http://{server.address}:{PORT}"
    plan = plan_for(
        clients, server,
        package_repository=f"{base}/kubernetes-new/core/stable",
        # https to a plain-HTTP port: a real TLS handshake failure
        image_repository=f"{server.address}:{PORT}/google_containers",
        registry_mirrors={"docker.io": [base, f"http://{server.address}:9", "http://no-such-mirror.invalid"]},
    )
    ex = executor(clients)
    try:
        report = await check_reachability(ex, plan, timeout=4, tools=(tool,))
    finally:
        await ex.close()

    assert report.hosts == [c.name for c in clients]
    assert [e.name for e in report.endpoints] == [
        f"packages {server.address}:{PORT}", f"{server.address}:{PORT}", f"mirror {server.address}:{PORT} (docker.io)",
        f"mirror {server.address}:9 (docker.io)", "mirror no-such-mirror.invalid (docker.io)"]
    for c in clients:
        pkg = report.get(c.name, f"packages {server.address}:{PORT}")
        assert pkg.ok and pkg.status == 200 and pkg.tool == tool, pkg
        assert pkg.ms is not None and 0 <= pkg.ms < 4000
        mirror = report.get(c.name, f"mirror {server.address}:{PORT} (docker.io)")
        assert mirror.ok and mirror.status == 401, mirror  # a registry asking for a token answers
        tls = report.get(c.name, f"{server.address}:{PORT}")
        assert not tls.ok and tls.error_kind == "tls", tls
        assert "image_repository" in tls.hint or "certificate" in tls.hint
        refused = report.get(c.name, f"mirror {server.address}:9 (docker.io)")
        assert not refused.ok and refused.error_kind == "refused", refused
        assert "registry_mirrors.docker.io" in refused.hint
        dns = report.get(c.name, "mirror no-such-mirror.invalid (docker.io)")
        assert not dns.ok and dns.error_kind == "dns", dns
    assert not report.ok
    # the requests really reached the server, from each client's own address
    seen = log.read_text().splitlines()
    for c in clients:
        assert f"{c.address} /kubernetes-new/core/stable/v1.33/deb/Release" in seen
        assert f"{c.address} /v2/" in seen


async def test_through_a_proxy_that_does_not_answer(server_and_clients):
    server, clients, log = server_and_clients
    before = log.read_text()
    plan = plan_for(clients, server, package_repository=f"http://{server.address}:{PORT}/k8s",
                    proxy={"http": f"http://{server.address}:3128", "https": f"http://{server.address}:3128"})
    ex = executor(clients)
    try:
        report = await check_reachability(ex, plan, timeout=4, tools=("curl",))
    finally:
        await ex.close()
    for c in clients:
        for ep in report.endpoints:
            r = report.get(c.name, ep.name)
            assert not r.ok and r.error_kind == "proxy", r
            assert "proxy" in r.hint
    assert log.read_text() == before  # nothing went around the proxy


async def test_no_proxy_lets_the_server_be_reached_directly(server_and_clients):
    server, clients, log = server_and_clients
    plan = plan_for(clients, server, package_repository=f"http://{server.address}:{PORT}/k8s",
                    proxy={"http": f"http://{server.address}:3128", "no_proxy": [server.address]})
    ex = executor(clients)
    try:
        report = await check_reachability(ex, plan, timeout=4, tools=("curl",))
    finally:
        await ex.close()
    for c in clients:
        assert report.get(c.name, f"packages {server.address}:{PORT}").ok
    assert any(line.endswith("/k8s/v1.33/deb/Release") for line in log.read_text().splitlines())


def test_check_network_cli_json(server_and_clients, tmp_path):
    import json

    server, clients, _ = server_and_clients
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "name: reach\n"
        f"package_repository: http://{server.address}:{PORT}/k8s\n"
        f"registry_mirrors: {{registry.k8s.io: ['http://{server.address}:9']}}\n"
        "hosts:\n"
        + "".join(f"  - {{name: {c.name}, address: {c.address}, user: root, key_file: {c.key_file}, "
                  f"roles: [{'control-plane' if i == 0 else 'worker'}]}}\n" for i, c in enumerate(clients)))
    r = subprocess.run([sys.executable, "-m", "k8s_tui", "check-network", str(plan), "--json", "--timeout", "3",
                        "--known-hosts", clients[0].known_hosts], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 1, r.stderr  # the refused mirror (and registry.k8s.io: no internet here)
    doc = json.loads(r.stdout)
    by = {(x["host"], x["endpoint"]): x for x in doc["results"]}
    for c in clients:
        assert by[(c.name, f"packages {server.address}:{PORT}")]["ok"] is True
        assert by[(c.name, f"mirror {server.address}:9 (registry.k8s.io)")]["error_kind"] == "refused"
