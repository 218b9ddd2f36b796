"""What SshExecutor does when things go wrong: each fault gives one clear ExecError kind and message,
in bounded time, and the other hosts of the same fan-out finish fine."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
import tempfile
import time
from pathlib import Path

import asyncssh
import pytest

from k8s_tui.engine.executor import ExecError, ExecOptions
from k8s_tui.engine.ssh import SshExecutor
from k8s_tui.model.hosts import Host

pytestmark = pytest.mark.testhosts


def host_of(th, user: str | None = None, **kw) -> Host:
    kw.setdefault("address", th.address)
    kw.setdefault("port", th.port)
    kw.setdefault("key_file", th.key_file)
    return Host(name=kw.pop("name", th.name), user=user or th.user, **kw)


def options(th, **kw) -> ExecOptions:
    kw.setdefault("known_hosts", th.known_hosts)
    kw.setdefault("connect_timeout", 5)
    return ExecOptions(**kw)


async def fanout(ex: SshExecutor, good: list[Host], bad: Host, argv=("echo", "fine"), **kw):
    """Run argv (with kw) on the bad host while the good hosts run a few short commands; the good
    ones must all succeed."""

    async def good_one(h):
        for _ in range(3):
            r = await ex.run(h, ["sh", "-c", "echo fine; sleep 0.2"])
        return r

    took = 0.0

    async def bad_one():
        # timed on its own: the good hosts' short commands are not part of how long the fault took
        nonlocal took
        t0 = time.monotonic()
        try:
            return await ex.run(bad, list(argv), **kw)
        finally:
            took = time.monotonic() - t0

    res = await asyncio.gather(*(good_one(h) for h in good), bad_one(), return_exceptions=True)
    for h, r in zip(good, res):
        assert not isinstance(r, BaseException), f"{h.name}: {r!r}"
        assert r.ok
    err = res[-1]
    assert isinstance(err, ExecError), repr(err)
    assert err.host == bad.name
    return err, took


def machine_pgrep(pattern: str) -> str:
    """Test hosts share the machine's process table (no pid namespace): pgrep from here sees them."""
    return subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True).stdout.strip()


