"""SshExecutor against real OpenSSH test hosts (tests/testbed): streaming, files, sudo, auth,
host keys, connection reuse, jump hosts."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest

from k8s_tui.engine.executor import ExecError, ExecOptions, Executor, HostKeyInfo
from k8s_tui.engine.ssh import SshExecutor
from k8s_tui.model.hosts import Host

pytestmark = pytest.mark.testhosts

HOSTILE = ["; touch /tmp/pwned", "$(touch /tmp/pwned)", "`touch /tmp/pwned`", "a\nb; touch /tmp/pwned",
           "it's \"quoted\"", "*", "$HOME", "-n", "\\", "&& touch /tmp/pwned #"]


def host_of(th, user: str | None = None, **kw) -> Host:
    return Host(name=th.name, address=th.address, port=th.port, user=user or th.user, key_file=th.key_file, **kw)


def options(th, **kw) -> ExecOptions:
    kw.setdefault("known_hosts", th.known_hosts)
    kw.setdefault("connect_timeout", 8)
    return ExecOptions(**kw)


class Prompts:
    """A secret prompt that counts how often it was asked."""

    def __init__(self, answer: str | None):
        self.answer = answer
        self.asked: list[str] = []

    async def __call__(self, prompt: str) -> str | None:
        self.asked.append(prompt)
        return self.answer


def established_ssh(th) -> int:
    """TCP connections to the host's sshd, counted inside its network namespace."""
    out = th.run(["ss", "-Htn", "state", "established", "( sport = :22 )"]).stdout
    return len([ln for ln in out.splitlines() if ln.strip()])


@pytest.fixture
def hosts(testhosts3):
    return testhosts3


async def test_is_an_executor():
    assert isinstance(SshExecutor(ExecOptions()), Executor)


async def test_run_streams_lines_in_order_stdout_and_stderr_apart(hosts):
    th = hosts[0]
    ex = SshExecutor(options(th))
    got: list[tuple[str, str]] = []
    try:
        r = await ex.run(host_of(th), ["sh", "-c", "echo 1; echo e1 >&2; echo 2; echo e2 >&2; echo 3"],
                         on_line=lambda s, ln: got.append((s, ln)))
    finally:
        await ex.close()
    assert r.ok and r.exit_status == 0
    assert [ln for s, ln in got if s == "stdout"] == ["1", "2", "3"]
    assert [ln for s, ln in got if s == "stderr"] == ["e1", "e2"]
    assert r.stdout == "1\n2\n3\n"
    assert r.stderr == "e1\ne2\n"
    assert r.argv == ["sh", "-c", "echo 1; echo e1 >&2; echo 2; echo e2 >&2; echo 3"]


async def test_raw_text_kept_empty_lines_kept_no_phantom_line(hosts):
    th = hosts[0]
    ex = SshExecutor(options(th))
    try:
        for _ in range(5):  # the phantom empty line at EOF came about one run in three
            got: list[str] = []
            r = await ex.run(host_of(th), ["printf", "a\\n\\n\\033[31mred\\033[0m\\r\\nlast"], on_line=lambda s, ln: got.append(ln))
            assert got == ["a", "", "\x1b[31mred\x1b[0m\r", "last"]
            assert r.stdout == "a\n\n\x1b[31mred\x1b[0m\r\nlast"
            got.clear()
            await ex.run(host_of(th), ["echo", "one"], on_line=lambda s, ln: got.append(ln))
            assert got == ["one"]
    finally:
        await ex.close()


FLAG = "/tmp/k8s-tui-seen-first-line"


@pytest.mark.parametrize(
    "argv",
    [
        ["sh", "-c", f"echo first; while [ ! -e {FLAG} ]; do sleep 0.02; done; echo second"],
        # a program that block-buffers a pipe unless told otherwise (PYTHONUNBUFFERED / stdbuf)
        ["python3", "-c", "import os, time\nprint('first')\n"
                          f"while not os.path.exists({FLAG!r}): time.sleep(0.02)\nprint('second')"],
    ],
    ids=["shell", "python"],
)
async def test_lines_arrive_while_the_command_runs(hosts, argv):
    """A handshake, not a stopwatch: the command prints a line, then waits until the test has seen
    that line (the test creates a file on the host when it arrives). Were the line held back
    until the command ends, the command would never end: the timeout says so."""
    th = hosts[0]
    if argv[0] == "python3" and not shutil.which("python3"):
        pytest.skip("no python3")
    ex = SshExecutor(options(th))
    seen: list[str] = []
    flag = th.path(FLAG)
    flag.unlink(missing_ok=True)

    def sink(stream, line):
        seen.append(line)
        if line == "first":
            flag.touch()  # the command may go on now

    try:
        r = await ex.run(host_of(th), argv, on_line=sink, timeout=60)
    except ExecError as e:
        pytest.fail(f"the first line did not arrive while the command ran ({e}); lines seen: {seen}")
    finally:
        await ex.close()
    assert r.ok and seen == ["first", "second"]


