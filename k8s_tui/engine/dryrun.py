"""DryRunExecutor: an executor that changes nothing, records everything, and answers plausibly.

Every argv and every file write is recorded per host (``calls``, ``commands(host)``,
``writes(host)``) for golden tests and for ``apply --dry-run`` to print. Answers come from:

1. recorded transcripts (``engine/transcripts/*.yaml``): a regex on the shell-quoted command ->
   stdout/stderr lines, exit status and a delay per line (scaled by ``speed``; 0 = instant);
2. a small simulation of the commands the host-preparation steps use, with state per host:
   ``sysctl`` (-n, -e, -p FILE, -w K=V; live values start at the knowledge base's kernel defaults
   and remember what was written, so a second run is "unchanged"), ``uname``, ``hostname``,
   ``test -e/-f/-d``, ``cat``, ``mkdir``, ``rm``, ``true``; files written through ``write_file``
   are kept in a per-host virtual file system (``upload_file`` keeps only the source's name);
3. anything else: exit 0, no output.

Outcomes come only from what the caller states: a ``FaultPlan`` (``engine/faults.py``) may name
hosts that fail, are slow or never answer (the demo and the tests use one). A host's name means
nothing here: a dry run never invents an outcome for a user's host.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..knowledge import KernelVersion, format_value, load_catalogue
from ..knowledge.schema import ValueType
from ..model.hosts import Host
from ..yamlio import load_yaml
from .executor import CommandResult, ExecError, LineSink, WriteResult
from .faults import FaultPlan
from .steps import CURRENT

TRANSCRIPTS_DIR = Path(str(resources.files(__package__) / "transcripts"))

# every simulated delay goes through here (tests swap it to see the delays without waiting them)
_sleep = asyncio.sleep

# plausible live values for keys whose kernel default is computed at boot (the catalogue says so
# in words), as seen on a 4 GiB VM with a 6.1 kernel
_BOOT_COMPUTED = {
    "fs.file-max": "9223372036854775807",
    "fs.inotify.max_user_watches": "29284",
    "fs.nr_open": "1048576",
    "net.ipv4.tcp_mem": "45981\t61310\t91962",
    "net.ipv4.udp_mem": "91962\t122617\t183924",
    "kernel.threads-max": "31038",
    "net.netfilter.nf_conntrack_buckets": "65536",
}
_NUMERIC_RE = re.compile(r"^[\d\s,-]+$")

# ``sh -c SCRIPT NAME ARGS...`` programs simulated by the module that owns the script (it registers
# NAME here): handler(executor, host, sim, ARGS) -> (lines, exit status)
SH_SIMULATIONS: dict[str, Callable[..., tuple[list[tuple[str, str]], int]]] = {}


def _sim_modules_probe(ex: Any, host: Host, sim: SimHost, modules: list[str]) -> tuple[list[tuple[str, str]], int]:
    """The kernel-module probe answers for exactly the modules it was asked about: those come
    from the plan (ip_vs only for kube-proxy in ipvs mode), so the log never shows a module the
    plan does not use. A simulated host has every module it is asked for."""
    return [("stdout", f"{m} loaded") for m in modules], 0


SH_SIMULATIONS["k8s-tui-modules"] = _sim_modules_probe


def default_live_value(key: str) -> str:
    """What `sysctl -n key` prints on a fresh host in the dry run (tabs between numbers, as the kernel)."""
    if key in _BOOT_COMPUTED:
        return _BOOT_COMPUTED[key]
    cat = load_catalogue()
    if key in cat:
        e = cat.get(key)
        d = e.default
        if e.type is ValueType.ports:
            return str(d).strip()
        if isinstance(d, list):
            return "\t".join(str(v) for v in d)
        if isinstance(d, int):
            return str(d)
        d = str(d).strip()
        if _NUMERIC_RE.match(d):
            return "\t".join(d.split()) if " " in d else d
    return "0"


@dataclass
class Transcript:
    """One recorded answer. ``match`` is a regex that must match the whole shell-quoted command.
    In its lines, {host}, {address} and {kernel} are the host's; a line ``{sysctls}`` is the host's
    live value of each sysctl key the command names after its script (the facts script's keys)."""

    match: str
    lines: list[tuple[str, str]] = field(default_factory=list)  # (stream, text)
    exit: int = 0
    delay: float = 0.0  # seconds per line at speed 1
    name: str = ""

    def __post_init__(self) -> None:
        self._re = re.compile(self.match)

    def matches(self, command: str) -> bool:
        return self._re.fullmatch(command) is not None

    @classmethod
    def from_doc(cls, d: dict[str, Any], source: str = "") -> Transcript:
        if not isinstance(d, dict) or "match" not in d:
            raise ValueError(f"{source}: a transcript needs 'match' (a regex on the command line)")
        lines: list[tuple[str, str]] = []
        if "output" in d:  # interleaved: a string is stdout, {stderr: text} is stderr
            for item in d["output"] or []:
                if isinstance(item, dict):
                    ((stream, text),) = item.items()
                    lines.append((str(stream), str(text)))
                else:
                    lines.append(("stdout", str(item)))
        for stream in ("stdout", "stderr"):
            v = d.get(stream)
            if v:
                texts = v.splitlines() if isinstance(v, str) else [str(x) for x in v]
                lines.extend((stream, t) for t in texts)
        return cls(match=str(d["match"]), lines=lines, exit=int(d.get("exit", 0)),
                   delay=float(d.get("delay", 0.0)), name=str(d.get("name", source)))


def load_transcripts(directory: Path = TRANSCRIPTS_DIR) -> list[Transcript]:
    out: list[Transcript] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        doc = load_yaml(path) or []
        if not isinstance(doc, list):
            raise ValueError(f"{path}: expected a list of transcripts")
        for i, d in enumerate(doc):
            out.append(Transcript.from_doc(d, f"{path.name}[{i}]"))
    return out


@dataclass
class Call:
    """One thing the dry run was asked to do on a host."""

    host: str
    kind: str  # run | read | write
    argv: list[str] | None = None
    path: str | None = None
    content: bytes | None = None
    mode: int | None = None
    backup_dir: str | None = None
    sudo: bool = True
    step_id: str | None = None
    phase: str | None = None
    exit_status: int | None = None
    changed: bool | None = None  # writes: whether the content differed
    source: str | None = None  # uploads: the local file copied (its content is never held here)
    size: int | None = None  # uploads: its size

    @property
    def command(self) -> str:
        return shlex.join(self.argv) if self.argv else ""

    def describe(self) -> str:
        if self.kind == "run":
            return "$ " + self.command
        if self.kind == "write" and self.source is not None:
            what = "copy" if self.changed else "unchanged"
            return f"{what} {self.source} to {self.path} (mode {self.mode:o}, {self.size} bytes)"
        if self.kind == "write":
            size = len(self.content or b"")
            what = "write" if self.changed else "unchanged"
            return f"{what} {self.path} (mode {self.mode:o}, {size} bytes)"
        return f"read {self.path}"


def _read_only(host: Host, path: str) -> ExecError:
    """What the write program answers on a host whose file system is read-only (a stated fault)."""
    d, base = path.rsplit("/", 1)
    return ExecError(host.name, f"cannot write {path}: mktemp: failed to create file via template "
                                f"'{d}/.{base}.k8s-tui.XXXXXX': Read-only file system")


class SimHost:
    """The state the dry run keeps for one host."""

    def __init__(self, name: str, kernel: str):
        self.name = name
        self.kernel = kernel
        self.files: dict[str, bytes] = {}
        self.modes: dict[str, int] = {}
        self.dirs: set[str] = set()
        self.uploads: dict[str, tuple[str, int, int]] = {}  # path -> (local source, size, mtime_ns)
        self.sysctls: dict[str, str] = {}  # live values that differ from the defaults
        self.missing: set[str] = set()  # keys this kernel lacks
        self.clamp: dict[str, str] = {}  # key -> what the kernel stores whatever is written

    def has(self, key: str) -> bool:
        """False for keys made missing, and for keys the knowledge base says this kernel lacks."""
        if key in self.missing:
            return False
        cat = load_catalogue()
        if key in cat:
            e = cat.get(key)
            try:
                k = KernelVersion.parse(self.kernel)
            except ValueError:
                return True
            if e.added_in and k < KernelVersion.parse(e.added_in):
                return False
            if e.removed_in and k >= KernelVersion.parse(e.removed_in):
                return False
        return True

    def sysctl_get(self, key: str) -> str | None:
        if not self.has(key):
            return None
        return self.sysctls.get(key, default_live_value(key))

    def sysctl_set(self, key: str, value: str) -> str | None:
        """Store a value as the kernel would (numbers tab-separated, port lists sorted and merged);
        None if there is no such key."""
        if not self.has(key):
            return None
        if key in self.clamp:
            stored = self.clamp[key]
        elif _is_ports(key):
            stored = _canonical_ports(value)
        else:
            stored = "\t".join(value.split())
        self.sysctls[key] = stored
        return stored


def _is_ports(key: str) -> bool:
    cat = load_catalogue()
    return key in cat and cat.get(key).type is ValueType.ports


def _canonical_ports(value: str) -> str:
    """The kernel prints ip_local_reserved_ports as sorted, merged ranges."""
    ports: set[int] = set()
    for part in "".join(value.split()).split(","):
        if part:
            lo, _, hi = part.partition("-")
            ports.update(range(int(lo), int(hi or lo) + 1))
    out, run = [], []
    for p in sorted(ports):
        if run and p == run[-1] + 1:
            run.append(p)
        else:
            if run:
                out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
            run = [p]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(out)


def _proc_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def _key_of_proc(path: str) -> str | None:
    if path.startswith("/proc/sys/"):
        return path[len("/proc/sys/"):].replace("/", ".")
    return None


class DryRunExecutor:
    def __init__(
        self,
        *,
        speed: float = 1.0,
        transcripts: Iterable[Transcript] | None = None,
        transcripts_dir: Path | None = TRANSCRIPTS_DIR,
        kernel: str = "6.1.0-18-amd64",
        kernels: dict[str, str] | None = None,
        sysctls: dict[str, Any] | None = None,
        missing_sysctls: Iterable[str] = (),
        clamp: dict[str, Any] | None = None,
        files: dict[str, bytes | str] | None = None,
        command_latency: float = 0.02,
        faults: FaultPlan | None = None,
    ):
        """``sysctls``/``missing_sysctls``/``clamp``/``files`` set the starting state of every host
        (per host through ``sim(name)``); ``kernels`` gives some hosts another `uname -r`."""
        self.speed = float(speed)
        self.transcripts = list(transcripts) if transcripts is not None else []
        if transcripts_dir is not None:
            self.transcripts += load_transcripts(transcripts_dir)
        self.kernel = kernel
        self.kernels = dict(kernels or {})
        self._init_sysctls = {k: "\t".join(format_value(v).split()) if not isinstance(v, str) else "\t".join(v.split())
                              for k, v in (sysctls or {}).items()}
        self._init_missing = set(missing_sysctls)
        self._init_clamp = {k: "\t".join((format_value(v) if not isinstance(v, str) else v).split()) for k, v in (clamp or {}).items()}
        self._init_files = {p: c.encode() if isinstance(c, str) else c for p, c in (files or {}).items()}
        self.command_latency = command_latency
        self.faults = faults or FaultPlan()
        self.calls: list[Call] = []
        self._hosts: dict[str, SimHost] = {}
        self.closed = False

    # -- inspection ----------------------------------------------------------------------------

    def sim(self, host: str) -> SimHost:
        s = self._hosts.get(host)
        if s is None:
            s = SimHost(host, self.kernels.get(host, self.kernel))
            s.sysctls.update(self._init_sysctls)
            s.missing |= self._init_missing
            s.clamp.update(self._init_clamp)
            s.files.update(self._init_files)
            self._hosts[host] = s
        return s

    def commands(self, host: str | None = None, *, step_id: str | None = None, phase: str | None = None) -> list[list[str]]:
        return [c.argv for c in self.calls if c.kind == "run" and (host is None or c.host == host)
                and (step_id is None or c.step_id == step_id) and (phase is None or c.phase == phase)]

    def writes(self, host: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.kind == "write" and (host is None or c.host == host)]

    def hosts_seen(self) -> list[str]:
        seen: list[str] = []
        for c in self.calls:
            if c.host not in seen:
                seen.append(c.host)
        return seen

    # -- helpers -------------------------------------------------------------------------------

    def _scale(self, host: Host) -> float:
        return self.speed * self.faults.slow_factor(host.name)

    async def _pause(self, host: Host, seconds: float) -> None:
        s = seconds * self._scale(host)
        await _sleep(s if s > 0 else 0)

    def _record(self, host: Host, **kw: Any) -> Call:
        cur = CURRENT.get()
        c = Call(host=host.name, step_id=cur.step_id if cur else None, phase=cur.phase if cur else None, **kw)
        self.calls.append(c)
        return c

    def _contact(self, host: Host) -> None:
        if self.faults.unreachable(host.name):
            raise ExecError(host.name, f"cannot connect to {host.address} port {host.port}: [Errno 113] No route to host",
                            kind="unreachable")

    def _failing(self, host: Host) -> bool:
        cur = CURRENT.get()
        return cur is not None and self.faults.fails(host.name, cur.step_id, cur.phase)

    # -- the Executor protocol ---------------------------------------------------------------

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
        call = self._record(host, kind="run", argv=list(argv), sudo=sudo)
        self._contact(host)
        await self._pause(host, self.command_latency)
        sim = self.sim(host.name)
        if self._failing(host):
            lines, status, delay = _read_only_failure(argv, sim), 1, 0.0
        else:
            lines, status, delay = self._answer(host, sim, argv, stdin)
        out: list[str] = []
        err: list[str] = []
        scale = self._scale(host)
        for stream, text in lines:
            if delay and scale:
                await _sleep(delay * scale)
            (err if stream == "stderr" else out).append(text)
            if on_line is not None:
                on_line("stderr" if stream == "stderr" else "stdout", text)
        call.exit_status = status
        res = CommandResult(list(argv), status, "".join(t + "\n" for t in out), "".join(t + "\n" for t in err))
        if check and not res.ok:
            tail = " | ".join(err[-3:])
            raise ExecError(host.name, f"{shlex.join(argv)} exited with status {status}" + (f": {tail}" if tail else ""))
        return res

    async def read_file(self, host: Host, path: str, *, sudo: bool = True) -> bytes | None:
        self._record(host, kind="read", path=path, sudo=sudo)
        self._contact(host)
        await self._pause(host, self.command_latency)
        sim = self.sim(host.name)
        key = _key_of_proc(path)
        if key is not None:
            v = sim.sysctl_get(key)
            return None if v is None else (v + "\n").encode()
        return sim.files.get(path)

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
        if not path.startswith("/"):
            raise ValueError(f"remote path must be absolute: {path!r}")
        sim = self.sim(host.name)
        old = sim.files.get(path)
        changed = not (old == content and sim.modes.get(path, 0o644) == mode)
        call = self._record(host, kind="write", path=path, content=bytes(content), mode=mode, backup_dir=backup_dir, changed=changed)
        self._contact(host)
        await self._pause(host, self.command_latency)
        if self._failing(host):
            call.exit_status = 1
            raise _read_only(host, path)
        call.exit_status = 0
        if not changed:
            return WriteResult(changed=False)
        backup = None
        if backup_dir:
            base = path.rsplit("/", 1)[-1]
            if old is not None:
                backup = f"{backup_dir}/{base}"
                sim.files[backup] = old
                sim.files.pop(backup + ".absent", None)
            else:
                backup = f"{backup_dir}/{base}.absent"
                sim.files[backup] = b""
                sim.files.pop(f"{backup_dir}/{base}", None)
        sim.files[path] = bytes(content)
        sim.modes[path] = mode
        return WriteResult(changed=True, backup=backup)

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
        """Recorded with the source's name and size only: a dry run of a gigabyte bundle reads none of it."""
        if not path.startswith("/"):
            raise ValueError(f"remote path must be absolute: {path!r}")
        try:
            st = os.stat(source)
        except OSError as e:
            raise ExecError(host.name, f"cannot read {source} to copy it to {path}: {e.strerror or e}") from None
        sim = self.sim(host.name)
        ident = (str(source), st.st_size, st.st_mtime_ns)
        changed = not (sim.uploads.get(path) == ident and sim.modes.get(path, 0o644) == mode)
        call = self._record(host, kind="write", path=path, source=str(source), size=st.st_size, mode=mode, changed=changed)
        self._contact(host)
        await self._pause(host, self.command_latency)
        if self._failing(host):
            call.exit_status = 1
            raise _read_only(host, path)
        call.exit_status = 0
        if changed:
            sim.files.pop(path, None)
            sim.uploads[path] = ident
            sim.modes[path] = mode
        return WriteResult(changed=changed)

    async def close(self) -> None:
        self.closed = True

    # -- answers -------------------------------------------------------------------------------

    def _answer(self, host: Host, sim: SimHost, argv: list[str], stdin: bytes | None) -> tuple[list[tuple[str, str]], int, float]:
        command = shlex.join(argv)
        for t in self.transcripts:
            if t.matches(command):
                subst = {"{host}": host.name, "{address}": host.address, "{kernel}": sim.kernel}
                lines = []
                for stream, text in t.lines:
                    if text == "{sysctls}":  # the live values of the keys the command names after its script
                        for key in argv[4:]:
                            v = sim.sysctl_get(key)
                            lines.append((stream, f"sysctl_missing={key}" if v is None else f"sysctl.{key}={v}"))
                        continue
                    if "{" in text:
                        for a, b in subst.items():
                            text = text.replace(a, b)
                    lines.append((stream, text))
                return lines, t.exit, t.delay
        prog, args = argv[0].rsplit("/", 1)[-1], argv[1:]
        handler = getattr(self, f"_sim_{prog.replace('-', '_')}", None)
        if handler is not None:
            lines, status = handler(host, sim, args)
            return lines, status, 0.0
        return [], 0, 0.0

    def _sim_sysctl(self, host: Host, sim: SimHost, args: list[str]) -> tuple[list[tuple[str, str]], int]:
        names_only = ignore = False
        write = False
        files: list[str] = []
        keys: list[str] = []
        it = iter(args)
        for a in it:
            if a in ("-n", "--values"):
                names_only = True
            elif a in ("-e", "--ignore"):
                ignore = True
            elif a in ("-w", "--write"):
                write = True
            elif a in ("-q", "--quiet"):
                pass
            elif a in ("-p", "--load"):
                files.append(next(it, "/etc/sysctl.conf"))
            elif a.startswith("-p") and len(a) > 2:
                files.append(a[2:])
            elif a == "--system":
                return [("stderr", "k8s-tui dry run: sysctl --system is not simulated (k8s-tui never runs it)")], 1
            elif a.startswith("-"):
                return [("stderr", f"sysctl: invalid option -- '{a.lstrip('-')[:1]}'")], 1
            else:
                keys.append(a)
        lines: list[tuple[str, str]] = []
        status = 0
        if files:
            for f in files:
                body = sim.files.get(f)
                if body is None:
                    return [("stderr", f"sysctl: cannot open \"{f}\": No such file or directory")], 1
                for raw in body.decode(errors="replace").splitlines():
                    line = raw.strip()
                    if not line or line[0] in "#;":
                        continue
                    quiet_fail = line.startswith("-")
                    k, _, v = line.lstrip("-").partition("=")
                    k, v = k.strip(), v.strip()
                    if sim.sysctl_set(k, v) is None:
                        if not quiet_fail and not ignore:
                            lines.append(("stderr", f"sysctl: cannot stat {_proc_path(k)}: No such file or directory"))
                            status = 1
                        continue
                    lines.append(("stdout", f"{k} = {v}"))
            return lines, status
        for k in keys:
            if write or "=" in k:
                k, _, v = k.partition("=")
                if sim.sysctl_set(k, v) is None:
                    if not ignore:
                        lines.append(("stderr", f"sysctl: cannot stat {_proc_path(k)}: No such file or directory"))
                        status = 1
                    continue
                lines.append(("stdout", v if names_only else f"{k} = {v}"))
                continue
            v = sim.sysctl_get(k)
            if v is None:
                if not ignore:
                    lines.append(("stderr", f"sysctl: cannot stat {_proc_path(k)}: No such file or directory"))
                    status = 1
                continue
            lines.append(("stdout", v if names_only else f"{k} = {v}"))
        return lines, status

    def _sim_uname(self, host: Host, sim: SimHost, args: list[str]) -> tuple[list[tuple[str, str]], int]:
        if args == ["-r"]:
            return [("stdout", sim.kernel)], 0
        if args == ["-n"]:
            return [("stdout", host.name)], 0
        if args in (["-m"], ["-p"]):
            return [("stdout", "x86_64")], 0
        if args == ["-a"]:
            return [("stdout", f"Linux {host.name} {sim.kernel} #1 SMP PREEMPT_DYNAMIC Debian x86_64 GNU/Linux")], 0
        return [("stdout", "Linux")], 0

    def _sim_hostname(self, host: Host, sim: SimHost, args: list[str]) -> tuple[list[tuple[str, str]], int]:
        return [("stdout", host.name)], 0

    def _exists(self, sim: SimHost, path: str) -> bool:
        key = _key_of_proc(path)
        if key is not None:
            return sim.has(key)
        return path in sim.files or path in sim.dirs or path in sim.uploads

    def _sim_test(self, host: Host, sim: SimHost, args: list[str]) -> tuple[list[tuple[str, str]], int]:
        if len(args) == 2 and args[0] in ("-e", "-f", "-d", "-r", "-s"):
            p = args[1]
            if args[0] == "-d":
                ok = p in sim.dirs or any(f.startswith(p.rstrip("/") + "/") for f in sim.files)
            elif args[0] == "-s":
                ok = bool(sim.files.get(p)) or _key_of_proc(p) is not None and self._exists(sim, p)
            else:
                ok = self._exists(sim, p)
            return [], 0 if ok else 1
        return [], 0

    def _sim_cat(self, host: Host, sim: SimHost, args: list[str]) -> tuple[list[tuple[str, str]], int]:
        lines: list[tuple[str, str]] = []
        status = 0
        for p in (a for a in args if a != "--"):
            key = _key_of_proc(p)
            body = None
            if key is not None:
                v = sim.sysctl_get(key)
                body = None if v is None else v + "\n"
            elif p in sim.files:
                body = sim.files[p].decode(errors="replace")
            if body is None:
                lines.append(("stderr", f"cat: {p}: No such file or directory"))
                status = 1
                continue
            lines.extend(("stdout", ln) for ln in body.splitlines())
        return lines, status

    def _sim_mkdir(self, host: Host, sim: SimHost, args: list[str]) -> tuple[list[tuple[str, str]], int]:
        skip_next = False
        for a in args:
            if skip_next:
                skip_next = False
                continue
            if a in ("-m", "--mode"):
                skip_next = True
            elif not a.startswith("-"):
                sim.dirs.add(a.rstrip("/"))
        return [], 0

    def _sim_rm(self, host: Host, sim: SimHost, args: list[str]) -> tuple[list[tuple[str, str]], int]:
        force = any(a.startswith("-") and "f" in a for a in args)
        lines: list[tuple[str, str]] = []
        status = 0
        for p in (a for a in args if not a.startswith("-")):
            if p in sim.files or p in sim.uploads:
                sim.files.pop(p, None)
                sim.uploads.pop(p, None)
                sim.modes.pop(p, None)
            elif not force:
                lines.append(("stderr", f"rm: cannot remove '{p}': No such file or directory"))
                status = 1
        return lines, status

    def _sim_true(self, host: Host, sim: SimHost, args: list[str]) -> tuple[list[tuple[str, str]], int]:
        return [], 0

    def _sim_sh(self, host: Host, sim: SimHost, args: list[str]) -> tuple[list[tuple[str, str]], int]:
        handler = SH_SIMULATIONS.get(args[2]) if len(args) > 2 and args[0] == "-c" else None
        return handler(self, host, sim, args[3:]) if handler is not None else ([], 0)


def _read_only_failure(argv: list[str], sim: SimHost) -> list[tuple[str, str]]:
    """What a command prints on a host whose root file system went read-only."""
    prog = argv[0].rsplit("/", 1)[-1]
    args = [a for a in argv[1:] if not a.startswith("-")]
    if prog == "sysctl":
        keys = [a.split("=", 1)[0] for a in argv[1:] if "=" in a]
        if "-p" in argv:
            body = sim.files.get(argv[argv.index("-p") + 1] if argv.index("-p") + 1 < len(argv) else "", b"")
            for raw in body.decode(errors="replace").splitlines():
                line = raw.strip()
                if line and line[0] not in "#;" and "=" in line:
                    keys.append(line.lstrip("-").split("=", 1)[0].strip())
        return [("stderr", f'sysctl: setting key "{k}": Read-only file system') for k in keys] or [
            ("stderr", "sysctl: cannot open file: Read-only file system")]
    if prog == "mkdir":
        return [("stderr", f"mkdir: cannot create directory '{args[-1] if args else '.'}': Read-only file system")]
    if prog == "rm":
        return [("stderr", f"rm: cannot remove '{args[-1] if args else ''}': Read-only file system")]
    return [("stderr", f"{prog}: Read-only file system")]