async def until(cond, what: str, timeout: float = 60, seen=None) -> None:
    """Poll cond until it holds; the deadline only fails a broken run, saying what it waited for
    and what it saw (``seen()``)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:g} s waiting for {what}" + (f"; saw: {seen()!r}" if seen else ""))
        await asyncio.sleep(0.02)


def line_event(lines: list[str], wanted: str):
    """An on_line sink that keeps the lines and an Event set when ``wanted`` arrives."""
    ev = asyncio.Event()

    def sink(stream, line):
        lines.append(line)
        if line == wanted:
            ev.set()

    return sink, ev


@contextlib.asynccontextmanager
async def tcp_server(reply: bytes | None):
    """A local TCP server that is not SSH: it sends ``reply`` and hangs up, or says nothing."""

    async def handle(reader, writer):
        if reply is None:
            await reader.read()  # silent until the client gives up and hangs up
        else:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader.readline(), 2)  # like a web server: read, answer, close
            writer.write(reply)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_unreachable_address(testhosts3):
    good = [host_of(th) for th in testhosts3[:2]]
    ex = SshExecutor(options(testhosts3[0], connect_timeout=4))
    # outside every test bridge: the testbed's guard route answers "unreachable" at once
    bad = Host(name="nowhere", address="198.19.255.254", key_file=testhosts3[0].key_file)
    try:
        err, took = await fanout(ex, good, bad)
        assert err.kind == "unreachable", err
        assert took < 5.5
        # on a test bridge, but no host there: no ARP answer, gone within the connect timeout
        sub = testhosts3[0].address.rsplit(".", 1)[0]
        bad2 = Host(name="absent", address=f"{sub}.250", key_file=testhosts3[0].key_file)
        err, took = await fanout(ex, good, bad2)
        assert err.kind == "unreachable", err
        assert took < 4 + 1.5
    finally:
        await ex.close()


async def test_connection_refused(testhosts3):
    th = testhosts3[0]
    ex = SshExecutor(options(th))
    try:
        err, took = await fanout(ex, [host_of(t) for t in testhosts3[1:]], host_of(th, port=2222, name="closed-port"))
        assert err.kind == "refused" and "2222" in err.message
        assert took < 3
    finally:
        await ex.close()


async def test_wrong_port_not_ssh_and_silent_port(testhosts3):
    th = testhosts3[0]
    ex = SshExecutor(options(th, connect_timeout=2))
    good = [host_of(t) for t in testhosts3]
    try:
        async with tcp_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") as port:
            err, took = await fanout(ex, good, Host(name="web", address="127.0.0.1", port=port))
            assert err.kind == "error" and "SSH" in err.message, err
            assert took < 3
        async with tcp_server(None) as port:
            err, took = await fanout(ex, good, Host(name="silent", address="127.0.0.1", port=port))
            assert err.kind == "unreachable" and "no SSH session within" in err.message, err
            assert took < 3.5
    finally:
        await ex.close()


async def test_auth_failure(testhosts3, tmp_path):
    th = testhosts3[0]
    stranger = tmp_path / "stranger_key"
    stranger.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    stranger.chmod(0o600)
    ex = SshExecutor(options(th))
    try:
        bad = host_of(th, key_file=str(stranger), name=th.name)
        err, _ = await fanout(ex, [host_of(t) for t in testhosts3[1:]], bad)
        assert err.kind == "auth"
        assert "'root'" in err.message and str(stranger) in err.message
    finally:
        await ex.close()

    # a wrong password: refused, said so, and the wrong password is not kept
    async def wrong(prompt):
        return "not-the-password"

    ex = SshExecutor(options(th), secret_prompt=wrong)
    try:
        with pytest.raises(ExecError) as ei:
            await ex.run(host_of(th, user="tester", key_file=str(stranger)), ["true"], sudo=False)
        assert ei.value.kind == "auth" and "password (refused)" in ei.value.message
        assert "not-the-password" not in str(ei.value) + repr(ei.value)
    finally:
        await ex.close()


async def test_missing_key_file(testhosts3, tmp_path):
    th = testhosts3[0]
    ex = SshExecutor(options(th))
    with pytest.raises(ExecError) as ei:
        await ex.run(host_of(th, key_file=str(tmp_path / "nope")), ["true"])
    await ex.close()
    assert ei.value.kind == "auth" and "does not exist" in ei.value.message


async def test_unknown_and_changed_host_key(testhosts3, tmp_path):
    th, other = testhosts3[0], testhosts3[1]
    kh = tmp_path / "known_hosts"
    kh.write_text(f"{other.address} {other.host_key}\n")
    ex = SshExecutor(options(th, known_hosts=str(kh)))
    try:
        err, _ = await fanout(ex, [host_of(other)], host_of(th))
        assert err.kind == "hostkey-unknown" and th.host_key_fingerprint in err.message
        kh.write_text(f"{other.address} {other.host_key}\n{th.address} {other.host_key}\n")
        err, _ = await fanout(ex, [host_of(other)], host_of(th))
        assert err.kind == "hostkey-changed"
        assert other.host_key_fingerprint in err.message and th.host_key_fingerprint in err.message
        assert f"{kh}:2" in err.message and "ssh-keygen -R" in err.message
    finally:
        await ex.close()


async def test_sudo_needs_password_but_no_prompt(testhosts3):
    th = testhosts3[0]
    ex = SshExecutor(options(th))
    try:
        err, _ = await fanout(ex, [host_of(th, user="nopw"), host_of(testhosts3[1])],
                              host_of(th, user="tester", name=th.name), argv=("id", "-u"))
        assert err.kind == "sudo-password" and "tester" in err.message and "NOPASSWD" in err.message
        # without sudo the same user is fine
        assert (await ex.run(host_of(th, user="tester"), ["id", "-un"], sudo=False)).stdout == "tester\n"
    finally:
        await ex.close()


async def test_wrong_sudo_password(testhosts3):
    th = testhosts3[0]
    asked = []

    async def wrong(prompt):
        asked.append(prompt)
        return "wrong-sudo-password"

    ex = SshExecutor(options(th), secret_prompt=wrong)
    try:
        with pytest.raises(ExecError) as ei:
            await ex.run(host_of(th, user="tester"), ["id", "-u"])
        assert ei.value.kind == "sudo-password"
        assert "wrong-sudo-password" not in str(ei.value) + repr(ei.value) + repr(ex)
    finally:
        await ex.close()


async def test_nonzero_exit_is_a_result_not_an_error(testhosts3):
    th = testhosts3[0]
    ex = SshExecutor(options(th))
    try:
        r = await ex.run(host_of(th), ["sh", "-c", "echo out; echo err >&2; exit 7"])
        assert (r.exit_status, r.stdout, r.stderr, r.ok) == (7, "out\n", "err\n", False)
        with pytest.raises(ExecError) as ei:
            await ex.run(host_of(th), ["sh", "-c", "exit 7"], check=True)
        assert ei.value.kind == "error" and "status 7" in ei.value.message
    finally:
        await ex.close()


@pytest.mark.parametrize("user", ["root", "tester"])
async def test_timeout_kills_the_remote_process(testhosts3, user):
    th = testhosts3[0]
    tag = "k8stuihang" + secrets.token_hex(4)
    nap = f"300.{secrets.randbelow(10**8):08d}"  # a sleep whose command line is unique

    async def pw(prompt):
        return th.password

    ex = SshExecutor(options(th), secret_prompt=pw)
    h = host_of(th, user=user)
    lines = []
    try:
        t0 = time.monotonic()
        err, took = await fanout(
            ex, [host_of(t) for t in testhosts3[1:]], h,
            # a shell, a child shell in the background, and their sleeps: all must go
            argv=("sh", "-c", f"echo started; sh -c 'sleep {nap}; : {tag}' & sleep {nap}; : {tag}"), timeout=2,
            on_line=lambda s, ln: lines.append(ln),
        )
        assert err.kind == "timeout" and "2 s" in err.message
        assert time.monotonic() - t0 < 6
        assert "started" in lines
        assert machine_pgrep(tag) == ""  # the shells are gone
        assert machine_pgrep(nap) == ""  # and their sleeps
        # and the host is still usable on the same connection
        assert (await ex.run(h, ["echo", "after"])).stdout == "after\n"
        assert ex.connection_count(h) == 1
    finally:
        await ex.close()


async def test_cancel_kills_the_remote_process(testhosts3):
    th = testhosts3[0]
    tag = "k8stuicancel" + secrets.token_hex(4)
    nap = f"300.{secrets.randbelow(10**8):08d}"
    ex = SshExecutor(options(th))
    try:
        t = asyncio.ensure_future(ex.run(host_of(th), ["sh", "-c", f"sh -c 'sleep {nap}; : {tag}' & sleep {nap}; : {tag}"]))

        def sleeps() -> list[str]:
            return [ln for ln in machine_pgrep(nap).splitlines() if ln.split(None, 1)[-1] == f"sleep {nap}"]

        # cancel once both sleeps run (the background one and the foreground one)
        await until(lambda: len(sleeps()) == 2 or t.done(), "both remote sleeps to start", seen=lambda: machine_pgrep(nap))
        assert not t.done(), t
        assert machine_pgrep(tag) != ""
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert machine_pgrep(tag) == "" and machine_pgrep(nap) == ""
    finally:
        await ex.close()


async def test_sshd_killed_mid_stream(testbed):
    victim, other = testbed(2, prefix="kill")
    ex = SshExecutor(options(victim, keepalive_interval=2))
    lines: list[str] = []
    sink, first = line_event(lines, "1")
    try:
        await ex.run(host_of(victim), ["true"])

        async def kill_soon():
            # mid-stream: once the first line arrived
            try:
                await asyncio.wait_for(first.wait(), 60)
            except asyncio.TimeoutError:
                pytest.fail(f"no first line within 60 s; lines: {lines}")
            await asyncio.to_thread(victim.kill_sshd, sessions=True)

        killer = asyncio.ensure_future(kill_soon())
        t0 = time.monotonic()
        err, took = await fanout(
            ex, [host_of(other)], host_of(victim),
            argv=("sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; sleep 1; done"),
            on_line=sink,
        )
        await killer
        assert err.kind == "lost", err
        assert "1" in lines and "9" not in lines
        assert time.monotonic() - t0 < 8
        # the host is down now: a new command says so at once
        with pytest.raises(ExecError) as ei:
            await ex.run(host_of(victim), ["true"])
        assert ei.value.kind == "refused"
    finally:
        await ex.close()
        testbed.release([victim, other])


async def test_link_cut_mid_stream_noticed_by_keepalive(testbed):
    victim, other = testbed(2, prefix="cut")
    ex = SshExecutor(options(victim, keepalive_interval=2, keepalive_count_max=3))
    lines: list[str] = []
    sink, ticking = line_event(lines, "tick")
    try:
        await ex.run(host_of(victim), ["true"])

        async def cut_soon():
            # mid-stream: once the command is ticking
            try:
                await asyncio.wait_for(ticking.wait(), 60)
            except asyncio.TimeoutError:
                pytest.fail(f"no tick within 60 s; lines: {lines}")
            await asyncio.to_thread(victim.link_down)
            return time.monotonic()

        cutter = asyncio.ensure_future(cut_soon())
        err, _took = await fanout(
            ex, [host_of(other)], host_of(victim),
            argv=("sh", "-c", "while :; do echo tick; sleep 0.5; done"),
            on_line=sink,
        )
        cut_at = await cutter
        noticed = time.monotonic() - cut_at
        assert err.kind == "lost", err
        assert noticed < 30 and noticed < 2 * 3 + 4, noticed
    finally:
        with contextlib.suppress(Exception):
            victim.link_up()
        await ex.close()
        testbed.release([victim, other])


async def test_password_canary_never_leaks(testhosts3):
    th = testhosts3[0]
    canary_ssh = th.password  # tester's login and sudo password
    asked = []

    async def pw(prompt):
        asked.append(prompt)
        return canary_ssh

    stranger = asyncssh.generate_private_key("ssh-ed25519")
    d = Path(tempfile.mkdtemp())
    (d / "k").write_bytes(stranger.export_private_key())
    (d / "k").chmod(0o600)
    ex = SshExecutor(options(th, command_timeout=3), secret_prompt=pw)
    h = host_of(th, user="tester", key_file=str(d / "k"))  # password login, then sudo -S
    captured: list[str] = []
    errors: list[BaseException] = []

    def sink(stream, line):
        captured.append(line)

    try:
        r1 = await ex.run(h, ["sh", "-c", "id -un; env; cat /proc/$$/cmdline | tr '\\0' ' '; ps -eo args"], on_line=sink)
        r2 = await ex.run(h, ["sh", "-c", "cat; echo done"], stdin=b"payload\n", on_line=sink)
        assert r2.stdout == "payload\ndone\n"
        await ex.write_file(h, "/etc/k8s-tui-canary.conf", b"x\n")
        for argv, kw in [(["sleep", "30"], {}), (["sh", "-c", "exit 3"], {"check": True})]:
            try:
                await ex.run(h, argv, on_line=sink, **kw)
            except ExecError as e:
                errors.append(e)
        # a wrong sudo password (it holds the canary too)
        async def wrong(prompt):
            asked.append(prompt)
            return canary_ssh + "-wrong"

        ex2 = SshExecutor(options(th), secret_prompt=wrong)
        try:
            await ex2.run(host_of(th, user="tester"), ["true"], on_line=sink)
        except ExecError as e:
            errors.append(e)
        finally:
            await ex2.close()
        texts = [*captured, r1.stdout, r1.stderr, repr(r1), repr(r2), repr(ex), repr(ex2)]
        texts += [str(e) for e in errors] + [repr(e) for e in errors] + [repr(e.__dict__) for e in errors]
        assert r1.stdout.startswith("root\n")
        assert [e.kind for e in errors] == ["timeout", "error", "sudo-password"]
        for t in texts:
            assert canary_ssh not in t
        # nor in any process's argv on the host while a sudo command runs: the command says it
        # runs, then waits until the test has looked
        flag = f"/tmp/k8s-tui-canary-looked-{secrets.token_hex(4)}"
        up_lines: list[str] = []
        up_sink, up = line_event(up_lines, "up")
        t = asyncio.ensure_future(ex.run(h, ["sh", "-c", 'echo up; while [ ! -e "$1" ]; do sleep 0.02; done', "sh", flag],
                                         on_line=up_sink, timeout=120))
        await until(lambda: up.is_set() or t.done(), "the sudo command to start", seen=lambda: up_lines)
        assert not t.done(), t
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        th.path(flag).touch()
        assert (await t).ok
        assert "sudo -S -p  -- sh -c" in ps  # looked while the sudo command ran
        assert canary_ssh not in ps
    finally:
        await ex.close()
    assert len(asked) == 3  # SSH password, sudo password, then the second executor's (wrong) sudo password


async def test_a_failing_line_consumer_stops_the_remote_command(testhosts3):
    th = testhosts3[0]
    nap = f"300.{secrets.randbelow(10**8):08d}"
    ex = SshExecutor(options(th))

    def sink(stream, line):
        raise ValueError("consumer broke")

    try:
        with pytest.raises(ValueError):
            await ex.run(host_of(th), ["sh", "-c", f"echo hello; sleep {nap}"], on_line=sink)
        assert machine_pgrep(nap) == ""
        assert (await ex.run(host_of(th), ["echo", "still fine"])).ok
    finally:
        await ex.close()