async def test_exit_codes(hosts):
    th = hosts[0]
    ex = SshExecutor(options(th))
    h = host_of(th)
    try:
        assert (await ex.run(h, ["sh", "-c", "exit 3"])).exit_status == 3
        assert (await ex.run(h, ["false"])).exit_status == 1
        r = await ex.run(h, ["no-such-command-k8s-tui"])
        assert r.exit_status == 127 and "no-such-command-k8s-tui" in r.stderr
        with pytest.raises(ExecError) as ei:
            await ex.run(h, ["sh", "-c", "echo bad thing >&2; exit 4"], check=True)
        assert ei.value.kind == "error"
        assert "status 4" in ei.value.message and "bad thing" in ei.value.message
    finally:
        await ex.close()


async def test_hostile_values_are_never_shell_code(hosts):
    th = hosts[0]
    ex = SshExecutor(options(th))
    h = host_of(th)
    try:
        r = await ex.run(h, ["printf", "%s\\n", *HOSTILE])
        assert r.stdout == "".join(v + "\n" for v in HOSTILE)
        d = "/tmp/k8s tui $(touch /tmp/pwned) `id`"
        await ex.run(h, ["mkdir", "-p", d])
        for v in ["we;ird $(touch pwned)", "`touch pwned`", "; touch pwned", "new\nline", "q'uo\"te", "-rf", "*"]:
            path = f"{d}/{v}"
            res = await ex.write_file(h, path, v.encode(), backup_dir=f"{d}/backup $(id)")
            assert res.changed
            assert await ex.read_file(h, path) == v.encode()
            assert th.path(path).read_bytes() == v.encode()
    finally:
        await ex.close()
    assert not th.path("/tmp/pwned").exists()
    assert not th.path("/root/pwned").exists()
    assert not Path("/tmp/pwned").exists()


async def test_write_file_atomic_backup_unchanged_mode_owner(hosts):
    th = hosts[0]
    ex = SshExecutor(options(th))
    h = host_of(th)
    path = "/etc/k8s-tui-test/sample.conf"
    bdir = "/var/lib/k8s-tui/backup/run-1"
    data = bytes(range(256)) * 100
    try:
        await ex.run(h, ["rm", "-rf", "/etc/k8s-tui-test", bdir])
        await ex.run(h, ["mkdir", "-p", "/etc/k8s-tui-test"])
        r1 = await ex.write_file(h, path, data, mode=0o640, owner="root", group="nopw", backup_dir=bdir)
        assert r1.changed and r1.backup == f"{bdir}/sample.conf.absent"
        assert th.path(r1.backup).exists()  # "did not exist" is remembered
        st = th.path(path).stat()
        assert th.path(path).read_bytes() == data
        assert oct(st.st_mode & 0o7777) == oct(0o640)
        assert th.run(["stat", "-c", "%U:%G", path]).stdout.strip() == "root:nopw"
        # the same again: unchanged, nothing touched
        ino = st.st_ino
        r2 = await ex.write_file(h, path, data, mode=0o640, owner="root", group="nopw", backup_dir=bdir)
        assert r2 == type(r2)(changed=False, backup=None)
        assert th.path(path).stat().st_ino == ino
        # only the mode differs: rewritten
        r3 = await ex.write_file(h, path, data, mode=0o644, owner="root", group="nopw", backup_dir=bdir)
        assert r3.changed and oct(th.path(path).stat().st_mode & 0o7777) == oct(0o644)
        # new content, new run: the old content is in the backup, with its mode; replaced by rename
        bdir2 = "/var/lib/k8s-tui/backup/run-2"
        ino = th.path(path).stat().st_ino
        r4 = await ex.write_file(h, path, b"new\n", backup_dir=bdir2)
        assert r4.changed and r4.backup == f"{bdir2}/sample.conf"
        assert th.path(r4.backup).read_bytes() == data
        assert oct(th.path(r4.backup).stat().st_mode & 0o7777) == oct(0o644)
        assert th.path(path).read_bytes() == b"new\n"
        assert th.path(path).stat().st_ino != ino
        # a second write in the same run keeps the first backup (the state before the run)
        r5 = await ex.write_file(h, path, b"newer\n", backup_dir=bdir2)
        assert r5.backup == f"{bdir2}/sample.conf" and th.path(r5.backup).read_bytes() == data
        # no temp file left behind
        assert sorted(os.listdir(th.path("/etc/k8s-tui-test"))) == ["sample.conf"]
        # empty content
        r6 = await ex.write_file(h, "/etc/k8s-tui-test/empty", b"")
        assert r6.changed and th.path("/etc/k8s-tui-test/empty").read_bytes() == b""
        assert not (await ex.write_file(h, "/etc/k8s-tui-test/empty", b"")).changed
    finally:
        await ex.close()


