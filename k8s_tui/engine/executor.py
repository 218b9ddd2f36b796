"""The one interface every way of running a command on a host goes through.

An executor is chosen once at start-up (ssh, local, dry-run) and injected into the runner; no code
below it asks which one it has. Commands are argv lists: an executor that needs a shell line
quotes each word with ``shlex.quote`` itself, so no caller ever builds shell text from values.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from ..model.hosts import Host

Stream = Literal["stdout", "stderr"]
# called once per line as the remote command writes it; the line has no trailing newline and is raw
# (carriage returns and ANSI escapes kept; consumers clean them for display)
LineSink = Callable[[Stream, str], None]


class ExecError(Exception):
    """A host-level failure: the host could not be reached, the session died, a timeout hit."""

    def __init__(self, host: str, message: str, *, kind: str = "error"):
        super().__init__(f"{host}: {message}")
        self.host = host
        self.message = message
        # unreachable | refused | auth | hostkey-unknown | hostkey-changed | sudo-password | timeout | lost | error
        self.kind = kind


@dataclass
class CommandResult:
    argv: list[str]
    exit_status: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@dataclass
class HostKeyInfo:
    """What the user is shown before trusting a host key for the first time."""

    host: str
    address: str
    port: int
    key_type: str
    fingerprint: str  # SHA256:...


# asked when a host presents a key not in known_hosts: True to trust (and remember) it
HostKeyPrompt = Callable[[HostKeyInfo], Awaitable[bool]]
# asked once per host (or once for all) for a secret; the answer lives in memory only
SecretPrompt = Callable[[str], Awaitable[str | None]]


@dataclass
class WriteResult:
    changed: bool
    backup: str | None = None  # path on the host where the previous content was saved


def file_digest(source: str, sha256: str | None = None) -> tuple[str, int]:
    """(sha256, size) of a local file, read in chunks unless the digest is given: what an upload
    compares and checks (blocking: run it in a thread)."""
    from pathlib import Path

    from ..model.bundle import sha256_file  # the one chunked hash; imported here, off start-up

    return sha256 or sha256_file(Path(source)), os.stat(source).st_size


@dataclass
class ExecOptions:
    connect_timeout: float = 10.0
    command_timeout: float = 600.0
    keepalive_interval: float = 5.0
    keepalive_count_max: int = 3  # dead link noticed within interval * count (15 s) < 30 s
    max_concurrent_hosts: int = 64
    known_hosts: str | None = None  # path; None = the user's ~/.ssh/known_hosts
    accept_new_host_keys: bool = False  # headless --accept-new-host-keys
    extra: dict = field(default_factory=dict)


@runtime_checkable
class Executor(Protocol):
    """Runs argv on a host, streaming lines, and reads and writes files there."""

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
        """Run argv; with sudo, as root (a no-op for root). Raises ExecError on host-level failure,
        and on a non-zero exit only when check=True."""
        ...

    async def read_file(self, host: Host, path: str, *, sudo: bool = True) -> bytes | None:
        """The file's content, or None when it does not exist."""
        ...

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
        """Atomically replace path (temp file in the same directory, fsync, rename) unless it already
        holds exactly ``content`` with that mode; the old content is first copied to backup_dir."""
        ...

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
        """Copy the local file ``source`` to path like write_file (atomic, unchanged when equal), read
        and sent in chunks: an image tarball of gigabytes never sits in memory. No backup. ``sha256``:
        the source's digest when the caller has verified it already (a bundle's manifest), which
        saves reading the file once more per host."""
        ...

    async def close(self) -> None:
        """Close every connection (idempotent)."""
        ...
