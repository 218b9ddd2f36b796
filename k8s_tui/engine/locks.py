"""Locks that keep two runs from changing the same hosts at once.

Two locks, both taken before anything changes and released when the run ends (finished, failed,
interrupted by ^C or SIGTERM):

* **the plan's lock on this machine**: ``<state>/locks/<plan>.lock``, a JSON file created whole and
  at once (written to a temporary name, then hard-linked to the lock's name: ``link`` fails when
  the name exists, so exactly one run gets it);
* **each host's lock**: ``/var/lib/k8s-tui/locks/run.lock`` on the host, taken the same way by
  ``HOST_LOCK_SCRIPT`` (constant text; the lock's content comes as a positional argument) before
  the host's first step, so a run of another plan, or from another machine, that reaches a host
  another run holds stops there on that host (the step fails naming the holder; nothing runs on
  that host). It is taken by the runner as part of the host's first step, so a host that cannot
  be reached is reported as such, and an interrupted run still has its record.

A lock names its holder: run id, machine, process id with its start time (so a reused pid is not
mistaken for the holder), and since when. A second run is refused with that (``LockHeld``). A
lock whose holder was on this machine and whose process is gone (or is another process with the
same pid) is *stale*: it is reported as such and broken only when asked (``--break-lock``). A lock
held from another machine cannot be checked from here; ``--break-lock`` breaks it on the user's
word. A lock whose holder is alive on this machine is never broken.

A dry run takes no lock (``NoLocks``, from the executor factory): it changes nothing on any host and
writes only its own record, so it cannot collide with a real run, and refusing it while a real run
goes on would only take away the look at what a run would do.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import socket
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .dryrun import SH_SIMULATIONS
from .executor import ExecError, Executor
from .runner import RunnerError
from .state import state_dir

HOST_LOCK_DIR = "/var/lib/k8s-tui/locks"
HOST_LOCK = f"{HOST_LOCK_DIR}/run.lock"
RELEASE_TIMEOUT = 20.0  # seconds to give the hosts to drop their locks at the end of a run

# $1 = lock directory, $2 = lock file, $3 = this run's lock content (one line of JSON),
# $4 = the content of a lock to break first ('' for none: it is broken only if it still holds that)
# Prints "@taken", or "@held" followed by the holder's lock content.
HOST_LOCK_SCRIPT = r"""# k8s-tui host lock
set -u
d=$1 lock=$2 me=$3 brk=$4
umask 077
mkdir -p -- "$d" || exit 1
if [ -n "$brk" ] && [ "$(cat -- "$lock" 2>/dev/null)" = "$brk" ]; then rm -f -- "$lock"; fi
tmp="$d/.run.lock.$$"
printf '%s\n' "$me" > "$tmp" || exit 1
if ln -- "$tmp" "$lock" 2>/dev/null; then
  rm -f -- "$tmp"
  echo @taken
  exit 0
fi
rm -f -- "$tmp"
echo @held
cat -- "$lock" 2>/dev/null
exit 0
"""

# $1 = lock file, $2 = this run's lock content: removed only while it is still ours
HOST_UNLOCK_SCRIPT = r"""# k8s-tui host unlock
if [ "$(cat -- "$1" 2>/dev/null)" = "$2" ]; then rm -f -- "$1"; fi
exit 0
"""

BREAK_HINT = "pass --break-lock to break it"


def _simulate_lock(ex: Any, host: Any, sim: Any, args: list[str]) -> tuple[list[tuple[str, str]], int]:
    """HOST_LOCK_SCRIPT on the dry-run executor's simulated host (a test that drives real runs on it)."""
    _d, lock, me, brk = (args + ["", "", "", ""])[:4]
    cur = sim.files.get(lock)
    if brk and cur is not None and cur.decode(errors="replace").strip() == brk:
        del sim.files[lock]
        cur = None
    if cur is None:
        sim.files[lock] = (me + "\n").encode()
        return [("stdout", "@taken")], 0
    return [("stdout", "@held"), *(("stdout", ln) for ln in cur.decode(errors="replace").splitlines())], 0