async def test_upload_file_streams_a_large_file_through_sudo(hosts, tmp_path):
    """An offline bundle's image tarball can be gigabytes: upload_file sends it in chunks, so this
    process holds a few chunks of a 96 MiB file, never the file (write_file would hold all of it).
    Through sudo (user nopw), exact bytes and mode; the same again is unchanged without a rename."""
    import hashlib
    import tracemalloc

    th = hosts[0]
    src = tmp_path / "images.tar"
    with open(src, "wb") as f:
        for _ in range(96):
            f.write(os.urandom(1 << 20))
    ex = SshExecutor(options(th))
    h = host_of(th, user="nopw")
    path = "/var/lib/k8s-tui-test/upload/images.tar"
    try:
        await ex.run(h, ["mkdir", "-p", "/var/lib/k8s-tui-test/upload"])
        await ex.run(h, ["true"])  # connected and sudo learned before measuring
        tracemalloc.start()
        try:
            r1 = await ex.upload_file(h, path, str(src), mode=0o640)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert r1.changed
        assert peak < 16 * 1024 * 1024, f"the upload held {peak / 2**20:.1f} MiB at its peak"
        got = th.path(path)
        assert hashlib.sha256(got.read_bytes()).hexdigest() == hashlib.sha256(src.read_bytes()).hexdigest()
        assert oct(got.stat().st_mode & 0o7777) == oct(0o640)
        assert th.run(["stat", "-c", "%U:%G", path]).stdout.strip() == "root:root"
        ino = got.stat().st_ino
        assert not (await ex.upload_file(h, path, str(src), mode=0o640)).changed
        assert got.stat().st_ino == ino
        assert [n for n in os.listdir(got.parent) if n != "images.tar"] == []  # no temp file left
        with pytest.raises(ExecError, match="cannot read .*missing.tar to copy it to"):
            await ex.upload_file(h, path, str(tmp_path / "missing.tar"))
    finally:
        await ex.close()


class ThrottledRelay:
    """A TCP relay in front of a test host's sshd whose client-to-host direction can be held after
    a budget of bytes: a write through it is then provably in flight (begun, and unable to end)
    for as long as the test wants, whatever the speed of the machine."""

    def __init__(self, address: str, port: int):
        self.target = (address, port)
        self.budget: int | None = None  # bytes still let through to the host; None: no limit
        self.held = asyncio.Event()  # set when the client wanted to send more than the budget
        self._unlimited = asyncio.Event()
        self._unlimited.set()
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self.port = 0

    async def __aenter__(self) -> ThrottledRelay:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def hold_after(self, n: int) -> None:
        self.budget, self.held = n, asyncio.Event()
        self._unlimited.clear()

    def release(self) -> None:
        self.budget = None
        self._unlimited.set()

    async def _accept(self, reader, writer) -> None:
        up_r, up_w = await asyncio.open_connection(*self.target)
        for t in (self._pipe(reader, up_w, throttled=True), self._pipe(up_r, writer, throttled=False)):
            task = asyncio.ensure_future(t)
            self._tasks.add(task)

    async def _pipe(self, reader, writer, *, throttled: bool) -> None:
        try:
            while True:
                n = 65536
                if throttled:
                    while self.budget == 0:
                        self.held.set()
                        await self._unlimited.wait()
                    if self.budget is not None:
                        n = min(n, self.budget)
                data = await reader.read(n)
                if not data:
                    break
                if throttled and self.budget is not None:
                    self.budget -= len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # one side hung up: the other is closed below, as a real network would
        finally:
            writer.close()


