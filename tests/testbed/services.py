"""Services run inside one test host's namespaces (network, mount, UTS): a plain HTTP file server
(Python's http.server) and a real HTTP proxy (Debian's tinyproxy, in the foreground with its own
config, pid and log file under the host's private /tmp). Each is one process this module
started, stopped by its pid; nothing listens outside the host's own network namespace.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from .testhosts import TestHost


class HostService:
    """One process running inside a test host; ``stop()`` ends it (and only it)."""

    def __init__(self, host: TestHost, argv: list[str], log: Path, *, name: str, port: int):
        self.host, self.name, self.port, self.log = host, name, port, log
        self._log_file = open(log, "ab")  # noqa: SIM115 - closed in stop()
        # nsenter enters the namespaces and execs argv: the pid is the service's own
        self.proc = subprocess.Popen(host._nsenter() + argv, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                                                    "HOME": "/root", "LANG": "C.UTF-8"})

    def wait_listening(self, deadline_s: float = 30.0) -> None:
        """Until the port accepts a connection (from this machine, over the host's bridge)."""
        end = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} on {self.host.name} exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection((self.host.address, self.port), timeout=2):
                    return
            except OSError as e:
                last = e
                time.sleep(0.1)
        raise TimeoutError(f"{self.name} on {self.host.name}:{self.port} not listening after {deadline_s} s ({last})")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log_file.close()


def serve_directory(host: TestHost, directory: str, port: int, log: Path) -> HostService:
    """``python3 -m http.server`` on the host's address, serving ``directory`` (a path inside the host)."""
    # the machine's python3 (the host shares /usr through its overlay; /root, and a venv there, it does not)
    svc = HostService(host, ["python3", "-m", "http.server", str(port),
                             "--bind", host.address, "--directory", directory], log, name="http.server", port=port)
    svc.wait_listening()
    return svc


TINYPROXY_CONF = """\
# tinyproxy for a k8s-tui test host (tinyproxy.conf(5)); everything under the host's own /tmp
User nobody
Group nogroup
Port {port}
Listen {address}
Timeout 60
LogFile "/tmp/tinyproxy/tinyproxy.log"
LogLevel Info
PidFile "/tmp/tinyproxy/tinyproxy.pid"
MaxClients 20
Allow {allow}
ViaProxyName "k8s-tui-test-proxy"
"""


def tinyproxy_available() -> str | None:
    return shutil.which("tinyproxy", path="/usr/sbin:/usr/bin:/sbin:/bin")


def run_tinyproxy(host: TestHost, port: int, allow: str, log: Path) -> tuple[HostService, Path]:
    """tinyproxy in the foreground (-d) on the host's address; returns the service and its
    request log as seen from this machine."""
    d = host.path("/tmp/tinyproxy")
    d.mkdir(mode=0o777, exist_ok=True)
    d.chmod(0o777)  # tinyproxy drops to nobody before it opens its log
    (d / "tinyproxy.conf").write_text(TINYPROXY_CONF.format(port=port, address=host.address, allow=allow))
    svc = HostService(host, [tinyproxy_available() or "tinyproxy", "-d", "-c", "/tmp/tinyproxy/tinyproxy.conf"], log,
                      name="tinyproxy", port=port)
    svc.wait_listening()
    return svc, d / "tinyproxy.log"
