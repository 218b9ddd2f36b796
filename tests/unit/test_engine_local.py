"""LocalExecutor: live lines, timeouts and cancels that end the process group, atomic files."""

from __future__ import annotations

import asyncio

import pytest

from k8s_tui.engine.executor import ExecError, Executor
from k8s_tui.engine.local import LocalExecutor
from k8s_tui.model.hosts import Host

HOST = Host(name="local", address="127.0.0.1")


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for init to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def until_dead(pid: int) -> None:
    """Poll until the process is gone; the caller bounds the wait (no time is asserted)."""
    while alive(pid):
        await asyncio.sleep(0.01)


def test_it_is_an_executor():
    assert isinstance(LocalExecutor(), Executor)


async def test_lines_stream_as_they_are_written(tmp_path):
    """A handshake, not a stopwatch: the child prints a line, then waits until the test has seen
    that line (the test creates a file when it arrives). Without streaming the child would give
    up waiting and say so."""
    ex = LocalExecutor()
    flag = tmp_path / "seen-first-line"
    seen = []

    def on_line(stream, line):
        seen.append((stream, line))
        if line == "0":
            flag.touch()

    script = (
        "import os, sys, time\n"
        "print(0)\n"
        "deadline = time.time() + 20\n"
        "while not os.path.exists(sys.argv[1]) and time.time() < deadline:\n"
        "    time.sleep(0.01)\n"
        "print('streamed' if os.path.exists(sys.argv[1]) else 'not streamed')\n"
        "print('oops', file=sys.stderr)\n"
    )
    res = await ex.run(HOST, ["python3", "-c", script, str(flag)], on_line=on_line)
    assert seen == [("stdout", "0"), ("stdout", "streamed"), ("stderr", "oops")]
    assert res.ok and res.stdout == "0\nstreamed\n" and res.stderr == "oops\n"


async def test_the_child_runs_unbuffered():
    ex = LocalExecutor()
    res = await ex.run(HOST, ["sh", "-c", "echo $PYTHONUNBUFFERED"])
    assert res.stdout == "1\n"


async def test_partial_last_line_raw_crs_and_long_lines():
    ex = LocalExecutor()
    seen = []
    await ex.run(HOST, ["sh", "-c", "printf '10%%\\r50%%\\r100%%\\nno newline'"], on_line=lambda s, ln: seen.append(ln))
    assert seen == ["10%\r50%\r100%", "no newline"]
    long = await ex.run(HOST, ["python3", "-c", "print('x' * 300000)"])
    assert len(long.stdout) == 300001


async def test_stdin_and_exit_status():
    ex = LocalExecutor()
    res = await ex.run(HOST, ["sh", "-c", "cat; exit 3"], stdin=b"data\n")
    assert res.exit_status == 3 and res.stdout == "data\n"
    with pytest.raises(ExecError):
        await ex.run(HOST, ["false"], check=True)
    missing = await ex.run(HOST, ["/nonexistent/tool"])
    assert missing.exit_status == 127


async def test_timeout_kills_the_process_group():
    ex = LocalExecutor(kill_grace=0.5)
    pids = []
    with pytest.raises(ExecError) as e:
        # the guard is far shorter than the sleep: only the executor's timeout can end this in time
        # (2 s leaves a loaded machine ample room to start sh and print the pid first)
        await asyncio.wait_for(
            ex.run(HOST, ["sh", "-c", "sleep 300 & echo $!; wait"], timeout=2, on_line=lambda s, ln: pids.append(int(ln))), 20)
    assert e.value.kind == "timeout"
    await asyncio.wait_for(until_dead(pids[0]), 20)  # the grandchild is gone too


async def test_cancel_kills_the_process_group():
    ex = LocalExecutor(kill_grace=0.5)
    pids = []
    started = asyncio.Event()

    def on_line(stream, line):
        pids.append(int(line))
        started.set()

    task = asyncio.create_task(ex.run(HOST, ["sh", "-c", "sleep 300 & echo $!; wait"], on_line=on_line))
    await asyncio.wait_for(started.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 20)
    await asyncio.wait_for(until_dead(pids[0]), 20)


async def test_write_file_is_atomic_with_backup(tmp_path):
    ex = LocalExecutor()
    target = tmp_path / "etc" / "k.conf"
    target.parent.mkdir()
    bdir = tmp_path / "backup" / "r1"
    w = await ex.write_file(HOST, str(target), b"a\n", mode=0o640, backup_dir=str(bdir))
    assert w.changed and w.backup == str(bdir / "k.conf.absent")
    assert target.read_bytes() == b"a\n" and (target.stat().st_mode & 0o777) == 0o640
    assert not (await ex.write_file(HOST, str(target), b"a\n", mode=0o640)).changed
    w = await ex.write_file(HOST, str(target), b"b\n", mode=0o640, backup_dir=str(bdir))
    assert w.changed and (bdir / "k.conf").read_bytes() == b"a\n"
    assert not (bdir / "k.conf.absent").exists()
    assert await ex.read_file(HOST, str(target)) == b"b\n"
    assert await ex.read_file(HOST, str(tmp_path / "none")) is None
    assert [p.name for p in target.parent.iterdir()] == ["k.conf"]  # no temp file left


async def test_upload_file_copies_atomically_and_knows_unchanged(tmp_path):
    ex = LocalExecutor()
    src = tmp_path / "images.tar"
    src.write_bytes(bytes(range(256)) * 5000)
    target = tmp_path / "bundle" / "images.tar"
    target.parent.mkdir()
    assert (await ex.upload_file(HOST, str(target), str(src), mode=0o640)).changed
    assert target.read_bytes() == src.read_bytes() and (target.stat().st_mode & 0o777) == 0o640
    ino = target.stat().st_ino
    assert not (await ex.upload_file(HOST, str(target), str(src), mode=0o640)).changed
    assert target.stat().st_ino == ino
    assert (await ex.upload_file(HOST, str(target), str(src), mode=0o644)).changed  # only the mode differs
    assert [p.name for p in target.parent.iterdir()] == ["images.tar"]
    with pytest.raises(ExecError, match="cannot copy .*missing"):
        await ex.upload_file(HOST, str(target), str(tmp_path / "missing"))
    assert target.read_bytes() == src.read_bytes()