async def test_write_file_cancelled_leaves_target_whole(hosts, tmp_path):
    """Cancel a write while it is provably in flight: the host has received part of the content
    (the temp file holds bytes) and cannot receive the rest (the relay holds it back). The target
    must stay whole (the old content: the new one never arrived in full) and the temp file go."""
    th = hosts[0]
    old = b"old content\n"
    big = os.urandom(64 * 1024 * 1024)
    d = "/etc/k8s-tui-test"
    path = f"{d}/big.bin"
    async with ThrottledRelay(th.address, th.port) as relay:
        kh = tmp_path / "known_hosts"
        kh.write_text(f"[127.0.0.1]:{relay.port} {th.host_key}\n")
        ex = SshExecutor(options(th, known_hosts=str(kh)))
        h = Host(name=th.name, address="127.0.0.1", port=relay.port, user=th.user, key_file=th.key_file)
        try:
            await ex.run(h, ["mkdir", "-p", d])
            await ex.write_file(h, path, old)
            relay.hold_after(4 * 1024 * 1024)  # the command, then a few MiB of the 64
            t = asyncio.ensure_future(ex.write_file(h, path, big))

            def temp_files() -> dict[str, int]:
                out = {}
                for n in os.listdir(th.path(d)):
                    if n.startswith(".big.bin"):
                        try:
                            out[n] = th.path(f"{d}/{n}").stat().st_size
                        except FileNotFoundError:
                            continue
                return out

            deadline = time.monotonic() + 60
            while not (relay.held.is_set() and any(temp_files().values())):
                if t.done():
                    pytest.fail(f"the write ended before it could be cancelled: {t.result() if not t.exception() else t.exception()!r}")
                if time.monotonic() > deadline:
                    pytest.fail(f"no write in flight after 60 s: relay held={relay.held.is_set()}, temp files {temp_files()}")
                await asyncio.sleep(0.01)
            seen = temp_files()
            assert not t.done() and 0 < sum(seen.values()) < len(big), seen
            t.cancel()
            relay.release()  # the executor's kill command must get through
            done, _ = await asyncio.wait({t}, timeout=60)
            assert done, "the cancelled write did not end within 60 s"
            assert t.cancelled()
            deadline = time.monotonic() + 30
            while temp_files() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert temp_files() == {}, "the temp file was left behind"
            assert th.path(path).read_bytes() == old
            # the connection is still good
            assert (await ex.run(h, ["echo", "ok"])).stdout == "ok\n"
        finally:
            await ex.close()


async def test_read_file(hosts):
    th = hosts[0]
    ex = SshExecutor(options(th))
    h = host_of(th)
    try:
        assert await ex.read_file(h, "/etc/hostname") == f"{th.name}\n".encode()
        assert await ex.read_file(h, "/etc/no-such-file-k8s-tui") is None
        blob = bytes(range(256)) + b"\r\n\x00end"
        await ex.write_file(h, "/root/blob.bin", blob, mode=0o600)
        assert await ex.read_file(h, "/root/blob.bin") == blob
        with pytest.raises(ExecError):
            await ex.read_file(h, "/root")  # a directory
    finally:
        await ex.close()


async def test_sudo_nopasswd_user(hosts):
    th = hosts[0]
    prompt = Prompts(None)
    ex = SshExecutor(options(th), secret_prompt=prompt)
    h = host_of(th, user="nopw")
    try:
        assert (await ex.run(h, ["id", "-un"])).stdout == "root\n"
        assert (await ex.run(h, ["id", "-un"], sudo=False)).stdout == "nopw\n"
        await ex.write_file(h, "/etc/k8s-tui-nopw.conf", b"x\n")
        assert th.run(["stat", "-c", "%U", "/etc/k8s-tui-nopw.conf"]).stdout.strip() == "root"
        assert await ex.read_file(h, "/root/.bashrc") is not None  # root-only directory
    finally:
        await ex.close()
    assert prompt.asked == []


