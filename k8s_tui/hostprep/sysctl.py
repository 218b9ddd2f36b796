"""The sysctl step: write /etc/sysctl.d/<file>, load it, read every value back.

check   one read-only command (``CHECK_SCRIPT``: keys and paths as positional arguments, never in
        the script's text) reads the live values, the file (or only that it already holds the
        planned content) and whether this run already saved a backup manifest; the step is
        "unchanged" when the file already holds exactly what we would write and every live value
        is the wanted one. Keys this kernel does not have (by the kernel version in the facts, or
        because /proc/sys lacks them) are left out of the file, with a comment and a log line.
apply   saves the old live values and the old file in the run's backup directory on the host
        (``<backup>/sysctl/<file>.json``, kept from the first attempt when a step is retried; the
        write program creates the directory, mode 0700, and keeps its own copy of the old file),
        writes the file atomically, and loads that one file with ``sysctl -p FILE`` (never
        ``--system``, which would also reload every other file on the host).
verify  reads every key back and compares it with the wanted value (whitespace-insensitive;
        pairs and triples as tuples, port lists as sets): a value the kernel refused or changed
        (clamped) fails the step, naming the key, the wanted and the read value; then reads the
        file back.

A first run is 6 round trips a host (check, manifest, file, ``sysctl -p``, ``sysctl -n``, the file
read back), a rerun 1 (the check).

The backup records the old file's mode, owner and group (``stat``) beside its content.
``SysctlRollback`` puts back the file exactly (content, mode, owner, group; or removes it when it
did not exist) and the live values, from the oldest backup of the run's chain (a run and the
runs that resumed it), and its message says what it restored ("restored FILE (0640 root:adm)").
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from ..engine.dryrun import SH_SIMULATIONS
from ..engine.steps import BACKUP_ROOT, Step, StepContext, StepFailed, StepResult, command_failure
from ..knowledge import KernelVersion, format_value, load_catalogue
from ..knowledge.schema import ValueType
from ..knowledge.values import SysctlValue
from .facts import run_script
from .sysctl_conf import render_sysctl_conf, split_for_kernel

SYSCTL_D = "/etc/sysctl.d"
HEADER = [
    "Kernel parameters for a Kubernetes node, written by k8s-tui.",
    "A later `k8s-tui apply` puts this file back as planned; `k8s-tui rollback RUN` restores what was here before.",
]
_PORTS_RE = re.compile(r"^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$")
_FILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\.conf")
_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
# what a value may hold before it goes into a file or an argv: digits, blanks, commas, dashes
_VALUE_RE = re.compile(r"^[0-9 \t,\-]*$")


_MODE_RE = re.compile(r"^[0-7]{3,4}$")
_OWNER_RE = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|[0-9]{1,10})$")
DEFAULT_META = {"mode": "644", "owner": "root", "group": "root"}


def parse_file_meta(text: str) -> dict[str, str] | None:
    """`stat -c '%a %U %G'` output as {mode, owner, group}; None unless every part is plain."""
    parts = text.split()
    if len(parts) != 3 or not _MODE_RE.fullmatch(parts[0]) or not all(_OWNER_RE.fullmatch(p) for p in parts[1:]):
        return None
    return {"mode": parts[0], "owner": parts[1], "group": parts[2]}


def shown_meta(meta: dict[str, str]) -> str:
    """"0640 root:adm"."""
    return f"{int(meta['mode'], 8):04o} {meta['owner']}:{meta['group']}"


# $1 = the file. Fixed text, the path a positional argument.
STAT_SCRIPT = """exec stat -c '%a %U %G' -- "$1"
"""


async def read_file_meta(ctx: StepContext, path: str) -> dict[str, str] | None:
    """A file's mode, owner and group (names; ids when the host has no name for them)."""
    res = await run_script(ctx, "stat", STAT_SCRIPT, [path])
    return parse_file_meta(res.stdout) if res.ok else None


def _simulate_stat(ex: Any, host: Any, sim: Any, args: list[str]) -> tuple[list[tuple[str, str]], int]:
    """STAT_SCRIPT on the dry-run executor's simulated host (files it wrote keep their mode)."""
    path = args[0] if args else ""
    if path not in sim.files:
        return [("stderr", f"stat: cannot statx '{path}': No such file or directory")], 1
    return [("stdout", f"{sim.modes.get(path, 0o644):o} root root")], 0