def _simulate_unlock(ex: Any, host: Any, sim: Any, args: list[str]) -> tuple[list[tuple[str, str]], int]:
    lock, me = (args + ["", ""])[:2]
    if sim.files.get(lock, b"").decode(errors="replace").strip() == me:
        sim.files.pop(lock, None)
    return [], 0


SH_SIMULATIONS["k8s-tui-lock"] = _simulate_lock
SH_SIMULATIONS["k8s-tui-unlock"] = _simulate_unlock


class LockHeld(RunnerError):
    """Another run holds a lock this run needs (the message names it and says how to break it)."""


def this_machine() -> str:
    return socket.gethostname() or "localhost"


def pid_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22), or None."""
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


@dataclass(frozen=True)
class Holder:
    run_id: str
    machine: str
    pid: int
    pid_start: str | None
    since: float
    plan: str = ""

    @classmethod
    def me(cls, run_id: str, plan: str) -> Holder:
        pid = os.getpid()
        return cls(run_id=run_id, machine=this_machine(), pid=pid, pid_start=pid_start(pid),
                   since=round(time.time(), 3), plan=plan)

    def to_line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=True)

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        try:
            d = json.loads(text)
            return cls(run_id=str(d["run_id"]), machine=str(d["machine"]), pid=int(d["pid"]),
                       pid_start=None if d.get("pid_start") is None else str(d["pid_start"]),
                       since=float(d["since"]), plan=str(d.get("plan", "")))
        except (ValueError, TypeError, KeyError):
            return None

    def alive(self) -> bool | None:
        """True/False when the holder ran on this machine; None when it cannot be told from here."""
        if self.machine != this_machine():
            return None
        start = pid_start(self.pid)
        return start is not None and (self.pid_start is None or start == self.pid_start)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(self.since))
        return f"run {self.run_id} on {self.machine} (pid {self.pid}) since {when}"


def _verdict(holder: Holder | None, raw: str, where: str, break_lock: bool) -> tuple[bool, str]:
    """(break it?, why not) for a lock found at ``where`` held by ``holder`` (None: unreadable)."""
    if holder is None:
        if break_lock:
            return True, ""
        return False, (f"{where} is locked, but its lock does not say by whom ({raw.strip()[:80]!r}); "
                       f"if no run is going on there, {BREAK_HINT}")
    alive = holder.alive()
    if alive:
        return False, (f"{where} is locked by {holder.describe()}, which is still running; "
                       f"wait for it to end or stop it (`kill {holder.pid}`)")
    if alive is False:
        if break_lock:
            return True, ""
        return False, (f"{where} has a stale lock: {holder.describe()} is no longer running on this machine; "
                       f"{BREAK_HINT}")
    if break_lock:
        return True, ""
    return False, (f"{where} is locked by {holder.describe()}; k8s-tui cannot tell from here whether that run "
                   f"is still going; if it is not, {BREAK_HINT}")


def plan_key(plan_name: str) -> str:
    """A file name for a plan's lock: its name made safe, with a digest of the whole name."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", plan_name)[:48].strip("._-") or "plan"
    return f"{safe}-{hashlib.sha256(plan_name.encode()).hexdigest()[:8]}"


class LocalLock:
    """The plan's lock in the state dir."""

    def __init__(self, plan_name: str, holder: Holder, base: Path | None = None):
        self.dir = (base or state_dir()) / "locks"
        self.path = self.dir / f"{plan_key(plan_name)}.lock"
        self.plan_name = plan_name
        self.holder = holder
        self.taken = False

    def acquire(self, break_lock: bool = False) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".lock-", dir=self.dir)
        except OSError as e:
            raise RunnerError(f"cannot take the plan's lock in {self.dir}: {e.strerror or e}; nothing was run") from None
        try:
            os.write(fd, (self.holder.to_line() + "\n").encode())
            os.fsync(fd)
            os.close(fd)
            for _ in range(2):
                try:
                    os.link(tmp, self.path)
                    self.taken = True
                    return
                except FileExistsError:
                    raw = _read(self.path)
                    if raw is None:
                        continue  # released in between: try again
                    holder = Holder.parse(raw)
                    brk, why = _verdict(holder, raw, f"plan {self.plan_name!r} ({self.path})", break_lock)
                    if not brk:
                        raise LockHeld(why + "; nothing was run") from None
                    if _read(self.path) == raw:
                        os.unlink(self.path)
            raise LockHeld(f"plan {self.plan_name!r} is being locked by another run ({self.path}); nothing was run")
        except OSError as e:
            raise RunnerError(f"cannot take the plan's lock {self.path}: {e.strerror or e}; nothing was run") from None
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def release(self) -> None:
        if not self.taken:
            return
        self.taken = False
        try:
            if _read(self.path) == self.holder.to_line() + "\n":
                os.unlink(self.path)
        except OSError:
            pass


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