async def test_sudo_with_password_asked_once_and_cached(hosts):
    th = hosts[0]
    prompt = Prompts(th.password)
    ex = SshExecutor(options(th), secret_prompt=prompt)
    h = host_of(th, user="tester")
    try:
        outs = await asyncio.gather(*(ex.run(h, ["id", "-un"]) for _ in range(5)))
        assert [o.stdout for o in outs] == ["root\n"] * 5
        assert (await ex.run(h, ["id", "-un"], sudo=False)).stdout == "tester\n"
        # stdin still reaches the command after sudo took the password line
        r = await ex.run(h, ["sh", "-c", "cat; id -un"], stdin=b"from stdin\n")
        assert r.stdout == "from stdin\nroot\n"
        res = await ex.write_file(h, "/etc/k8s-tui-tester.conf", b"content\n", backup_dir="/var/tmp/k8s-tui-bk")
        assert res.changed and th.path("/etc/k8s-tui-tester.conf").read_bytes() == b"content\n"
        assert await ex.read_file(h, "/etc/k8s-tui-tester.conf") == b"content\n"
    finally:
        await ex.close()
    assert prompt.asked == [f"sudo password for tester@{th.name}"]


async def test_key_auth_and_password_auth(hosts):
    th = hosts[0]
    ex = SshExecutor(options(th))
    try:
        assert (await ex.run(host_of(th), ["id", "-un"])).stdout == "root\n"
    finally:
        await ex.close()
    # tester with a key the host does not know: falls back to the password, asked once
    prompt = Prompts(th.password)
    ex = SshExecutor(options(th), secret_prompt=prompt)
    wrong_key = Path(th.known_hosts).parent / "k8s-tui-unauthorized-key"
    if not wrong_key.exists():
        import asyncssh

        wrong_key.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
        wrong_key.chmod(0o600)
    h = Host(name=th.name, address=th.address, user="tester", key_file=str(wrong_key))
    try:
        assert (await ex.run(h, ["id", "-un"], sudo=False)).stdout == "tester\n"
        assert (await ex.run(h, ["id", "-un"], sudo=False)).stdout == "tester\n"
        # the same password serves sudo only when asked for it: a separate prompt
        assert (await ex.run(h, ["id", "-un"])).stdout == "root\n"
    finally:
        await ex.close()
    assert prompt.asked == [f"SSH password for tester@{th.address}", f"sudo password for tester@{th.name}"]


async def test_one_connection_per_host_reused(hosts):
    th = hosts[1]
    ex = SshExecutor(options(th))
    h = host_of(th)
    before = established_ssh(th)
    try:
        # more at once than sshd's MaxSessions (10): queued and retried, never an error
        outs = await asyncio.gather(*(ex.run(h, ["echo", str(i)]) for i in range(40)))
        assert [o.stdout for o in outs] == [f"{i}\n" for i in range(40)]
        for i in range(5):
            await ex.run(h, ["echo", str(i)])
            await ex.read_file(h, "/etc/hostname")
        assert ex.connection_count(h) == 1
        assert established_ssh(th) == before + 1
    finally:
        await ex.close()
    # sshd notices the close on its own schedule: wait for it (a deadline only a leak reaches)
    deadline = time.monotonic() + 30
    while established_ssh(th) != before and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert established_ssh(th) == before, f"connections to sshd: {established_ssh(th)}, before: {before}"


