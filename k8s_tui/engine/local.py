"""LocalExecutor: run commands on this machine (ansible-playbook, ezctl, kops) with live output.

The child gets ``PYTHONUNBUFFERED=1`` and, when ``stdbuf`` exists, runs under ``stdbuf -oL -eL``
so that its output arrives line by line instead of in 4 KiB blocks. It runs in a session of its
own: a timeout or a cancel ends the whole process group (TERM, then KILL after a grace period).

``host`` is only a label here (whose log the lines go to); every command runs locally. ``sudo``
is honoured only when the executor was built with ``allow_sudo=True`` (then ``sudo -n``, never a
password prompt); otherwise commands run as the current user, which is what local tools want.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import grp
import shlex
import shutil
import signal
import tempfile
from pathlib import Path

from ..model.hosts import Host
from .executor import CommandResult, ExecError, ExecOptions, LineSink, WriteResult, file_digest

_CHUNK = 65536


class LocalExecutor:
    def __init__(self, options: ExecOptions | None = None, *, allow_sudo: bool = False, kill_grace: float = 2.0,
                 env: dict[str, str] | None = None, cwd: str | None = None):
        self.options = options or ExecOptions()
        self.allow_sudo = allow_sudo
        self.kill_grace = kill_grace
        self.env = dict(env or {})
        self.cwd = cwd
        self._stdbuf = shutil.which("stdbuf")
        self._procs: set[asyncio.subprocess.Process] = set()

    def _argv(self, argv: list[str], sudo: bool) -> list[str]:
        out = list(argv)
        if self._stdbuf:
            out = [self._stdbuf, "-oL", "-eL", *out]
        if sudo and self.allow_sudo and os.geteuid() != 0:
            out = ["sudo", "-n", "--", *out]
        return out

    async def run(
        self,
        host: Host,
        argv: list[str],
        *,
        sudo: bool = True,
        timeout: float | None = None,
        on_line: LineSink | None = None,
        stdin: bytes | None = None,
        check: bool = False,
    ) -> CommandResult:
        if not argv or not all(isinstance(a, str) for a in argv):
            raise ValueError("argv must be a non-empty list of strings")
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        limit = timeout if timeout is not None else self.options.command_timeout
        try:
            proc = await asyncio.create_subprocess_exec(
                *self._argv(argv, sudo),
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
            )
        except FileNotFoundError:
            return _finish(host, argv, 127, [], [f"{argv[0]}: command not found"], on_line, check)
        except PermissionError as e:
            return _finish(host, argv, 126, [], [f"{argv[0]}: {e.strerror}"], on_line, check)
        self._procs.add(proc)
        out: list[str] = []
        err: list[str] = []

        async def pump(reader: asyncio.StreamReader, stream: str, sink: list[str]) -> None:
            rest = b""
            while True:
                chunk = await reader.read(_CHUNK)
                if not chunk:
                    break
                rest += chunk
                if b"\n" not in chunk:
                    continue
                *lines, rest = rest.split(b"\n")
                for raw in lines:
                    line = raw.decode("utf-8", errors="replace")
                    sink.append(line)
                    if on_line is not None:
                        on_line(stream, line)
            if rest:
                line = rest.decode("utf-8", errors="replace")
                sink.append(line)
                if on_line is not None:
                    on_line(stream, line)

        async def feed() -> None:
            if stdin is None or proc.stdin is None:
                return
            try:
                proc.stdin.write(stdin)
                await proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                proc.stdin.close()

        async def body() -> int:
            await asyncio.gather(feed(), pump(proc.stdout, "stdout", out), pump(proc.stderr, "stderr", err))
            return await proc.wait()

        try:
            status = await asyncio.wait_for(body(), limit) if limit else await body()
        except asyncio.TimeoutError:
            await self._kill(proc)
            raise ExecError(host.name, f"{shlex.join(argv)} did not finish within {limit:g} s and was stopped", kind="timeout") from None
        except asyncio.CancelledError:
            await asyncio.shield(self._kill(proc))
            raise
        finally:
            self._procs.discard(proc)
        return _finish(host, argv, status, out, err, None, check)

    async def _kill(self, proc: asyncio.subprocess.Process) -> None:
        """TERM the process group, KILL it after the grace period."""
        if proc.returncode is not None:
            return
        for sig, wait in ((signal.SIGTERM, self.kill_grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
            try:
                await asyncio.wait_for(proc.wait(), wait)
                return
            except asyncio.TimeoutError:
                continue

    async def read_file(self, host: Host, path: str, *, sudo: bool = True) -> bytes | None:
        try:
            return await asyncio.to_thread(Path(path).read_bytes)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise ExecError(host.name, f"cannot read {path}: {e.strerror}") from None

    async def write_file(
        self,
        host: Host,
        path: str,
        content: bytes,
        *,
        mode: int = 0o644,
        owner: str = "root",
        group: str = "root",
        backup_dir: str | None = None,
    ) -> WriteResult:
        if not os.path.isabs(path):
            raise ValueError(f"path must be absolute: {path!r}")
        try:
            return await asyncio.to_thread(_write_atomic, path, bytes(content), mode, owner, group, backup_dir)
        except OSError as e:
            raise ExecError(host.name, f"cannot write {path}: {e.strerror or e}") from None

    async def upload_file(
        self,
        host: Host,
        path: str,
        source: str,
        *,
        mode: int = 0o644,
        owner: str = "root",
        group: str = "root",
        sha256: str | None = None,
    ) -> WriteResult:
        if not os.path.isabs(path):
            raise ValueError(f"path must be absolute: {path!r}")
        try:
            return await asyncio.to_thread(_upload_atomic, path, str(source), mode, owner, group, sha256)
        except OSError as e:
            raise ExecError(host.name, f"cannot copy {source} to {path}: {e.strerror or e}") from None

    async def close(self) -> None:
        for p in list(self._procs):
            await self._kill(p)


def _finish(host: Host, argv: list[str], status: int, out: list[str], err: list[str], on_line: LineSink | None, check: bool) -> CommandResult:
    if on_line is not None:
        for ln in err:
            on_line("stderr", ln)
    res = CommandResult(list(argv), status, "".join(ln + "\n" for ln in out), "".join(ln + "\n" for ln in err))
    if check and not res.ok:
        tail = " | ".join(err[-3:])
        raise ExecError(host.name, f"{shlex.join(argv)} exited with status {status}" + (f": {tail}" if tail else ""))
    return res


def _ids(owner: str, group: str) -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None  # only root can give files away; a user's files stay theirs
    try:
        return pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid
    except KeyError:
        return None


def _fsync_dir(d: str) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomic(path: str, content: bytes, mode: int, owner: str, group: str, backup_dir: str | None) -> WriteResult:
    p = Path(path)
    try:
        st = p.stat()
        old = p.read_bytes() if p.is_file() else None
    except FileNotFoundError:
        st, old = None, None
    if old == content and st is not None and (st.st_mode & 0o7777) == mode:
        return WriteResult(changed=False)
    backup = None
    if backup_dir:
        os.makedirs(backup_dir, mode=0o700, exist_ok=True)
        if old is not None:
            backup = os.path.join(backup_dir, p.name)
            _copy_exact(path, backup)
            Path(backup + ".absent").unlink(missing_ok=True)
        else:
            backup = os.path.join(backup_dir, p.name + ".absent")
            Path(backup).write_bytes(b"")
            Path(os.path.join(backup_dir, p.name)).unlink(missing_ok=True)
        _fsync_dir(backup_dir)
    _replace(p, lambda f: f.write(content), mode, owner, group)
    return WriteResult(changed=True, backup=backup)


def _upload_atomic(path: str, source: str, mode: int, owner: str, group: str, sha256: str | None) -> WriteResult:
    p = Path(path)
    want = file_digest(source, sha256)
    try:
        st = p.stat()
        same = p.is_file() and (st.st_mode & 0o7777) == mode and file_digest(path) == want
    except FileNotFoundError:
        same = False
    if same:
        return WriteResult(changed=False)
    with open(source, "rb") as src:
        _replace(p, lambda f: shutil.copyfileobj(src, f, 1 << 20), mode, owner, group)
    return WriteResult(changed=True)


def _replace(p: Path, fill, mode: int, owner: str, group: str) -> None:
    """A temp file beside p, filled, fsynced, given mode and owner, renamed over p."""
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.k8s-tui.", dir=str(p.parent))
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        ids = _ids(owner, group)
        if ids is not None:
            os.chown(tmp, *ids)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(str(p.parent))


def _copy_exact(src: str, dst: str) -> None:
    shutil.copy2(src, dst)
    with open(dst, "rb+") as f:
        os.fsync(f.fileno())