class HostLocks:
    """Each host's lock, taken and released over the run's executor."""

    def __init__(self, executor: Executor, holder: Holder, *, break_lock: bool = False):
        self.executor = executor
        self.line = holder.to_line()
        self.break_lock = break_lock
        self.taken: list[Any] = []

    async def take(self, host: Any) -> str | None:
        """Take ``host``'s lock: None when taken, else why not (the holder and how to break it).
        An ExecError (the host cannot be reached) goes to the caller: the runner reports that
        host as it would for its first step."""
        brk = ""
        for _ in range(2):
            res = await self.executor.run(host, ["sh", "-c", HOST_LOCK_SCRIPT, "k8s-tui-lock", HOST_LOCK_DIR,
                                                 HOST_LOCK, self.line, brk], timeout=60)
            lines = res.stdout.splitlines()
            if res.ok and lines[:1] == ["@taken"]:
                self.taken.append(host)
                return None
            if not res.ok or lines[:1] != ["@held"]:
                return (f"cannot take this host's lock {HOST_LOCK} (exit status {res.exit_status}: "
                        f"{res.stderr.strip()[:200]})")
            raw = "\n".join(lines[1:])
            brk_it, why = _verdict(Holder.parse(raw), raw, f"this host ({HOST_LOCK})", self.break_lock)
            if not brk_it:
                return why
            brk = raw.strip()
        return f"this host's lock {HOST_LOCK} was taken again while it was being broken"

    async def release(self) -> None:
        hosts, self.taken = self.taken, []

        async def drop(host: Any) -> None:
            try:
                await self.executor.run(host, ["sh", "-c", HOST_UNLOCK_SCRIPT, "k8s-tui-unlock", HOST_LOCK, self.line],
                                        timeout=RELEASE_TIMEOUT)
            except ExecError:
                pass

        if hosts:
            try:
                await asyncio.wait_for(asyncio.gather(*(drop(h) for h in hosts)), RELEASE_TIMEOUT + 5)
            except asyncio.TimeoutError:
                pass


class RunLocks:
    """What a run that changes hosts takes: the plan's lock here (``acquire``, before the run
    starts), and each host's lock (``for_hosts``: the runner takes it before a host's first step,
    so a host that cannot be reached, or whose lock another run holds, is reported as that host's
    failure, in the run's record, while it is being taken)."""

    def __init__(self, plan_name: str, run_id: str, *, base: Path | None = None, break_lock: bool = False):
        self.holder = Holder.me(run_id, plan_name)
        self.local = LocalLock(plan_name, self.holder, base)
        self.break_lock = break_lock
        self.hosts: HostLocks | None = None

    def for_hosts(self, executor: Executor) -> HostLocks:
        self.hosts = HostLocks(executor, self.holder, break_lock=self.break_lock)
        return self.hosts

    async def acquire(self) -> None:
        self.local.acquire(self.break_lock)

    async def release(self) -> None:
        try:
            if self.hosts is not None:
                await self.hosts.release()
        finally:
            self.local.release()


class NoLocks:
    """A run that touches no host (a dry run, the demo) locks nothing."""

    def for_hosts(self, executor: Executor) -> None:
        return None  # the runner then takes none (and adds no step of its own)

    async def acquire(self) -> None:
        return None

    async def release(self) -> None:
        return None


__all__ = ["HOST_LOCK", "Holder", "HostLocks", "LocalLock", "LockHeld", "NoLocks", "RunLocks", "plan_key"]