async def test_max_concurrent_hosts_bounds_the_fanout(hosts):
    """Each command says it started (a file on its host), then waits until the test lets it go.
    Counted, not timed: with a bound of 1 no two run at once; with 3 all three must be running
    together before any is let go (a wrong bound would never get there: the deadline says so)."""
    tag = f"/root/k8s-tui-fanout-{os.getpid()}-{time.monotonic_ns()}"
    gate = ["sh", "-c", 'touch "$1.started"; while [ ! -e "$1.go" ]; do sleep 0.02; done; touch "$1.done"', "sh"]

    def state(th, what: str) -> bool:
        return th.path(f"{tag}-{th.name}.{what}").exists()

    def running() -> list[str]:
        return [th.name for th in hosts if state(th, "started") and not state(th, "done")]

    async def until(cond, what: str) -> None:
        deadline = time.monotonic() + 60
        while not cond():
            if time.monotonic() > deadline:
                pytest.fail(f"gave up after 60 s waiting for {what}; running: {running()}")
            await asyncio.sleep(0.02)

    async def fan_out(bound: int) -> None:
        ex = SshExecutor(options(hosts[0], max_concurrent_hosts=bound))
        try:
            await asyncio.gather(*(ex.run(host_of(th), ["true"]) for th in hosts))  # connect all
            runs = asyncio.gather(*(ex.run(host_of(th), [*gate, f"{tag}-{th.name}"], timeout=120) for th in hosts))
            try:
                if bound == 1:
                    let_go: list[str] = []
                    for _ in hosts:
                        await until(lambda: len(running()) > 0, "a command to start")
                        now = running()
                        assert len(now) == 1 and now[0] not in let_go, f"bound 1, running at once: {now}"
                        let_go.append(now[0])
                        th = next(t for t in hosts if t.name == now[0])
                        th.path(f"{tag}-{th.name}.go").touch()
                        await until(lambda: state(th, "done"), f"{th.name} to finish")
                    assert sorted(let_go) == sorted(th.name for th in hosts)
                else:
                    await until(lambda: len(running()) == len(hosts), "all hosts running at once")
                    for th in hosts:
                        th.path(f"{tag}-{th.name}.go").touch()
                assert all(r.ok for r in await runs)
            finally:
                for th in hosts:  # let any command still waiting go, whatever happened above
                    th.path(f"{tag}-{th.name}.go").touch()
                await asyncio.gather(runs, return_exceptions=True)
        finally:
            await ex.close()
            for th in hosts:  # the next round starts from nothing
                for what in ("started", "go", "done"):
                    th.path(f"{tag}-{th.name}.{what}").unlink(missing_ok=True)

    await fan_out(1)
    await fan_out(3)


async def test_unknown_host_key_prompt_then_remembered(hosts, tmp_path):
    th = hosts[0]
    kh = tmp_path / "known_hosts"
    kh.write_text("# mine\n")
    infos: list[HostKeyInfo] = []

    async def accept(info):
        infos.append(info)
        return True

    ex = SshExecutor(options(th, known_hosts=str(kh)), host_key_prompt=accept)
    try:
        assert (await asyncio.gather(*(ex.run(host_of(th), ["true"]) for _ in range(3))))[0].ok
    finally:
        await ex.close()
    assert len(infos) == 1
    assert infos[0] == HostKeyInfo(host=th.name, address=th.address, port=th.port, key_type="ssh-ed25519",
                                   fingerprint=th.host_key_fingerprint)
    lines = kh.read_text().splitlines()
    assert lines[0] == "# mine" and lines[1].startswith(f"{th.address} ssh-ed25519 ")
    assert lines[1].split()[2] == th.host_key.split()[1]
    # OpenSSH agrees with what was written
    assert shutil.which("ssh-keygen") is None or th.address in os.popen(f"ssh-keygen -F {th.address} -f {kh}").read()
    # remembered: no prompt the next time
    ex = SshExecutor(options(th, known_hosts=str(kh)), host_key_prompt=accept)
    try:
        await ex.run(host_of(th), ["true"])
    finally:
        await ex.close()
    assert len(infos) == 1


async def test_unknown_host_key_declined_or_no_prompt(hosts, tmp_path):
    th = hosts[0]
    kh = tmp_path / "known_hosts"

    async def decline(info):
        return False

    for prompt in (decline, None):
        ex = SshExecutor(options(th, known_hosts=str(kh)), host_key_prompt=prompt)
        with pytest.raises(ExecError) as ei:
            await ex.run(host_of(th), ["true"])
        await ex.close()
        assert ei.value.kind == "hostkey-unknown"
        assert th.host_key_fingerprint in ei.value.message
    assert "--accept-new-host-keys" in ei.value.message and "ssh-keyscan" in ei.value.message
    assert not kh.exists() or kh.read_text() == ""
    # --accept-new-host-keys: trusted and written, hashed when asked
    ex = SshExecutor(options(th, known_hosts=str(kh), accept_new_host_keys=True, extra={"hash_known_hosts": True}))
    try:
        assert (await ex.run(host_of(th), ["true"])).ok
    finally:
        await ex.close()
    text = kh.read_text()
    assert text.startswith("|1|") and th.address not in text
    if shutil.which("ssh-keygen"):
        assert "found: line 1" in os.popen(f"ssh-keygen -F {th.address} -f {kh}").read()


