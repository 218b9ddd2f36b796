"""`k8s-tui serve` in a real browser: Debian's headless Chromium, driven by Selenium through
/usr/bin/chromedriver, opens the served wizard and walks it to the tuning step as a person would.

The page draws the terminal with xterm.js on a canvas, so its text is not in the DOM. The test
reads what xterm.js holds on screen (its active buffer, the cells the canvas is drawn from): the
page keeps its Terminal in a closure, so the test finds it once with the DevTools protocol's
Runtime.queryObjects (every object on the page's heap) and keeps a handle to it in the page.

Without chromium, chromedriver or selenium the browser test skips and says why; under CI=true it
must run (tests/run.sh installs the Debian packages as root, pyproject's test extra brings
selenium). The other tests need no browser: what serve refuses (other sites' pages, DNS
rebinding, bad --host/--port, a taken port) and the wizard command it builds.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DEADLINE = 60.0  # generous: only a broken run waits this long
REPO = Path(__file__).resolve().parents[2]


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (Debian package {pkg}; tests/run.sh installs it as root)"
    return None


@pytest.fixture
def browser_available():
    why = _missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test: {why}")
        pytest.skip(why)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, what: str, *, timeout: float = DEADLINE, seen=None, every: float = 0.1):
    """Poll ``cond()`` until it returns something true; fail naming what was awaited and what was seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            got = f"\nsaw:\n{seen()}" if seen is not None else ""
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}{got}")
        time.sleep(every)


