"""SIGTERM while the wizard runs, for real: `python -m k8s_tui` in a pseudo-terminal, killed with
SIGTERM. It must leave the terminal as it found it, save the plan, close a running run's journal,
say how to resume, and exit 143."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


class Tui:
    """The wizard in a pty of 80x24; ``expect`` reads until the screen has shown a text."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the wizard, with the pty as its terminal
            os.execve(sys.executable, [sys.executable, "-m", "k8s_tui", *args], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.out = b""
        self.status: int | None = None

    def _read(self, timeout: float) -> None:
        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            try:
                self.out += os.read(self.fd, 65536)
            except OSError:  # the child is gone and the pty closed
                self._reap(block=True)

    def _reap(self, block: bool = False) -> None:
        if self.status is None:
            pid, st = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)

    def text(self) -> str:
        return ANSI.sub(b"", self.out).decode("utf-8", "replace")

    def expect(self, needle: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if time.monotonic() > deadline or self.status is not None:
                raise AssertionError(f"never saw {needle!r}; the screen's last text: {self.text()[-800:]!r}")
            self._read(0.1)
            self._reap()

    def send(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def wait_exit(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while self.status is None:
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                raise AssertionError(f"still running after {timeout} s: {self.text()[-800:]!r}")
            self._read(0.1)
            self._reap()
        while True:  # what it printed last
            r, _, _ = select.select([self.fd], [], [], 0)
            if not r:
                break
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.out += chunk
        os.close(self.fd)
        return self.status


def env_for(state: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(K8S_TUI_STATE_DIR=str(state), TERM="xterm-256color", COLUMNS="80", LINES="24", **extra)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="a Linux pty")


def test_sigterm_in_the_wizard_saves_the_plan_restores_the_terminal_and_exits_143(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("name: termed\nhosts:\n  - name: cp-1\n    address: 198.18.0.11\n    roles: [control-plane]\n")
    state = tmp_path / "state"
    tui = Tui(["--plan", str(plan)], env_for(state))
    tui.expect("step 1 of 4")
    tui.send(b"\x0e")  # ctrl+n: on to the hosts step
    tui.expect("step 2 of 4")
    os.kill(tui.pid, signal.SIGTERM)
    assert tui.wait_exit() == 143
    assert b"\x1b[?1049l" in tui.out  # the alternate screen was left: the terminal is back
    assert "terminated by signal 15" in tui.text() and "Traceback" not in tui.text()
    meta = json.loads((state / "wizard" / "session.json").read_text())
    assert meta["step"] == "hosts"
    assert "name: termed" in (state / "wizard" / "plan.yaml").read_text()


def test_sigterm_during_a_run_closes_its_journal_and_prints_how_to_resume(tmp_path):
    tui = Tui(["--demo"], env_for(tmp_path / "state", K8S_TUI_DEMO_SPEED="1"))
    tui.expect("step 1 of 4")
    for n in (2, 3, 4):
        tui.send(b"\x0e")
        tui.expect(f"step {n} of 4")
    tui.send(b"r")
    tui.expect("Yes (y)")
    tui.send(b"y")
    tui.expect("running on")
    os.kill(tui.pid, signal.SIGTERM)
    assert tui.wait_exit() == 143
    text = tui.text()
    assert b"\x1b[?1049l" in tui.out and "Traceback" not in text
    m = re.search(r"continue it with: K8S_TUI_STATE_DIR=(\S+) k8s-tui resume (\S+) --dry-run", text.replace("\r\n", " "))
    assert m, text[-1000:]
    record = Path(m.group(1)) / "runs" / m.group(2)
    assert json.loads((record / "summary.json").read_text())["status"] == "interrupted"