async def test_changed_host_key_refused(hosts, tmp_path):
    th, other = hosts[0], hosts[1]
    kh = tmp_path / "known_hosts"
    # line 2 claims th's address has the other host's key
    kh.write_text(f"{other.address} {other.host_key}\n{th.address} {other.host_key}\n")
    asked = []

    async def accept(info):
        asked.append(info)
        return True

    ex = SshExecutor(options(th, known_hosts=str(kh), accept_new_host_keys=True), host_key_prompt=accept)
    with pytest.raises(ExecError) as ei:
        await ex.run(host_of(th), ["true"])
    await ex.close()
    e = ei.value
    assert e.kind == "hostkey-changed"
    assert f"{kh}:2" in e.message
    assert other.host_key_fingerprint in e.message and th.host_key_fingerprint in e.message
    assert f"ssh-keygen -R {th.address} -f {kh}" in e.message
    assert asked == []  # never offered to trust a changed key
    assert kh.read_text().count("\n") == 2


async def test_jump_host(hosts):
    jump, target = hosts[0], hosts[1]
    ex = SshExecutor(options(jump))
    h = Host(name=target.name, address=target.address, user="root", key_file=target.key_file,
             proxy_jump=f"root@{jump.address}:22")
    try:
        r = await ex.run(h, ["hostname"])
        assert r.stdout == f"{target.name}\n"
        # the target sees the jump host as its peer
        r = await ex.run(h, ["sh", "-c", "echo $SSH_CLIENT"])
        assert r.stdout.split()[0] == jump.address
        await ex.write_file(h, "/etc/k8s-tui-jump.conf", b"via jump\n")
        assert target.path("/etc/k8s-tui-jump.conf").read_bytes() == b"via jump\n"
    finally:
        await ex.close()


async def test_close_is_idempotent(hosts):
    th = hosts[0]
    ex = SshExecutor(options(th))
    await ex.run(host_of(th), ["true"])
    await ex.close()
    await ex.close()


async def test_encrypted_key_passphrase_asked_once(hosts, tmp_path):
    import asyncssh

    key = asyncssh.read_private_key(hosts[0].key_file)
    enc = tmp_path / "id_encrypted"
    # PKCS#8: OpenSSH's own encrypted format needs the optional bcrypt module (asyncssh[bcrypt])
    enc.write_bytes(key.export_private_key("pkcs8-pem", passphrase="open sesame"))
    enc.chmod(0o600)
    prompt = Prompts("open sesame")
    ex = SshExecutor(options(hosts[0]), secret_prompt=prompt)
    try:
        outs = await asyncio.gather(*(ex.run(Host(name=th.name, address=th.address, key_file=str(enc)), ["hostname"])
                                      for th in hosts))
        assert [o.stdout for o in outs] == [f"{th.name}\n" for th in hosts]
    finally:
        await ex.close()
    assert prompt.asked == [f"passphrase for key {enc}"]
    # a wrong passphrase: an auth error naming the key, nothing leaked
    ex = SshExecutor(options(hosts[0]), secret_prompt=Prompts("wrong horse"))
    with pytest.raises(ExecError) as ei:
        await ex.run(Host(name=hosts[0].name, address=hosts[0].address, key_file=str(enc)), ["true"])
    await ex.close()
    assert ei.value.kind == "auth" and str(enc) in ei.value.message and "wrong horse" not in str(ei.value)


async def test_ssh_agent_auth(hosts, tmp_path, monkeypatch):
    if not shutil.which("ssh-agent") or not shutil.which("ssh-add"):
        pytest.skip("no ssh-agent")
    import subprocess

    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert agent.poll() is None, f"ssh-agent exited ({agent.returncode}) before it listened"
            assert time.monotonic() < deadline, f"ssh-agent did not make {sock} within 30 s"
            await asyncio.sleep(0.02)
        env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
        subprocess.run(["ssh-add", "-q", hosts[0].key_file], env=env, check=True, capture_output=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        monkeypatch.setenv("HOME", str(tmp_path))  # no default keys: the agent's key is the only one
        ex = SshExecutor(options(hosts[0]))
        try:
            r = await ex.run(Host(name=hosts[0].name, address=hosts[0].address), ["id", "-un"])
            assert r.stdout == "root\n"
        finally:
            await ex.close()
    finally:
        agent.terminate()
        agent.wait(5)