class Served:
    """`k8s-tui serve` as a subprocess in its own process group (so it and every wizard it started go together)."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.port = free_port()
        self.log = tmp / "serve.log"
        env = dict(os.environ, K8S_TUI_STATE_DIR=str(tmp / "state"), K8S_TUI_DEMO_SPEED="0",
                   PYTHONUNBUFFERED="1", COLUMNS="200")
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "k8s_tui", "serve", "--port", str(self.port), *args],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}/"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def listening(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited with {self.proc.returncode}:\n{self.output()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def group(self) -> list[str]:
        """The command lines of the processes still in serve's process group (serve, its wizards)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except (OSError, IndexError):
                continue  # gone meanwhile
            if int(fields[2]) == self.proc.pid and fields[0] != "Z":  # fields: state ppid pgrp ...
                found.append(cmd)
        return found

    def stop(self) -> tuple[int | None, list[str]]:
        """SIGTERM (what Ctrl+C does), wait for serve to end; then kill whatever of its group is left.
        Returns serve's exit code and the processes it left behind."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        code = self.proc.poll()
        left: list[str] = []
        try:  # the wizards exit once their input closes; give them the same generous deadline
            wait_for(lambda: not self.group(), "serve's wizards to exit after serve", timeout=30)
        except AssertionError:
            left = self.group()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)
        self._out.close()
        return code, left


def make_driver(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,800", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    # chromedriver named explicitly: selenium-manager must not look for (or download) one
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


FIND_TERMINAL = """function () {
  const owner = this.find(o => { try { return o && o.terminal && o.terminal.buffer && o.websocket_url; } catch (e) { return false; } });
  if (owner) window.__k8sTuiTerminal = owner.terminal;
  return !!owner;
}"""

SCREEN_TEXT = """
const t = window.__k8sTuiTerminal, b = t.buffer.active, rows = [];
for (let i = 0; i < t.rows; i++) { const line = b.getLine(b.viewportY + i); rows.push(line ? line.translateToString(true) : ''); }
return rows;
"""


class Page:
    """The served page in the browser, read as the terminal's rows of text."""

    def __init__(self, driver) -> None:
        self.d = driver

    def find_terminal(self) -> bool:
        if not self.d.execute_script("return document.querySelector('.xterm-screen') !== null"):
            return False
        proto = self.d.execute_cdp_cmd("Runtime.evaluate", {"expression": "Object.prototype"})["result"]["objectId"]
        found = self.d.execute_cdp_cmd("Runtime.queryObjects", {"prototypeObjectId": proto})["objects"]["objectId"]
        r = self.d.execute_cdp_cmd("Runtime.callFunctionOn", {"objectId": found, "functionDeclaration": FIND_TERMINAL,
                                                               "returnByValue": True})
        return bool(r["result"].get("value"))

    def rows(self) -> list[str]:
        return self.d.execute_script(SCREEN_TEXT)

    def text(self) -> str:
        return "\n".join(self.rows())

    def ended(self) -> bool:
        """The page says "Session ended": the wizard behind it exited."""
        return bool(self.d.execute_script("return document.body.classList.contains('-closed')"))

    def shows(self, *needles: str) -> bool:
        if self.ended():
            raise AssertionError("the wizard's session ended in the browser (serve's output says why)")
        screen = self.text()
        return all(n in screen for n in needles)

    def find(self, needle: str) -> tuple[int, int] | None:
        for row, line in enumerate(self.rows()):
            col = line.find(needle)
            if col >= 0:
                return row, col
        return None

    def click_text(self, needle: str) -> None:
        """Click the middle of the first place the text is shown, as a person with a mouse would."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.by import By

        row, col = wait_for(lambda: self.find(needle), f"{needle!r} on screen", seen=self.text)
        screen = self.d.find_element(By.CSS_SELECTOR, ".xterm-screen")
        cols, rows = self.d.execute_script("return [window.__k8sTuiTerminal.cols, window.__k8sTuiTerminal.rows]")
        w, h = screen.size["width"], screen.size["height"]
        x = (col + len(needle) / 2) * w / cols - w / 2  # offsets from the element's centre (Selenium 4)
        y = (row + 0.5) * h / rows - h / 2
        ActionChains(self.d).move_to_element_with_offset(screen, int(x), int(y)).click().perform()

    def type(self, *keys: str) -> None:
        from selenium.webdriver.common.by import By

        self.d.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(*keys)

    def ctrl(self, letter: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        ActionChains(self.d).key_down(Keys.CONTROL).send_keys(letter).key_up(Keys.CONTROL).perform()


@pytest.fixture
def served(tmp_path):
    srv = Served(tmp_path, "--demo")
    try:
        yield srv
    finally:
        srv.stop()  # a no-op when the test stopped it already; else clean up after a failure


@pytest.fixture
def page(browser_available):
    profile = Path(tempfile.mkdtemp(prefix="k8s-tui-chromium-"))
    driver = make_driver(profile)
    try:
        yield Page(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_serve_walks_to_the_tuning_step_in_chromium(served, page, tmp_path):
    wait_for(served.listening, f"serve to listen on port {served.port}", seen=served.output)
    out = served.output()
    assert f"open http://127.0.0.1:{served.port}/" in out
    assert "only: this machine" in out and f"ssh -N -L {served.port}:127.0.0.1:{served.port}" in out

    page.d.get(served.url)
    wait_for(page.find_terminal, "the page's xterm.js terminal")
    try:
        wait_for(lambda: page.shows("[1 Tool]", "Recommended:"), "the wizard's first screen (1 Tool)", seen=page.text)
    except AssertionError as e:
        served.stop()
        raise AssertionError(f"{e}\n--- serve's output:\n{served.output()}") from None

    # keyboard: the tool screen's own key ("3" picks kubeasz), typed into the terminal
    page.type("3")
    wait_for(lambda: page.shows("(*) 3 kubeasz"), "kubeasz picked by the key 3", seen=page.text)

    # mouse: the Next button, where the screen shows it (a browser keeps ctrl+n for a new window)
    page.click_text("Next: Hosts")
    wait_for(lambda: page.shows("[2 Hosts]"), "the hosts step after clicking Next", seen=page.text)

    # keyboard again: the command palette (ctrl+p reaches the page; ctrl+n would not in a real browser)
    page.ctrl("p")
    wait_for(lambda: page.find("Next step") or page.find("Go to 3"), "the command palette", seen=page.text)
    page.type("Go to 3 Tuning")
    wait_for(lambda: page.find("Go to 3 Tuning"), "the palette's match", seen=page.text)
    page.type("\n")

    wait_for(lambda: page.shows("[3 Tuning]", "net.ipv4.ip_forward"), "the tuning step with its sysctl table",
             seen=page.text)
    screen = page.text()
    # the same wizard: the demo's hosts, the sysctl table with the value now on the hosts
    assert "demo (made-up hosts)" in screen and "Preset" in screen, screen
    assert "net.core.somaxconn" in screen and "Now" in screen and "Default" in screen, screen
    # and the tuning step answers its own keys: l switches the explanation to Chinese
    page.type("l")
    wait_for(lambda: any("\u4e00" <= ch <= "\u9fff" for ch in page.text()), "the panel in Chinese after l",
             seen=page.text)
    page.d.get_screenshot_as_file(str(tmp_path / "tuning.png"))

    # Ctrl+C on the server (SIGTERM here) with the tab still open: serve ends, and so does its wizard
    assert any("k8s_tui --demo" in cmd for cmd in served.group()), served.group()
    code, left = served.stop()
    assert code == 0, served.output()
    assert not left, f"serve left processes running: {left}"


# ---- without a browser: what serve says and refuses, against the real server -----------------

def http_get(port: int, path: str, headers: dict[str, str]) -> tuple[int, str]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


WS_HANDSHAKE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def test_serve_refuses_other_sites_and_follows_the_address_used(served):
    wait_for(served.listening, f"serve to listen on port {served.port}", seen=served.output)
    port = served.port
    # the page connects its websocket to the address the browser used (an SSH tunnel may use another)
    status, body = http_get(port, "/", {"Host": f"localhost:{port}"})
    assert status == 200 and f'data-session-websocket-url="ws://localhost:{port}/ws"' in body
    # a page of another site must not drive the wizard through the user's browser
    status, body = http_get(port, "/ws", {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example", **WS_HANDSHAKE})
    assert status == 403 and "Origin" in body
    # DNS rebinding: another name pointed at 127.0.0.1
    status, body = http_get(port, "/", {"Host": f"evil.example:{port}"})
    assert status == 403 and "loopback" in body
    # the page's own origin is let through: the websocket opens (and so starts a wizard)
    status, _ = http_get(port, "/ws", {"Host": f"127.0.0.1:{port}", "Origin": f"http://127.0.0.1:{port}", **WS_HANDSHAKE})
    assert status == 101
    code, left = served.stop()
    assert code == 0 and not left, (code, left, served.output())
    assert "refused a connection: Origin 'http://evil.example'" in served.output()


@pytest.mark.parametrize("argv,message", [
    (["--port", "0"], "argument --port: 0 is not a TCP port (1..65535)"),
    (["--port", "65536"], "argument --port: 65536 is not a TCP port (1..65535)"),
    (["--port", "http"], "argument --port: 'http' is not a whole number"),
    (["--host", "http://example.com"], "argument --host: 'http://example.com' is not an IP address or a host name"),
    (["--host", "1.2.3.999"], "argument --host: '1.2.3.999' is not an IP address or a host name"),
    (["--host", "bad_name.example"], "argument --host: 'bad_name.example' is not an IP address or a host name"),
    (["--host=-bad-.example"], "argument --host: '-bad-.example' is not an IP address or a host name"),
])
def test_serve_names_the_bad_flag(capsys, argv, message):
    from k8s_tui.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", *argv])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_serve_says_when_the_port_is_taken(capsys):
    from k8s_tui.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["serve", "--demo", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}: --port {port}: already in use" in capsys.readouterr().err


def test_the_served_command_is_the_wizard_with_its_arguments(tmp_path):
    from k8s_tui.cli import build_parser
    from k8s_tui.cli.serve import _serve_parser_actions, wizard_argv, wizard_command

    known = tmp_path / "known hosts"
    args = build_parser().parse_args(["serve", "--port", "9000", "--new", "--known-hosts", str(known), "--max-hosts", "3",
                                      "--accept-new-host-keys"])
    argv = wizard_argv(_serve_parser_actions(), args)
    assert argv == ["--new", "--accept-new-host-keys", "--known-hosts", str(known), "--max-hosts", "3"]
    # each word quoted for the shell textual-serve runs it with
    assert wizard_command(argv) == f"{sys.executable} -m k8s_tui --new --accept-new-host-keys --known-hosts '{known}' --max-hosts 3"
    # and the wizard's own parser takes exactly these words
    wizard = build_parser().parse_args(argv)
    assert wizard.func.__name__ == "cmd_tui" and wizard.new and wizard.known_hosts == str(known) and wizard.max_hosts == 3


# options of the wizard that `serve` does not pass on, and why
NOT_SERVED = {
    "--help": "serve has its own",
    "--version": "nothing to serve",
    # `--restore` lists saved plans on the terminal or makes plan N the current one; run
    # `k8s-tui --restore N` once, and `k8s-tui serve` then offers that plan in the browser
    "--restore": "a terminal command: restore first, then serve",
}


def test_serve_takes_every_wizard_option():
    """The served wizard takes the same options as the wizard: a new wizard option must be added to
    serve's parser too (or to NOT_SERVED, with the reason)."""
    import argparse

    from k8s_tui.cli import build_parser
    from k8s_tui.cli.serve import _serve_parser_actions

    wizard = {o for a in build_parser()._actions if not isinstance(a, argparse._SubParsersAction) for o in a.option_strings}
    served = {o for a in _serve_parser_actions() for o in a.option_strings}
    missing = sorted(wizard - served - set(NOT_SERVED))
    assert not missing, f"wizard options `k8s-tui serve` does not take: {missing}"