def proc_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def parse_sysctl_n(stdout: str) -> list[str]:
    """One value per line of `sysctl -n K1 K2 ...` output. CRs are dropped, tabs kept; trailing
    empty lines (a final newline, or the empty line asyncssh sometimes yields) are not values."""
    lines = [ln.rstrip("\r") for ln in stdout.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def parse_sysctl_named(stdout: str) -> dict[str, str]:
    """`sysctl K1 K2` output ("key = value" a line) as key -> value."""
    out: dict[str, str] = {}
    for ln in stdout.split("\n"):
        k, sep, v = ln.rstrip("\r").partition("=")
        if sep and k.strip():
            out[k.strip()] = v.strip()
    return out


def _is_ports(key: str) -> bool:
    cat = load_catalogue()
    return key in cat and cat.get(key).type is ValueType.ports


def _expand_ports(text: str) -> frozenset[int]:
    ports: set[int] = set()
    for part in text.split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        ports.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(ports)


def normalise(key: str, value: SysctlValue | str) -> Any:
    """A form two equal values share: ints (or a tuple of them) for numbers, a set for port lists."""
    text = value if isinstance(value, str) else format_value(value)
    compact = "".join(text.split())
    if _is_ports(key) and (compact == "" or _PORTS_RE.match(compact)):
        return _expand_ports(compact)
    parts = text.split()
    try:
        nums = tuple(int(p) for p in parts)
    except ValueError:
        return tuple(parts)
    return nums[0] if len(nums) == 1 else nums


def same_value(key: str, wanted: SysctlValue | str, got: str) -> bool:
    return normalise(key, wanted) == normalise(key, got)


def shown(value: SysctlValue | str) -> str:
    return " ".join(value.split()) if isinstance(value, str) else format_value(value)


def _left_out(keys: list[str]) -> str:
    """The end of the step's message for the keys the kernel lacks ("" when none)."""
    return f"; left out {len(keys)} the kernel lacks" if keys else ""


def _kernel(ctx: StepContext) -> KernelVersion | None:
    k = ctx.facts.get("kernel")
    if isinstance(k, KernelVersion):
        return k
    if isinstance(k, str):
        try:
            return KernelVersion.parse(k)
        except ValueError:
            return None
    return None


def split_known(values: dict[str, SysctlValue], kernel: KernelVersion | None) -> tuple[dict[str, SysctlValue], dict[str, str]]:
    """split_for_kernel, tolerating keys the knowledge base does not know (kept: /proc decides)."""
    cat = load_catalogue()
    known = {k: v for k, v in values.items() if k in cat}
    keep, skipped = split_for_kernel(known, kernel)
    return {k: v for k, v in values.items() if k in keep or k not in cat}, skipped


async def read_live(ctx: StepContext, keys: list[str]) -> tuple[dict[str, str], list[str]]:
    """(key -> live value text, keys the host does not have). One `sysctl -n` for all keys; when a
    key is missing (the output no longer lines up), one `sysctl -e` that names each value."""
    if not keys:
        return {}, []
    # a port list may be empty, and an empty last line cannot be told from a trailing newline:
    # ask for port lists first so that their empty line, if any, sits between other values
    keys = sorted(keys, key=lambda k: not _is_ports(k))
    res = await ctx.run(["sysctl", "-n", *keys], check=False)
    values = parse_sysctl_n(res.stdout)
    if res.ok and len(values) == len(keys):
        return dict(zip(keys, values)), []
    if not res.ok and "cannot stat" not in res.stderr and "No such file" not in res.stderr:
        raise StepFailed(f"cannot read the live values: {command_failure(res)}",
                         "sysctl itself failed; look at the host's log")
    named = parse_sysctl_named((await ctx.run(["sysctl", "-e", *keys], check=False)).stdout)
    live = {k: named[k] for k in keys if k in named}
    return live, [k for k in keys if k not in named]


# The check in one round trip. Fixed text: every value comes as a positional argument.
#   $1 = the sysctl.d file, $2 = sha256 of its planned content, $3 = the run's backup manifest,
#   $4.. = the keys (validated: letters, digits, _ . -)
# Prints `sysctl -e KEYS` ("key = value" lines; a key the host lacks has none), then "@" lines:
# "@sysctl-status=N" when sysctl failed, "@manifest" when the manifest exists, then "@no-file",
# "@file-planned" (the file holds exactly the planned content) or "@file" followed by its bytes
# in hex (od), and "@end".
CHECK_SCRIPT = r"""# k8s-tui sysctl check
export LC_ALL=C
f=$1 want=$2 m=$3
shift 3
if [ "$#" -gt 0 ]; then
  sysctl -e "$@" || printf '@sysctl-status=%s\n' "$?"
fi
if [ -e "$m" ] || [ -L "$m" ]; then printf '@manifest\n'; fi
if [ -e "$f" ] || [ -L "$f" ]; then
  cur=$(sha256sum < "$f") || exit 1
  if [ "${cur%% *}" = "$want" ]; then
    printf '@file-planned\n'
  else
    printf '@file\n'
    od -A n -t x1 -v < "$f" || exit 1
  fi
else
  printf '@no-file\n'
fi
printf '@end\n'
"""
CHECK_NAME = "sysctl"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_check(stdout: str, planned: bytes) -> tuple[dict[str, str], int, bool, bytes | None, bool]:
    """CHECK_SCRIPT's output as (key -> live value, sysctl's exit status, manifest exists, the
    file's content or None, complete)."""
    named: list[str] = []
    status, manifest, current, complete = 0, False, None, False
    hexpart: list[str] | None = None
    for ln in stdout.split("\n"):
        ln = ln.rstrip("\r")
        if hexpart is not None and not ln.startswith("@"):
            hexpart.append(ln)
        elif ln.startswith("@sysctl-status="):
            status = int(ln.partition("=")[2] or 1)
        elif ln == "@manifest":
            manifest = True
        elif ln == "@file-planned":
            current = planned
        elif ln == "@file":
            hexpart = []
        elif ln == "@end":
            complete = True
        elif not ln.startswith("@") and hexpart is None:
            named.append(ln)
    if hexpart is not None:
        current = bytes.fromhex(" ".join(hexpart))
    return parse_sysctl_named("\n".join(named)), status, manifest, current, complete


def _simulate_check(ex: Any, host: Any, sim: Any, args: list[str]) -> tuple[list[tuple[str, str]], int]:
    """CHECK_SCRIPT on the dry-run executor's simulated host (the same answers, from its state)."""
    path, want, manifest, *keys = args
    lines, status = ex._sim_sysctl(host, sim, ["-e", *keys]) if keys else ([], 0)
    lines = list(lines)
    if status:
        lines.append(("stdout", f"@sysctl-status={status}"))
    if manifest in sim.files:
        lines.append(("stdout", "@manifest"))
    cur = sim.files.get(path)
    if cur is None:
        lines.append(("stdout", "@no-file"))
    elif _digest(cur) == want:
        lines.append(("stdout", "@file-planned"))
    else:
        lines.append(("stdout", "@file"))
        lines.extend(("stdout", " " + " ".join(f"{b:02x}" for b in cur[i:i + 16])) for i in range(0, len(cur), 16))
    lines.append(("stdout", "@end"))
    return lines, 0


SH_SIMULATIONS["k8s-tui-" + CHECK_NAME] = _simulate_check
SH_SIMULATIONS["k8s-tui-stat"] = _simulate_stat


class SysctlStep(Step):
    title = "Kernel parameters (sysctl)"
    why = "Write the tuned sysctl values to /etc/sysctl.d and load them, so the node has them now and after a reboot."

    def __init__(self, values: dict[str, SysctlValue], file_name: str = "90-k8s-tui.conf", *, step_id: str = "sysctl"):
        if not _FILE_RE.fullmatch(file_name):
            raise ValueError(f"{file_name!r} is not a plain sysctl.d file name ending in .conf")
        for k, v in values.items():
            if not _KEY_RE.fullmatch(k):
                raise ValueError(f"{k!r} is not a sysctl key")
            if not _VALUE_RE.fullmatch(v if isinstance(v, str) else format_value(v)):
                raise ValueError(f"{k}: {v!r} is not a sysctl value (digits, spaces, commas and dashes only)")
        self.id = step_id
        self.values = dict(values)
        self.file_name = file_name
        self.path = f"{SYSCTL_D}/{file_name}"

    def manifest_path(self, backup_dir: str) -> str:
        return f"{backup_dir}/sysctl/{self.file_name}.json"

    def render(self, kernel: KernelVersion | None, missing: list[str]) -> str:
        cat = load_catalogue()
        wanted = {k: v for k, v in self.values.items() if k not in missing}
        if all(k in cat for k in wanted):
            text = render_sysctl_conf(wanted, kernel=kernel, header=HEADER)
        else:  # keys unknown to the knowledge base: leave the kernel rules out, /proc decided
            keep, skipped = split_known(wanted, kernel)
            text = render_sysctl_conf(keep, header=HEADER)
            text += "".join(f"# {k} left out: {why}\n" for k, why in skipped.items())
        text += "".join(f"# {k} left out: this host has no {proc_path(k)}\n" for k in missing)
        return text

    async def read_state(self, ctx: StepContext, keys: list[str], planned: bytes) -> tuple[dict[str, str], list[str], bool, bytes | None]:
        """(live values, keys the host lacks, the manifest exists, the file's content): one command."""
        # port lists first, as read_live asks for them (and as the manifest has always listed them)
        keys = sorted(keys, key=lambda k: not _is_ports(k))
        res = await run_script(ctx, CHECK_NAME, CHECK_SCRIPT,
                               [self.path, _digest(planned), self.manifest_path(ctx.backup_dir), *keys])
        named, status, manifest, current, complete = parse_check(res.stdout, planned)
        if not res.ok or not complete:
            tail = [ln for ln in res.stderr.splitlines() if ln.strip()][-3:]
            raise StepFailed(f"cannot read the live values and {self.path}: the check exited with status "
                             f"{res.exit_status}" + (": " + " | ".join(tail) if tail else ""),
                             "look at the host's log")
        if status and "cannot stat" not in res.stderr and "No such file" not in res.stderr:
            tail = [ln for ln in res.stderr.splitlines() if ln.strip()][-3:]
            raise StepFailed(f"cannot read the live values: `sysctl -e {' '.join(keys)}` exited with status {status}"
                             + (": " + " | ".join(tail) if tail else ""),
                             "sysctl itself failed; look at the host's log")
        live = {k: named[k] for k in keys if k in named}
        return live, [k for k in keys if k not in named], manifest, current

    async def check(self, ctx: StepContext) -> StepResult | bool:
        kernel = _kernel(ctx)
        keep, skipped = split_known(self.values, kernel)
        for k, why in skipped.items():
            ctx.log(f"{k}: left out ({why})")
        # the file as planned when every key is there (the usual case: then the check needs only its digest)
        live, missing, manifest, current = await self.read_state(ctx, list(keep), self.render(kernel, []).encode())
        for k in missing:
            ctx.log(f"{k}: left out (this host has no {proc_path(k)}: the kernel lacks it or its module is not loaded)")
        wanted = {k: v for k, v in keep.items() if k not in missing}
        content = self.render(kernel, missing)
        differ = [k for k, v in wanted.items() if not same_value(k, v, live[k])]
        for k in differ:
            ctx.log(f"{k}: {shown(live[k])} -> {shown(wanted[k])}")
        file_same = current == content.encode()
        if current is None:
            ctx.log(f"{self.path} does not exist yet")
        elif not file_same:
            ctx.log(f"{self.path} differs from the planned content")
        ctx.scratch.update(live=live, wanted=wanted, content=content, current=current, differ=differ,
                           left_out=[*skipped, *missing], manifest_saved=manifest)
        if file_same and not differ:
            return StepResult.unchanged(f"all {len(wanted)} values already set, {self.path} up to date{_left_out([*skipped, *missing])}")
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        s = ctx.scratch
        bdir = f"{ctx.backup_dir}/sysctl"
        if not s["manifest_saved"]:  # a retry keeps what the first attempt saved
            current: bytes | None = s["current"]
            manifest = {
                "path": self.path,
                "existed": current is not None,
                "content_b64": base64.b64encode(current).decode() if current is not None else None,
                "live": s["live"],
                "run_id": ctx.run_id,
            }
            if current is not None:  # its mode, owner and group too, so a rollback puts them back
                manifest.update(await read_file_meta(ctx, self.path) or {})
            # backup=bdir: the write program creates the backup directory (mode 0700) first
            await ctx.write_file(self.manifest_path(ctx.backup_dir), json.dumps(manifest, indent=2) + "\n",
                                 mode=0o600, backup=bdir)
        await ctx.write_file(self.path, s["content"], mode=0o644, backup=bdir)
        res = await ctx.run(["sysctl", "-p", self.path], check=False)
        if not res.ok:
            errs = [ln for ln in res.stderr.splitlines() if ln.strip()]
            raise StepFailed(
                f"`sysctl -p {self.path}` exited with status {res.exit_status}: " + " | ".join(errs[-5:]),
                f"{self.path} is written but not every value was loaded; fix the value or the host, then retry "
                f"(k8s-tui rollback {ctx.run_id} restores the previous file and values)",
            )
        return StepResult.changed(f"{len(s['differ'])} of {len(s['wanted'])} values changed, {self.path} written"
                                  f"{_left_out(s['left_out'])}")

    async def verify(self, ctx: StepContext) -> None:
        s = ctx.scratch
        wanted: dict[str, SysctlValue] = s["wanted"]
        live, missing = await read_live(ctx, list(wanted))
        bad = []
        for k, v in wanted.items():
            if k in missing:
                bad.append(f"{k}: wanted {shown(v)}, the key disappeared")
            elif not same_value(k, v, live[k]):
                bad.append(f"{k}: wanted {shown(v)}, got {shown(live[k])}")
        if bad:
            raise StepFailed(
                "the kernel refused or changed " + ("a value" if len(bad) == 1 else f"{len(bad)} values") + ": " + "; ".join(bad),
                "the kernel keeps its own limits (it may clamp a value to its range or ignore it); check the key's "
                "valid range for this kernel, a module it needs, and whether another component (kube-proxy, "
                "systemd-sysctl, a container runtime) writes it",
            )
        # a plain command (shown as it is in the log and the dry-run listing); the content is ours, text
        now = await ctx.run(["cat", "--", self.path], check=False)
        if not now.ok or now.stdout != s["content"]:
            raise StepFailed(f"{self.path} does not hold the content just written", "something else rewrites this file; find it")


class SysctlRollback(Step):
    """Restore the sysctl file (content, mode, owner and group) and the live values as they were
    before run ``run_id``, or before the first run of a chain (a run and the runs that resumed it
    are one change): on each host the oldest backup in the chain is what was there before, since
    a later run of the chain found what an earlier one had already written."""

    title = "Restore kernel parameters"
    why = "Put back the sysctl file and the live values a previous run saved before it changed them."

    def __init__(self, file_name: str, run_id: str | list[str] | tuple[str, ...], *, step_id: str = "sysctl-rollback"):
        if not _FILE_RE.fullmatch(file_name):
            raise ValueError(f"{file_name!r} is not a plain sysctl.d file name ending in .conf")
        chain = [run_id] if isinstance(run_id, str) else list(run_id)
        if not chain:
            raise ValueError("no run to roll back")
        for r in chain:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", r):
                raise ValueError(f"{r!r} is not a run id")
        self.id = step_id
        self.file_name = file_name
        self.path = f"{SYSCTL_D}/{file_name}"
        self.chain = chain  # oldest first
        self.from_run = chain[0]

    def manifest_of(self, run_id: str) -> str:
        return f"{BACKUP_ROOT}/{run_id}/sysctl/{self.file_name}.json"

    @property
    def manifest_path(self) -> str:
        return self.manifest_of(self.from_run)

    @property
    def runs_text(self) -> str:
        return f"run {self.chain[0]}" if len(self.chain) == 1 else f"runs {', '.join(self.chain)}"

    async def _one(self, ctx: StepContext, run_id: str) -> dict | None:
        path = self.manifest_of(run_id)
        raw = await ctx.read_file(path)
        if raw is None:
            return None
        try:
            m = json.loads(raw)
            live = {str(k): str(v) for k, v in dict(m.get("live") or {}).items()}
            old = base64.b64decode(m["content_b64"]) if m.get("existed") else None
        except (ValueError, TypeError, KeyError) as e:
            raise StepFailed(f"the backup {path} is damaged ({e})", "restore the file by hand from it") from None
        for k, v in live.items():
            if not _KEY_RE.fullmatch(k) or not _VALUE_RE.fullmatch(v):
                raise StepFailed(f"the backup {path} holds an unexpected entry {k!r}: {v!r}",
                                 "refusing to write it back; restore by hand")
        meta = None
        if old is not None:
            meta = parse_file_meta(f"{m.get('mode', '644')} {m.get('owner', 'root')} {m.get('group', 'root')}")
            if meta is None:
                raise StepFailed(f"the backup {path} holds an unexpected mode or owner "
                                 f"({m.get('mode')!r} {m.get('owner')!r}:{m.get('group')!r})",
                                 "refusing to write it back; restore by hand")
        return {"live": live, "old": old, "meta": meta, "run": run_id}

    async def _manifest(self, ctx: StepContext) -> dict | None:
        """The oldest backup of the chain on this host, with live values only later runs saved."""
        found = None
        for run_id in self.chain:
            m = await self._one(ctx, run_id)
            if m is None:
                continue
            if found is None:
                found = m
            else:
                for k, v in m["live"].items():
                    found["live"].setdefault(k, v)
        return found

    async def check(self, ctx: StepContext) -> StepResult | bool:
        m = await self._manifest(ctx)
        if m is None:
            ctx.log(f"no backup of {self.path} from {self.runs_text}: nothing was changed there on this host")
            return StepResult.unchanged(f"nothing to restore from {self.runs_text}")
        ctx.log(f"restoring from the backup of run {m['run']}: {self.manifest_of(m['run'])}")
        ctx.scratch["m"] = m
        current = await ctx.read_file(self.path)
        meta_same = True
        if m["old"] is not None and current is not None:
            meta_same = await read_file_meta(ctx, self.path) == m["meta"]
        live, missing = await read_live(ctx, list(m["live"]))
        differ = [k for k, v in m["live"].items() if k not in missing and not same_value(k, v, live[k])]
        for k in differ:
            ctx.log(f"{k}: {shown(live[k])} -> {shown(m['live'][k])}")
        ctx.scratch["differ"] = differ
        if current == m["old"] and meta_same and not differ:
            return StepResult.unchanged(f"already as before run {m['run']}")
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        m = ctx.scratch["m"]
        bdir = f"{ctx.backup_dir}/sysctl"
        await ctx.run(["mkdir", "-p", "-m", "0700", bdir])
        if m["old"] is not None:
            meta = m["meta"]
            await ctx.write_file(self.path, m["old"], mode=int(meta["mode"], 8), owner=meta["owner"], group=meta["group"],
                                 backup=bdir)
            ctx.log(f"restored {self.path} ({shown_meta(meta)})")
        else:
            current = await ctx.read_file(self.path)
            if current is not None:
                await ctx.write_file(f"{bdir}/{self.file_name}", current, mode=0o600, backup=False)
                await ctx.run(["rm", "-f", "--", self.path])
                ctx.log(f"removed {self.path} (a copy is in {bdir})")
        if ctx.scratch["differ"]:
            await ctx.run(["sysctl", "-w", *(f"{k}={' '.join(m['live'][k].split())}" for k in ctx.scratch["differ"])])
        what = (f"restored {self.path} ({shown_meta(m['meta'])})" if m["old"] is not None
                else f"removed {self.path} (it did not exist)")
        return StepResult.changed(f"{what}; {len(ctx.scratch['differ'])} live values put back (as before run {m['run']})")

    async def verify(self, ctx: StepContext) -> None:
        m = ctx.scratch["m"]
        live, missing = await read_live(ctx, list(m["live"]))
        bad = [f"{k}: wanted {shown(v)}, got {shown(live[k]) if k in live else '(missing)'}"
               for k, v in m["live"].items() if k not in missing and not same_value(k, v, live.get(k, ""))]
        if bad:
            raise StepFailed("the kernel did not take back: " + "; ".join(bad), "set these by hand with sysctl -w")
        if await ctx.read_file(self.path) != m["old"]:
            raise StepFailed(f"{self.path} is not as it was before run {m['run']}", "restore it by hand from the backup")
        if m["old"] is not None:
            got = await read_file_meta(ctx, self.path)
            if got != m["meta"]:
                raise StepFailed(f"{self.path} is back, but as {shown_meta(got) if got else '?'}, not {shown_meta(m['meta'])}",
                                 "set its mode and owner by hand (chmod, chown)")
