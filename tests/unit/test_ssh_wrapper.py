"""The SSH executor's quoting and its START wrapper, run with a local /bin/sh (no root, no SSH).

sshd runs the command line it is sent as ``$SHELL -c LINE``; here ``sh -c LINE`` stands in for it,
with exactly the text the executor builds (``command_line`` of ``start_argv`` / ``sudo_argv``, or
``inline_start``). The child reports its argv as hex bytes, so what arrives is compared exactly.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys

import pytest

from k8s_tui.engine import remote_files as rf
from k8s_tui.engine.ssh import SshExecutor, command_line, parse_start_line, sudo_argv

NASTY = [
    "plain",
    "two words",
    "",
    " ",
    "it's",
    '"double"',
    "$(touch pwned)",
    "`touch pwned`",
    "a; touch pwned",
    "&& touch pwned #",
    "| cat",
    "line\nbreak",
    "trailing newline\n",
    "tab\there",
    "-n",
    "--",
    "-rf",
    "*",
    "~",
    "$HOME",
    "${PATH}",
    "\\",
    "back\\slash",
    "'",
    "''",
    "héllo wörld",
    "日本語",
    "emoji \U0001f600",
    "!event",
    "{a,b}",
    "a=b",
]

# the child: its argv (after the program) as hex of the raw bytes, as JSON on stdout
ARGV_DUMP = [sys.executable, "-c", "import json, os, sys; print(json.dumps([os.fsencode(a).hex() for a in sys.argv[1:]]))"]

MARKER = "k8s-tui-started-0123456789abcdef"


def hexed(words: list[str]) -> list[str]:
    return [w.encode().hex() for w in words]


async def sh(line: str, cwd, *, stdin: bytes | None = None, env: dict | None = None) -> tuple[int, bytes, bytes, int]:
    """``sh -c LINE`` as sshd would run it, in a session of its own (sshd makes every command a
    process group), in cwd (a scratch directory: a word run as code would leave a file there).
    Returns (exit status, stdout, stderr, the child's pid = its process group)."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONUNBUFFERED", "_STDBUF", "LD_PRELOAD"))}
        env["SHELL"] = "/bin/sh"
    proc = await asyncio.create_subprocess_exec(
        "sh", "-c", line,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True, env=env, cwd=cwd,
    )
    # a deadline only a broken run reaches: these commands end on their own in milliseconds
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    return proc.returncode, out, err, proc.pid


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def until(cond, what: str, timeout: float = 60) -> None:
    """Poll cond; the deadline only fails a broken run, and says what it waited for."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)


def split_report(err: bytes) -> tuple[tuple[int | None, str], list[str]]:
    """The START line (parsed as the executor parses it) and the rest of stderr."""
    lines = err.decode().splitlines()
    assert lines, "START printed nothing on stderr"
    report = parse_start_line(lines[0], MARKER)
    assert report is not None, f"the first stderr line is not START's report: {lines[0]!r}"
    return report, lines[1:]


# ----------------------------------------------------------------------------------- quoting


@pytest.mark.parametrize("word", NASTY)
def test_every_word_is_quoted_into_exactly_one_shell_word(word):
    line = command_line(["printf", "%s", word])
    assert shlex.split(line) == ["printf", "%s", word]


def test_command_line_quotes_each_word_and_joins_with_spaces():
    argv = ["echo", *NASTY]
    assert command_line(argv) == " ".join(shlex.quote(a) for a in argv)
    assert command_line(["ls", "-l"]) == "ls -l"  # plain words stay readable
    assert command_line([""]) == "''"


async def test_nasty_words_reach_a_plain_command_intact(tmp_path):
    code, out, err, _ = await sh(command_line([*ARGV_DUMP, *NASTY]), tmp_path)
    assert (code, err) == (0, b"")
    assert json.loads(out) == hexed(NASTY)
    assert os.listdir(tmp_path) == []  # nothing ran: no "pwned" file


# ----------------------------------------------------------------------------- START wrapper


@pytest.mark.parametrize("mode", [rf.MODE_PLAIN, rf.MODE_STREAM])
@pytest.mark.parametrize("how", ["sh -c START", "inline"])
async def test_start_passes_argv_intact_and_reports_its_process_group(tmp_path, mode, how):
    argv = [*ARGV_DUMP, *NASTY]
    line = command_line(rf.start_argv(MARKER, mode, argv)) if how != "inline" else rf.inline_start(MARKER, mode, argv)
    code, out, err, pid = await sh(line, tmp_path)
    assert code == 0, err
    assert json.loads(out) == hexed(NASTY)
    (pgid, login_shell), rest = split_report(err)
    assert pgid == pid  # the session the command runs in: what a cancel kills
    assert login_shell == "/bin/sh" and rf.is_posix_shell(login_shell)
    assert rest == []
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("how", ["sh -c START", "inline"])
async def test_start_passes_the_exit_status_and_stdin_through(tmp_path, how):
    def build(argv):
        return command_line(rf.start_argv(MARKER, rf.MODE_STREAM, argv)) if how != "inline" else \
            rf.inline_start(MARKER, rf.MODE_STREAM, argv)

    for status in (0, 1, 7, 127, 255):
        code, _, err, _ = await sh(build(["sh", "-c", "echo oops >&2; exit \"$1\"", "sh", str(status)]), tmp_path)
        assert code == status
        _, rest = split_report(err)
        assert rest == ["oops"]
    code, out, _, _ = await sh(build(["cat"]), tmp_path, stdin=b"from stdin\n\x00binary\xff")
    assert (code, out) == (0, b"from stdin\n\x00binary\xff")
    code, _, err, _ = await sh(build(["no-such-command-k8s-tui"]), tmp_path)
    assert code == 127 and b"no-such-command-k8s-tui" in err


async def test_stream_mode_sets_what_line_buffering_needs(tmp_path):
    show = ["sh", "-c", 'echo "$PYTHONUNBUFFERED ${_STDBUF_O:-}"']
    code, out, err, _ = await sh(command_line(rf.start_argv(MARKER, rf.MODE_STREAM, show)), tmp_path)
    lib = any(os.path.isfile(p) for p in rf.STDBUF_LIBS)
    assert code == 0 and out == (b"1 L\n" if lib else b"1 \n"), err
    # the plain mode leaves the environment as it is
    code, out, err, _ = await sh(command_line(rf.start_argv(MARKER, rf.MODE_PLAIN, show)), tmp_path)
    assert code == 0 and out == b" \n", err


async def test_start_report_without_a_login_shell_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SHELL"}
    code, _, err, pid = await sh(command_line(rf.start_argv(MARKER, rf.MODE_PLAIN, ["true"])), tmp_path, env=env)
    assert code == 0
    (pgid, login_shell), _ = split_report(err)
    assert (pgid, login_shell) == (pid, "")
    assert not rf.is_posix_shell(login_shell)  # unknown: the executor keeps sending sh -c START


def test_parse_start_line():
    assert parse_start_line(f"{MARKER} 4242 /bin/bash", MARKER) == (4242, "/bin/bash")
    assert parse_start_line(f"{MARKER} 4242 ", MARKER) == (4242, "")  # SHELL unset
    assert parse_start_line(f"{MARKER} 4242", MARKER) == (4242, "")
    assert parse_start_line(f"{MARKER} x /bin/sh", MARKER) == (None, "/bin/sh")  # started, no group
    # not START's line: sudo's lecture, the command's own stderr, another command's marker
    assert parse_start_line("We trust you have received the usual lecture", MARKER) is None
    assert parse_start_line(MARKER, MARKER) is None
    assert parse_start_line(f"{MARKER}0 4242 /bin/sh", MARKER) is None
    assert parse_start_line("k8s-tui-started-ffffffffffffffff 4242 /bin/sh", MARKER) is None
    assert parse_start_line(f"x {MARKER} 4242 /bin/sh", MARKER) is None
    assert parse_start_line(f"{MARKER} 4242 /bin/sh", "") is None


def test_messages_show_the_callers_argv_not_the_wrapper():
    argv = ["echo", "a b", "$(x)"]
    assert SshExecutor._shown(rf.start_argv(MARKER, rf.MODE_STREAM, argv)) == argv
    assert SshExecutor._shown(sudo_argv(rf.start_argv(MARKER, rf.MODE_PLAIN, argv), password=True)) == argv
    assert SshExecutor._shown(rf.read_file_argv("/etc/x y", MARKER)) == ["read", "/etc/x y"]
    assert SshExecutor._shown(rf.write_file_argv("/etc/x", 0o644, "root", "root", None, b"z", MARKER)) == ["write", "/etc/x"]
    assert SshExecutor._shown(argv) == argv


# -------------------------------------------------------------------------------- sudo path


def test_sudo_command_lines():
    inner = rf.start_argv(MARKER, rf.MODE_STREAM, ["echo", "a b"])
    assert sudo_argv(inner, password=False) == ["sudo", "-n", "--", *inner]
    assert sudo_argv(inner, password=True) == ["sudo", "-S", "-p", "", "--", *inner]
    for pw in (False, True):
        line = command_line(sudo_argv(inner, password=pw))
        assert shlex.split(line) == sudo_argv(inner, password=pw)
        # sudo's options end before the wrapped command: no word of it is read as a sudo option
        words = shlex.split(line)
        assert words[words.index("--") + 1 :] == inner
    assert command_line(sudo_argv(["true"], password=True)) == "sudo -S -p '' -- true"


def _sudo_runs_here() -> bool:
    if shutil.which("sudo") is None:
        return False
    r = subprocess.run(["sudo", "-n", "--", "true"], capture_output=True, timeout=60)
    return r.returncode == 0


async def test_sudo_n_line_runs_start_with_argv_intact(tmp_path):
    if not _sudo_runs_here():
        pytest.skip("sudo -n does not run commands here (no sudo, or it needs a password)")
    argv = [*ARGV_DUMP, *NASTY]
    line = command_line(sudo_argv(rf.start_argv(MARKER, rf.MODE_STREAM, argv), password=False))
    code, out, err, pid = await sh(line, tmp_path)
    assert code == 0, err
    assert json.loads(out) == hexed(NASTY)
    (pgid, _), _ = split_report(err)
    # sudo may start the command in a process group of its own; either way a real one
    assert pgid is not None and pgid > 1
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- file programs


NAMES = ["plain.conf", "with space.conf", "$(touch pwned)", "`id`;x", "new\nline", "-rf", "q'uo\"te", "héllo"]


def _me() -> tuple[str, str]:
    import grp
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name


@pytest.mark.parametrize("name", NAMES)
async def test_write_then_read_a_file_with_a_nasty_name(tmp_path, name):
    owner, group = _me()
    target = tmp_path / "d i r" / name
    target.parent.mkdir()
    bdir = tmp_path / "backup $(id)"
    content = bytes(range(256)) * 3
    wargs = rf.write_file_args(str(target), 0o640, owner, group, str(bdir), content)
    line = command_line(rf.start_argv(MARKER, rf.MODE_WRITE, wargs))
    code, out, err, _ = await sh(line, tmp_path, stdin=content)
    assert code == 0, err
    assert out == f"changed {bdir}/{name}.absent\n".encode()
    assert target.read_bytes() == content
    assert oct(target.stat().st_mode & 0o7777) == oct(0o640)
    assert sorted(os.listdir(target.parent)) == [name]  # no temp file left
    # the same again: unchanged
    code, out, _, _ = await sh(line, tmp_path, stdin=content)
    assert (code, out) == (0, b"unchanged\n")
    # and read back through the read program
    code, out, err, _ = await sh(command_line(rf.read_file_argv(str(target), MARKER)), tmp_path)
    assert code == 0 and out == content, err
    code, _, _, _ = await sh(command_line(rf.read_file_argv(str(target) + ".absent-too", MARKER)), tmp_path)
    assert code == rf.ABSENT_EXIT
    assert sorted(os.listdir(tmp_path)) == sorted(["d i r", "backup $(id)"])  # nothing else was made


async def test_write_cut_short_leaves_the_target_whole_and_no_temp_file(tmp_path):
    """What a cancelled or broken transfer looks like to the write program: fewer bytes than the
    length sent beside them. It must not rename them over the target."""
    owner, group = _me()
    target = tmp_path / "big.bin"
    target.write_bytes(b"old content\n")
    content = os.urandom(300_000)
    wargs = rf.write_file_args(str(target), 0o644, owner, group, None, content)
    line = command_line(rf.start_argv(MARKER, rf.MODE_WRITE, wargs))
    code, out, err, _ = await sh(line, tmp_path, stdin=content[: len(content) // 2])
    assert code == rf.CORRUPT_EXIT, (out, err)
    assert b"cut short" in err
    assert target.read_bytes() == b"old content\n"
    assert os.listdir(tmp_path) == ["big.bin"]
    # more bytes than announced: the digest does not match either (a byte count equal to the
    # length is taken as whole: the SSH channel's own MAC guards the bytes themselves)
    code, _, err, _ = await sh(line, tmp_path, stdin=content + b"x")
    assert code == rf.CORRUPT_EXIT, err
    assert target.read_bytes() == b"old content\n" and os.listdir(tmp_path) == ["big.bin"]
    # the right bytes: replaced
    code, out, err, _ = await sh(line, tmp_path, stdin=content)
    assert (code, out) == (0, b"changed \n"), err
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(content).digest()


# ---------------------------------------------------------------------------------- kill


async def test_kill_script_ends_the_whole_process_group(tmp_path):
    """What a timeout or a cancel sends: the group START reported goes, children included."""
    line = command_line(rf.start_argv(MARKER, rf.MODE_PLAIN, ["sh", "-c", "sleep 300 & echo child $!; sleep 300"]))
    proc = await asyncio.create_subprocess_exec(
        "sh", "-c", line, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        cwd=tmp_path,
    )
    try:
        report = parse_start_line((await asyncio.wait_for(proc.stderr.readline(), 60)).decode().rstrip("\n"), MARKER)
        assert report is not None and report[0] == proc.pid
        child = int((await asyncio.wait_for(proc.stdout.readline(), 60)).split()[1])
        assert os.getpgid(child) == proc.pid
        k = await asyncio.create_subprocess_exec("sh", "-c", command_line(rf.kill_argv(report[0])))
        assert await asyncio.wait_for(k.wait(), 60) == 0
        assert await asyncio.wait_for(proc.wait(), 60) in (-signal.SIGTERM, 128 + signal.SIGTERM)
        # the background child was in the group: it got the TERM too (gone, or a zombie at most)
        await until(lambda: not running(child), f"the background child {child} to end")
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
