"""SSH test hosts on this machine: one network + mount + UTS namespace and one real sshd each.

Each test host is as close to a small Linux server as one machine allows, and nothing done on it
reaches the machine:

* network: its own namespace with ``eth0`` on a bridge ``k8stb<index>`` in the root namespace;
  the bridge has 198.18.<index>.1/24, host *i* (1, 2, ...) has 198.18.<index>.(10+i)
  (index 256..511 use 198.19.x). An ``unreachable 198.18.0.0/15`` route in the root namespace keeps any stray packet
  for the benchmark range on this machine (the bridges' /24 routes are more specific and win).
  ``net.*`` sysctls are per namespace anyway.
* global sysctls: every writable entry of /proc/sys/{vm,fs,kernel,dev,abi,debug,user} is covered
  by a writable plain file holding the machine's value, and so are the ``net.*`` entries this
  kernel keeps global (absent or read-only in a new network namespace: net.nf_conntrack_max,
  net.netfilter.nf_conntrack_max, net.ipv4/ipv6.neigh.default.*, net.core.rmem_max, ...).
  ``sysctl -w`` / ``sysctl -p`` / ``sysctl --system`` on a host change only that host.
  (A shadow file accepts any text; the kernel's range checks do not apply.) /proc/swaps is an
  empty table (``swapoff -a`` would act on the machine's swap), /proc/sysrq-trigger a plain file.
  Still global: kernel modules (modprobe), the clock.
* files: /etc, /var, /usr, /opt, /srv, /boot are overlays (the machine's directory below, the
  host's private directory above: installing /usr/bin/kubeadm on a host is private too), /root,
  /home, /tmp and /run are the host's own directories, / itself is read-only (mkdir /x fails
  with EROFS), /sys is the namespace's own sysfs, read-only. /dev is the machine's.
* sshd: its own ed25519 host key, ``UsePAM no``, root by key only, password login for ``tester``
  (``TestHost.password``, sudo with password) and key login for ``nopw`` (sudo NOPASSWD).

A plain module: no pytest here. ``python -m tests.testbed.testhosts up N`` / ``down`` is the CLI
(tests/testbed/hosts.sh wraps it).
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import errno
import fcntl
import json
import marshal
import os
import re
import secrets
import selectors
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

STATE_BASE = Path("/run/k8s-tui-testbed")
BRIDGE_PREFIX = "k8stb"  # bridge k8stb<index>, netns k8stb<index>-<name>, veth k8stb<index>h<k>
GUARD_ROUTE = "198.18.0.0/15"
MAX_INDEX = 511
MAX_HOSTS_PER_SUBNET = 244  # .11 .. .254
INIT_SCRIPT = Path(__file__).with_name("_nsinit.py")
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# private directories laid over the machine's (lower) directory in each host
# (/usr holds /usr/local, /usr/lib/sysctl.d and, merged, /bin /sbin /lib; /opt holds /opt/cni/bin)
OVERLAYS = ("/etc", "/var", "/usr", "/opt", "/srv", "/boot")
SHADOW_TOPS = ("vm", "fs", "kernel", "dev", "abi", "debug", "user")
PER_UTS = {"kernel/hostname", "kernel/domainname"}


def _tool(name: str) -> str | None:
    return shutil.which(name, path=SBIN_PATH + ":" + os.environ.get("PATH", ""))


def subnet_prefix(index: int) -> str:
    """'198.18.3' for index 3; '198.19.0' for index 256."""
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"subnet_index {index} is outside 0..{MAX_INDEX}")
    return f"198.{18 + index // 256}.{index % 256}"


# --------------------------------------------------------------------------------- the host


@dataclasses.dataclass
class TestHost:
    """One test host. ``run``/``sysctl`` look inside it without SSH (nsenter)."""

    __test__ = False  # not a pytest test class

    name: str
    address: str
    port: int
    user: str
    key_file: str
    known_hosts: str
    netns: str
    sshd_pid: int
    host_key_fingerprint: str
    root: str
    password: str = ""
    keeper_pid: int = 0  # `sleep infinity` holding the namespaces; nsenter goes through it
    host_key: str = ""  # "ssh-ed25519 AAAA..."
    veth: str = ""  # root-namespace end of the host's veth pair
    index: int = 0  # subnet index
    users: tuple = ("root", "tester", "nopw")

    # ---------------------------------------------------------------- looking inside the host
    def _nsenter(self) -> list[str]:
        return [_tool("nsenter") or "nsenter", "-t", str(self.keeper_pid), "-n", "-m", "-u", "--"]

    def run(self, cmd: str | list[str], *, input: str | None = None, timeout: float = 60,
            check: bool = False) -> subprocess.CompletedProcess:
        """Run a command inside the host's network, mount and UTS namespaces (as root, no SSH).

        A string goes to ``sh -c``. Returns the CompletedProcess (text output).
        """
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        env = {"PATH": SBIN_PATH, "HOME": "/root", "LANG": "C.UTF-8"}
        return subprocess.run(self._nsenter() + argv, input=input, capture_output=True, text=True,
                              timeout=timeout, check=check, env=env)

    def path(self, p: str) -> Path:
        """The host's file ``p`` seen from the machine (through /proc/<keeper>/root).

        Right for files; NOT for /proc/sys/net (that follows the reader's network namespace).
        """
        return Path(f"/proc/{self.keeper_pid}/root") / p.lstrip("/")

    def sysctl(self, key: str) -> str:
        """The value of a sysctl read inside the host (``vm.swappiness`` or ``vm/swappiness``)."""
        rel = key.replace(".", "/") if "/" not in key else key
        r = self.run(["cat", "/proc/sys/" + rel.lstrip("/")])
        if r.returncode != 0:
            raise KeyError(f"{self.name}: sysctl {key}: {r.stderr.strip()}")
        return r.stdout.strip()

    def install_standin(self, name: str, script_text: str) -> str:
        """Put an executable at /usr/local/bin/NAME, visible only inside this host. Returns its path."""
        if not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
            raise ValueError(f"bad stand-in name {name!r}")
        target = self.path(f"/usr/local/bin/{name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{name}.tmp")
        tmp.write_text(script_text)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
        return f"/usr/local/bin/{name}"

    # ------------------------------------------------------------------------ failure modes
    def kill_sshd(self, *, sessions: bool = False) -> None:
        """Stop the sshd listener: new connections are refused. ``sessions=True`` also ends
        every open SSH session (every process in the host but the keeper)."""
        _kill_wait([self.sshd_pid], signal.SIGKILL)
        if sessions:
            r = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True)
            pids = [int(p) for p in r.stdout.split() if p.strip().isdigit() and int(p) != self.keeper_pid]
            _kill_wait(pids, signal.SIGKILL)

    def start_sshd(self, timeout: float = 20) -> int:
        """Start sshd again (after kill_sshd); returns its pid once it accepts connections."""
        log = open(Path(self.root) / "sshd.log", "ab")
        p = subprocess.Popen(
            self._nsenter() + [_tool("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
            env={"PATH": SBIN_PATH, "LANG": "C.UTF-8"},
        )
        log.close()
        _CHILDREN[p.pid] = p
        self.sshd_pid = p.pid
        _wait_listening([self], {self.name: p}, timeout)
        return p.pid

    def link_down(self) -> None:
        """Take eth0 down inside the host: open connections stall, new ones time out."""
        subprocess.run(["ip", "-n", self.netns, "link", "set", "eth0", "down"], check=True)

    def link_up(self) -> None:
        subprocess.run(["ip", "-n", self.netns, "link", "set", "eth0", "up"], check=True)

    # ----------------------------------------------------------------------------- helpers
    def ssh_command(self, user: str | None = None) -> str:
        return (f"ssh -i {self.key_file} -o UserKnownHostsFile={self.known_hosts} "
                f"-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes {user or self.user}@{self.address}")

    def connect_kwargs(self, user: str | None = None) -> dict:
        """Keyword arguments for ``asyncssh.connect``: client key, strict known_hosts."""
        return {"host": self.address, "port": self.port, "username": user or self.user,
                "client_keys": [self.key_file], "known_hosts": self.known_hosts,
                "agent_path": None, "config": []}


# ------------------------------------------------------------------------ process utilities

_CHILDREN: dict[int, subprocess.Popen] = {}  # sshd Popen objects of this process, to reap


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)
            return False
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _kill_wait(pids, sig=signal.SIGKILL, timeout: float = 5.0) -> None:
    pids = [p for p in pids if p and p > 1]
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for pid in pids:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        _CHILDREN.pop(pid, None)


def _ip_batch(lines: list[str], netns: str | None = None, force: bool = False) -> subprocess.CompletedProcess:
    argv = ["ip"] + (["-n", netns] if netns else []) + (["-force"] if force else []) + ["-batch", "-"]
    r = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True)
    if r.returncode != 0 and not force:
        raise RuntimeError(f"ip -batch failed: {r.stderr.strip()}\n" + "\n".join(lines[:20]))
    return r


def _links() -> list[str]:
    r = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True)
    return [m.group(1) for m in re.finditer(r"^\d+: ([^:@\s]+)[@:]", r.stdout, re.M)]


def _netns_names() -> list[str]:
    try:
        return sorted(os.listdir("/run/netns"))
    except FileNotFoundError:
        return []


def _wait_listening(hosts: list[TestHost], procs: dict[str, subprocess.Popen], timeout: float) -> None:
    """Until every host's sshd accepts TCP connections from here; raise with its log if one dies."""
    pending = {h.name: h for h in hosts}
    deadline = time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    try:
        while pending:
            if time.monotonic() > deadline:
                names = ", ".join(sorted(pending)[:10])
                raise RuntimeError(f"test hosts not listening after {timeout:.0f}s: {names}")
            for name, h in list(pending.items()):
                p = procs.get(name)
                if p is not None and p.poll() is not None:
                    log = (Path(h.root) / "sshd.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"test host {name}: init/sshd exited ({p.returncode}):\n{log}")
                if not h.keeper_pid:
                    try:
                        h.keeper_pid = int((Path(h.root) / "run" / "k8stb-keeper.pid").read_text().strip() or 0)
                    except (FileNotFoundError, ValueError):
                        continue
                    if not h.keeper_pid:
                        continue
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                rc = s.connect_ex((h.address, h.port))
                if rc in (0, errno.EINPROGRESS):
                    sel.register(s, selectors.EVENT_WRITE, name)
                else:
                    s.close()
            end = time.monotonic() + 0.5
            while sel.get_map() and time.monotonic() < end:
                for key, _ in sel.select(timeout=max(0.0, end - time.monotonic())):
                    s = key.fileobj
                    sel.unregister(s)
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                        pending.pop(key.data, None)
                    s.close()
            for key in list(sel.get_map().values()):
                sel.unregister(key.fileobj)
                key.fileobj.close()
            if pending:
                time.sleep(0.02)
    finally:
        sel.close()


# ---------------------------------------------------------------------- machine snapshots

_SNAPSHOT: dict | None = None


def _read_proc(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


_PROBE = r"""
import marshal, os, stat, sys
out = {}
for dirpath, dirnames, filenames in os.walk("/proc/sys/net"):
    rel = os.path.relpath(dirpath, "/proc/sys/net")
    rel = "" if rel == "." else rel + "/"
    for d in dirnames:
        out[rel + d] = 0o555
    for f in filenames:
        try:
            out[rel + f] = stat.S_IMODE(os.lstat(os.path.join(dirpath, f)).st_mode)
        except OSError:
            pass
sys.stdout.buffer.write(marshal.dumps(out, 2))
"""


def _fresh_netns_sysctls() -> dict:
    """relative path -> mode of /proc/sys/net in a brand-new network namespace."""
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    r = subprocess.run([_tool("unshare") or "unshare", "--net", "--", python, "-I", "-S", "-c", _PROBE],
                       capture_output=True, check=True)
    return marshal.loads(r.stdout)


def sysctl_snapshot() -> dict:
    """What each host's init lays over /proc/sys, with the machine's values (computed once).

    ``global``: every writable entry of vm, fs, kernel, dev, abi, debug, user.
    ``net_covers``: directories of /proc/sys/net that lack, in a new network namespace, entries the
    machine has (the kernel registers them in the initial namespace only: they are global), with
    those entries. ``net_readonly``: entries writable here but read-only in a new namespace.
    """
    global _SNAPSHOT
    if _SNAPSHOT is not None:
        return _SNAPSHOT
    glob = []
    for top in SHADOW_TOPS:
        base = f"/proc/sys/{top}"
        for dirpath, _dirs, files in os.walk(base):
            for fn in files:
                path = os.path.join(dirpath, fn)
                rel = os.path.relpath(path, "/proc/sys")
                if rel in PER_UTS:
                    continue
                try:
                    mode = stat.S_IMODE(os.lstat(path).st_mode)
                except OSError:
                    continue
                if mode & 0o222:
                    glob.append([rel, mode, _read_proc(path) if mode & 0o444 else ""])
    # the machine's tree, without per-interface entries (conf/<if>, neigh/<if>)
    ifaces = set(os.listdir("/sys/class/net"))
    machine = {}
    for dirpath, dirs, files in os.walk("/proc/sys/net"):
        dirs[:] = [d for d in dirs if d not in ifaces]
        rel = os.path.relpath(dirpath, "/proc/sys/net")
        rel = "" if rel == "." else rel + "/"
        for d in dirs:
            machine[rel + d] = (True, 0o555)
        for fn in files:
            if fn not in ifaces:
                try:
                    machine[rel + fn] = (False, stat.S_IMODE(os.lstat(os.path.join(dirpath, fn)).st_mode))
                except OSError:
                    pass
    fresh = _fresh_netns_sysctls()

    def value(rel: str, mode: int) -> str:
        return _read_proc("/proc/sys/net/" + rel) if mode & 0o444 else ""

    def nearest_existing(rel: str) -> str:
        parent = rel.rpartition("/")[0]
        while parent and parent not in fresh:
            parent = parent.rpartition("/")[0]
        return parent

    covers: dict[str, list] = {}
    readonly = []
    for rel, (is_dir, mode) in sorted(machine.items(), key=lambda kv: (kv[0].count("/"), kv[0])):
        if rel not in fresh:
            covers.setdefault(nearest_existing(rel), []).append(
                [rel, is_dir, mode, "" if is_dir else value(rel, mode)])
        elif not is_dir and mode & 0o200 and not fresh[rel] & 0o200:
            readonly.append([rel, mode, value(rel, mode)])
    order = sorted(covers, key=lambda c: (c.count("/") + bool(c), c))  # shallow first
    proc_files = [["swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", 0o444],
                  ["sysrq-trigger", "", 0o200]]
    _SNAPSHOT = {"global": glob, "net_covers": [[c, covers[c]] for c in order], "net_readonly": readonly,
                 "proc_files": proc_files}
    return _SNAPSHOT


def _hash_password(password: str) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # noqa: PLC0415 - deprecated, present up to Python 3.12

        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    except ImportError:
        r = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True,
                           text=True, check=True)
        return r.stdout.strip()


def _ed25519(comment: str) -> tuple[str, str, str]:
    """A new ed25519 key: (OpenSSH private key text, public key line, SHA256 fingerprint)."""
    try:
        import asyncssh  # noqa: PLC0415
    except ImportError:
        asyncssh = None
    if asyncssh is not None:
        key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
        return (key.export_private_key("openssh").decode(), key.export_public_key("openssh").decode().strip(),
                key.get_fingerprint("sha256"))
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                       check=True, stdin=subprocess.DEVNULL)
        fp = subprocess.run(["ssh-keygen", "-lf", path + ".pub"], capture_output=True, text=True,
                            check=True).stdout.split()[1]
        return Path(path).read_text(), Path(path + ".pub").read_text().strip(), fp


_STAT_CACHE: dict = {}


def _lstat_cached(path: str):
    if path not in _STAT_CACHE:
        try:
            _STAT_CACHE[path] = os.lstat(path)
        except OSError:
            _STAT_CACHE[path] = None
    return _STAT_CACHE[path]


# ---------------------------------------------------------------------------- the testbed


def _lock_path(base: Path, index: int) -> Path:
    return base / f"{BRIDGE_PREFIX}{index}.lock"


def _seg_dir(base: Path, index: int) -> Path:
    return base / f"{BRIDGE_PREFIX}{index}"


def _try_lock(base: Path, index: int):
    """An open, exclusively flock'ed file for this subnet index, or None if a live process holds it."""
    base.mkdir(parents=True, exist_ok=True)
    path = _lock_path(base, index)
    for _ in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder removed the file while we waited: lock the new one
    return None


def _read_state(base: Path, index: int) -> dict | None:
    try:
        return json.loads((_seg_dir(base, index) / "state.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def _segment_processes(seg: Path, namespaces: list[str], known: list[int]) -> list[int]:
    """Every process of this segment's hosts: in one of its network namespaces, in the mount or
    network namespace of a known sshd/keeper, or (crash leftovers) with a mount from its directory."""
    targets: set[str] = set()
    for ns in namespaces:
        try:
            targets.add(f"net:[{os.stat('/run/netns/' + ns).st_ino}]")
        except OSError:
            pass
    for pid in known:
        for kind in ("net", "mnt"):
            try:
                link = os.readlink(f"/proc/{pid}/ns/{kind}")
            except OSError:
                continue
            if link != os.readlink(f"/proc/self/ns/{kind}"):
                targets.add(link)
    me = os.getpid()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        for kind in ("net", "mnt"):
            try:
                if os.readlink(f"/proc/{d}/ns/{kind}") in targets:
                    pids.append(int(d))
                    break
            except OSError:
                break
    if not pids and not namespaces and seg.exists():
        needle = (str(seg) + "/").encode()
        for d in os.listdir("/proc"):
            if d.isdigit() and int(d) != me:
                try:
                    with open(f"/proc/{d}/mountinfo", "rb") as f:
                        if needle in f.read():
                            pids.append(int(d))
                except OSError:
                    pass
    return pids


def _is_ours(pid: int, seg: Path) -> bool:
    """Does a pid from a state file still name one of our hosts' processes (not a reused pid)?
    Ours: our own child, or sshd / sleep in another mount namespace that holds a mount from
    this segment's directory."""
    if pid in _CHILDREN:
        return True
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        if not (b"sshd" in cmd or b"sleep\0infinity" in cmd):
            return False
        if os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt"):
            return False
        return (str(seg) + "/").encode() in Path(f"/proc/{pid}/mountinfo").read_bytes()
    except OSError:
        return False


def cleanup_index(index: int, base: Path = STATE_BASE) -> None:
    """Remove everything of subnet ``index``: processes, namespaces, links, state. Idempotent.

    The caller must hold the index's lock (or know nobody does)."""
    seg = _seg_dir(base, index)
    br = f"{BRIDGE_PREFIX}{index}"
    namespaces = [n for n in _netns_names() if n.startswith(br + "-")]
    state = _read_state(base, index)
    known = [pid for h in (state or {}).get("hosts", []) for pid in (h.get("sshd_pid"), h.get("keeper_pid"))
             if pid and _is_ours(pid, seg)]
    _kill_wait(sorted(set(_segment_processes(seg, namespaces, known)) | set(known)), signal.SIGKILL)
    # deleting the namespaces destroys the veth pairs (the kernel does it in one batch: far faster
    # than deleting each link); wait for that, then delete what is left by hand
    vprefix = br + "h"
    ours = lambda ln: ln.startswith(vprefix) and ln[len(vprefix):].isdigit()  # noqa: E731
    links = _links()
    lines = [f"netns del {ns}" for ns in namespaces]
    if br in links:
        lines.append(f"link del {br}")
    if lines:
        _ip_batch(lines, force=True)
    deadline = time.monotonic() + 10
    while any(ours(ln) for ln in links) and time.monotonic() < deadline:
        time.sleep(0.02)
        links = _links()
    left = [f"link del {ln}" for ln in links if ours(ln)]
    if left:
        _ip_batch(left, force=True)
    if not any(re.fullmatch(rf"{BRIDGE_PREFIX}\d+", ln) for ln in _links()):
        subprocess.run(["ip", "route", "del", "unreachable", GUARD_ROUTE], capture_output=True)
    for attempt in range(50):
        if not seg.exists():
            break
        r = subprocess.run(["rm", "-rf", "--one-file-system", str(seg)], capture_output=True, text=True)
        if r.returncode == 0:
            break
        if attempt == 49:
            raise RuntimeError(f"cannot remove {seg}: {r.stderr.strip()}")
        time.sleep(0.1)


class Testbed:
    """Brings test hosts up and down. One subnet (bridge) per Testbed; ``up`` may be called again
    to add hosts to it. A context manager: ``with Testbed() as tb: hosts = tb.up(3)``."""

    __test__ = False

    def __init__(self, base: str | Path = STATE_BASE):
        self.base = Path(base)
        self.index: int | None = None
        self.hosts: list[TestHost] = []
        self.persistent = False  # True: left running when this process exits (the CLI)
        self.client_key: str = ""
        self.known_hosts: str = ""
        self.password: str = ""
        self._lock_fd: int | None = None
        self._lock_index: int | None = None
        self._pw_hash = ""
        self._procs: dict[str, subprocess.Popen] = {}

    # ------------------------------------------------------------------------------ checks
    @staticmethod
    def available() -> tuple[bool, str]:
        """(True, "") when test hosts can be made here, else (False, why not)."""
        if not sys.platform.startswith("linux"):
            return False, "test hosts need Linux (network namespaces)"
        if os.geteuid() != 0:
            return False, "test hosts need root (network namespaces, bridges, mounts); run the tests as root"
        missing = [t for t in ("sshd", "ip", "nsenter", "unshare", "sleep") if not _tool(t)]
        if missing:
            return False, ("missing tools: " + ", ".join(missing)
                           + " (apt-get install -y openssh-server iproute2 util-linux)")
        try:
            if "overlay" not in Path("/proc/filesystems").read_text():
                return False, "the kernel has no overlay filesystem (test hosts' private /etc)"
        except OSError as e:
            return False, f"cannot read /proc/filesystems: {e}"
        if not Path("/proc/self/ns/net").exists():
            return False, "the kernel has no network namespaces"
        return True, ""

    # ----------------------------------------------------------------------------- up/down
    def _claim(self, subnet_index: int | None, replace: bool) -> int:
        if subnet_index is not None:
            fd = _try_lock(self.base, subnet_index)
            if fd is None:
                raise RuntimeError(f"subnet index {subnet_index} is in use by another running testbed")
            state = _read_state(self.base, subnet_index)
            if state and state.get("persistent") and not replace:
                alive = any(_alive(h.get("sshd_pid") or 0) for h in state.get("hosts", []))
                if alive:
                    os.close(fd)
                    raise RuntimeError(
                        f"subnet index {subnet_index} holds hosts from `hosts.sh up`: "
                        "run tests/testbed/hosts.sh down first (or pick another subnet_index)")
            self._lock_fd, self._lock_index = fd, subnet_index
            cleanup_index(subnet_index, self.base)
            return subnet_index
        links = set(_links())
        for idx in range(1, MAX_INDEX + 1):
            if f"{BRIDGE_PREFIX}{idx}" in links and _read_state(self.base, idx) is None:
                continue  # someone's bridge without our state: leave it alone
            state = _read_state(self.base, idx)
            if state and state.get("persistent"):
                continue
            fd = _try_lock(self.base, idx)
            if fd is None:
                continue
            self._lock_fd, self._lock_index = fd, idx
            cleanup_index(idx, self.base)  # leftovers of a crashed run
            return idx
        raise RuntimeError("no free subnet index for a testbed")

    def up(self, n: int, *, prefix: str = "th", subnet_index: int | None = 0,
           replace: bool = False, timeout: float = 60) -> list[TestHost]:
        """Bring up ``n`` more hosts named ``<prefix>-<k>``; returns the new ones.

        ``subnet_index``: 0..511 (198.18.<index>.0/24; 256+ in 198.19), ``None`` = the first free
        one from 1. Leftovers of a crashed run on that index are removed first.
        """
        ok, why = self.available()
        if not ok:
            raise RuntimeError(why)
        if not re.fullmatch(r"[a-z][a-z0-9]{0,15}", prefix):
            raise ValueError(f"prefix {prefix!r}: lower-case letters and digits, starting with a letter")
        if self.index is None:
            self.index = self._claim(subnet_index, replace)
            atexit.register(self._down_at_exit)
            self._start_segment()
        elif subnet_index is not None and subnet_index != self.index:
            raise ValueError(f"this Testbed uses subnet {self.index}; make another Testbed for {subnet_index}")
        if len(self.hosts) + n > MAX_HOSTS_PER_SUBNET:
            raise ValueError(f"at most {MAX_HOSTS_PER_SUBNET} hosts per testbed")
        try:
            new = self._add_hosts(n, prefix, timeout)
        finally:
            self._write_known_hosts()
            self._save_state()
        return new

    def _start_segment(self) -> None:
        seg = _seg_dir(self.base, self.index)
        seg.mkdir(parents=True, exist_ok=True)
        os.chmod(seg, 0o755)
        self.client_key = str(seg / "id_ed25519")
        priv, self._client_pub, _ = _ed25519(f"k8s-tui-testbed-{self.index}")
        fd = os.open(self.client_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(priv)
        Path(self.client_key + ".pub").write_text(self._client_pub + "\n")
        self.known_hosts = str(seg / "known_hosts")
        Path(self.known_hosts).write_text("")
        self.password = "tbpass-" + secrets.token_hex(6)
        self._pw_hash = _hash_password(self.password)
        (seg / "snapshot.marshal").write_bytes(marshal.dumps(sysctl_snapshot(), 2))
        self._save_state()
        sp = subnet_prefix(self.index)
        br = f"{BRIDGE_PREFIX}{self.index}"
        lines = [
            f"link add {br} type bridge",
            f"addr add {sp}.1/24 dev {br}",
            f"link set {br} up",
        ]
        _ip_batch(lines)
        # the guard: never let 198.18/15 leave this machine; the bridges' /24s are more specific
        subprocess.run(["ip", "route", "replace", "unreachable", GUARD_ROUTE], check=True, capture_output=True)

    def _machine_files(self) -> dict:
        """Texts shared by every host: /etc/passwd etc. with the test users."""
        def read(p):
            try:
                return Path(p).read_text()
            except FileNotFoundError:
                return ""

        passwd, group = read("/etc/passwd"), read("/etc/group")
        used = {int(line.split(":")[2]) for line in (passwd + group).splitlines()
                if line.count(":") >= 3 and line.split(":")[2].isdigit()}
        uid = 2900
        ids = []
        for _ in range(2):
            while uid in used:
                uid += 1
            ids.append(uid)
            used.add(uid)
        (tuid, nuid) = ids
        nl = lambda s: s if not s or s.endswith("\n") else s + "\n"  # noqa: E731
        return {
            "ids": {"tester": tuid, "nopw": nuid},
            "passwd": nl(passwd) + f"tester:x:{tuid}:{tuid}:k8s-tui testbed:/home/tester:/bin/bash\n"
                      f"nopw:x:{nuid}:{nuid}:k8s-tui testbed:/home/nopw:/bin/bash\n",
            "group": nl(group) + f"tester:x:{tuid}:\nnopw:x:{nuid}:\n",
            "shadow": nl(read("/etc/shadow")) + f"tester:{self._pw_hash}:19700:0:99999:7:::\n"
                      "nopw:*:19700:0:99999:7:::\n",
            "gshadow": nl(read("/etc/gshadow")) + "tester:!::\nnopw:!::\n",
            "hosts": nl(read("/etc/hosts")),
            "sudoers": "# k8s-tui testbed\ntester ALL=(ALL) ALL\nnopw ALL=(ALL) NOPASSWD: ALL\n",
        }

    def _prepare_host(self, h: TestHost, files: dict, sftp: str) -> Path:
        """Write the host's init spec: the directories and files its init creates, its mounts."""
        root = Path(h.root)
        if root.exists():
            subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=True)
        root.mkdir(parents=True)
        dirs: list = []
        out: list = []
        overlays = []
        for target in OVERLAYS:
            st = _lstat_cached(target)
            if st is None or not stat.S_ISDIR(st.st_mode):
                continue
            slug = target.strip("/").replace("/", "-")
            upper, work = root / slug, root / f"{slug}.work"
            dirs.append((str(upper), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid))
            dirs.append((str(work), 0o700, 0, 0))
            overlays.append([target, str(upper), str(work)])
        etc = root / "etc"
        made: set = set()

        def put(rel: str, text: str, like: str | None = None, mode: int = 0o644, owner=(0, 0)) -> None:
            parts = rel.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if sub in made:
                    continue
                made.add(sub)
                st = _lstat_cached("/etc/" + sub)
                if st is not None and stat.S_ISDIR(st.st_mode):
                    dirs.append((str(etc / sub), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid))
                else:
                    dirs.append((str(etc / sub), 0o755, 0, 0))
            st = _lstat_cached(like) if like else None
            if st is not None:
                mode, owner = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
            out.append((str(etc / rel), text, mode, owner[0], owner[1]))

        for f in ("passwd", "group", "shadow", "gshadow"):
            put(f, files[f], like=f"/etc/{f}", mode=0o640 if "sha" in f else 0o644)
        put("hostname", h.name + "\n")
        put("hosts", files["hosts"] + f"{h.address}\t{h.name}\n")
        put("sudoers.d/k8s-tui-testbed", files["sudoers"], mode=0o440)
        for d in ("sysctl.d", "modules-load.d"):
            if _lstat_cached("/etc/" + d) is None:
                dirs.append((str(etc / d), 0o755, 0, 0))
        put("ssh/sshd_config", (
            "# k8s-tui test host\n"
            "Port 22\n"
            f"ListenAddress {h.address}\n"
            "HostKey /etc/ssh/ssh_host_ed25519_key\n"
            "PidFile /run/sshd.pid\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication yes\n"
            "KbdInteractiveAuthentication no\n"
            "AuthorizedKeysFile .ssh/authorized_keys\n"
            "UseDNS no\n"
            "PrintMotd no\n"
            "PrintLastLog no\n"
            "AcceptEnv LANG LC_*\n"
            f"Subsystem sftp {sftp}\n"
        ))
        priv, h.host_key, h.host_key_fingerprint = _ed25519(f"root@{h.name}")
        put("ssh/ssh_host_ed25519_key", priv, mode=0o600)
        put("ssh/ssh_host_ed25519_key.pub", h.host_key + "\n", mode=0o644)
        # homes: root's over /root, the test users' under the host's own /home
        auth = self._client_pub + "\n"
        homes = [(root / "root", 0, 0, 0o700)]
        dirs.append((str(root / "home"), 0o755, 0, 0))
        for user in ("tester", "nopw"):
            uid = files["ids"][user]
            homes.append((root / "home" / user, uid, uid, 0o750))
        for home, uid, gid, mode in homes:
            dirs += [(str(home), mode, uid, gid), (str(home / ".ssh"), 0o700, uid, gid)]
            out += [(str(home / ".ssh" / "authorized_keys"), auth, 0o600, uid, gid),
                    (str(home / ".bashrc"), "# fresh test-host home\n", 0o644, uid, gid)]
        run = root / "run"
        dirs += [(str(root / "tmp"), 0o1777, 0, 0), (str(run), 0o755, 0, 0), (str(run / "sshd"), 0o755, 0, 0),
                 (str(run / "lock"), 0o755, 0, 0), (str(root / "staging"), 0o700, 0, 0)]
        out += [(str(run / "utmp"), "", 0o664, 0, 0),
                (str(root / "ip.batch"),
                 f"link set lo up\naddr add {h.address}/24 dev eth0\nlink set eth0 up\n", 0o644, 0, 0)]
        spec = {
            "netns": h.netns,
            "hostname": h.name,
            "address": h.address,
            "ip": _tool("ip"),
            "ip_batch": str(root / "ip.batch"),
            "sshd": _tool("sshd"),
            "sleep": _tool("sleep"),
            "snapshot": str(_seg_dir(self.base, self.index) / "snapshot.marshal"),
            "staging": str(root / "staging"),
            "dirs": dirs,
            "files": out,
            "overlays": overlays,
            "binds": [[str(root / "root"), "/root"], [str(root / "home"), "/home"], [str(root / "tmp"), "/tmp"]],
            "run": str(run),
        }
        path = root / "spec.marshal"
        path.write_bytes(marshal.dumps(spec, 2))
        return path

    def _add_hosts(self, n: int, prefix: str, timeout: float) -> list[TestHost]:
        seg = _seg_dir(self.base, self.index)
        sp = subnet_prefix(self.index)
        br = f"{BRIDGE_PREFIX}{self.index}"
        taken = {h.name for h in self.hosts}
        new: list[TestHost] = []
        k, num = len(self.hosts), 0
        while len(new) < n:
            num += 1
            name = f"{prefix}-{num}"
            if name in taken:
                continue
            k += 1
            new.append(TestHost(
                name=name, address=f"{sp}.{10 + k}", port=22, user="root", key_file=self.client_key,
                known_hosts=self.known_hosts, netns=f"{br}-{name}", sshd_pid=0, host_key_fingerprint="",
                root=str(seg / name), password=self.password, veth=f"{br}h{k}", index=self.index,
            ))
        self.hosts.extend(new)
        lines = []
        for h in new:
            lines += [
                f"netns add {h.netns}",
                f"link add {h.veth} type veth peer name eth0 netns {h.netns}",
                f"link set {h.veth} master {br} up",
            ]
        _ip_batch(lines)
        files = self._machine_files()
        sftp = "/usr/lib/openssh/sftp-server" if os.access("/usr/lib/openssh/sftp-server", os.X_OK) else "internal-sftp"
        python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
        env = {"PATH": SBIN_PATH, "LANG": "C.UTF-8"}
        procs = {}
        for h in new:
            spec = self._prepare_host(h, files, sftp)
            log = open(Path(h.root) / "sshd.log", "wb")
            p = subprocess.Popen([python, "-I", "-S", str(INIT_SCRIPT), str(spec)], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=log, start_new_session=True, env=env)
            log.close()
            h.sshd_pid = p.pid
            procs[h.name] = p
            _CHILDREN[p.pid] = p
        self._procs.update(procs)
        _wait_listening(new, procs, timeout)
        return new

    def _write_known_hosts(self) -> None:
        if self.known_hosts:
            lines = [f"{h.address} {h.host_key}\n" for h in self.hosts if h.host_key]
            tmp = self.known_hosts + ".tmp"
            Path(tmp).write_text("".join(lines))
            os.replace(tmp, self.known_hosts)

    def _save_state(self) -> None:
        if self.index is None:
            return
        seg = _seg_dir(self.base, self.index)
        if not seg.exists():
            return
        state = {
            "index": self.index,
            "owner_pid": os.getpid(),
            "persistent": self.persistent,
            "client_key": self.client_key,
            "known_hosts": self.known_hosts,
            "password": self.password,
            "hosts": [dataclasses.asdict(h) for h in self.hosts],
        }
        tmp = seg / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, seg / "state.json")

    def _down_at_exit(self) -> None:
        if not self.persistent:
            try:
                self.down()
            except Exception:  # noqa: BLE001 - exiting anyway; the next run cleans leftovers
                pass

    def keep(self) -> None:
        """Leave the hosts running after this process exits (the CLI's ``up``)."""
        self.persistent = True
        self._save_state()

    def down(self) -> None:
        """Stop every host of this testbed and remove all its traces. Idempotent."""
        if self.index is not None:
            cleanup_index(self.index, self.base)
            for p in self._procs.values():
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                _CHILDREN.pop(p.pid, None)
            self._procs.clear()
        self.hosts = []
        self.index = None
        atexit.unregister(self._down_at_exit)
        if self._lock_fd is not None:
            try:
                os.unlink(_lock_path(self.base, self._lock_index))
            except FileNotFoundError:
                pass
            os.close(self._lock_fd)
            self._lock_fd = self._lock_index = None
        try:
            self.base.rmdir()  # only when empty
        except OSError:
            pass

    @staticmethod
    def down_all(base: str | Path = STATE_BASE, index: int | None = None, *,
                 keep_persistent: bool = False) -> list[int]:
        """Remove every testbed (or the one on ``index``) that no running process holds:
        hosts left by ``hosts.sh up`` (unless ``keep_persistent``) and leftovers of crashed runs.
        Returns the indexes cleaned."""
        base = Path(base)
        indexes = set()
        for n in _netns_names():
            m = re.match(rf"{BRIDGE_PREFIX}(\d+)-", n)
            if m:
                indexes.add(int(m.group(1)))
        for ln in _links():
            m = re.fullmatch(rf"{BRIDGE_PREFIX}(\d+)", ln)
            if m:
                indexes.add(int(m.group(1)))
        if base.exists():
            for p in base.iterdir():
                m = re.fullmatch(rf"{BRIDGE_PREFIX}(\d+)(\.lock)?", p.name)
                if m:
                    indexes.add(int(m.group(1)))
        if index is not None:
            indexes &= {index}
        cleaned = []
        for idx in sorted(indexes):
            if keep_persistent and (_read_state(base, idx) or {}).get("persistent"):
                continue
            fd = _try_lock(base, idx)
            if fd is None:
                continue
            try:
                cleanup_index(idx, base)
                try:
                    os.unlink(_lock_path(base, idx))
                except FileNotFoundError:
                    pass
            finally:
                os.close(fd)
            cleaned.append(idx)
        if not any(re.fullmatch(rf"{BRIDGE_PREFIX}\d+", ln) for ln in _links()):
            subprocess.run(["ip", "route", "del", "unreachable", GUARD_ROUTE], capture_output=True)
        try:
            base.rmdir()
        except OSError:
            pass
        return cleaned

    def __enter__(self) -> Testbed:
        return self

    def __exit__(self, *exc) -> None:
        self.down()


# -------------------------------------------------------------------------------------- CLI


def plan_snippet(hosts: list[TestHost]) -> str:
    out = ["hosts:"]
    for i, h in enumerate(hosts):
        roles = "[control-plane, etcd]" if i == 0 else "[worker]"
        out += [f"  - name: {h.name}", f"    address: {h.address}", f"    user: {h.user}",
                f"    key_file: {h.key_file}", f"    roles: {roles}"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.testbed.testhosts",
                                 description="SSH test hosts in network namespaces on this machine")
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up", help="bring up N hosts (replacing earlier ones on the same subnet)")
    u.add_argument("n", type=int)
    u.add_argument("--index", type=int, default=0, help="subnet index 0..511 (198.18.<index>.0/24)")
    u.add_argument("--prefix", default="th")
    d = sub.add_parser("down", help="remove test hosts not held by a running process")
    d.add_argument("--index", type=int, default=None, help="only this subnet index (default: all)")
    sub.add_parser("check", help="can test hosts be made here?")
    a = ap.parse_args(argv)
    if a.cmd == "check":
        ok, why = Testbed.available()
        print("ok" if ok else f"not available: {why}")
        return 0 if ok else 1
    if a.cmd == "down":
        cleaned = Testbed.down_all(index=a.index)
        print("removed testbed subnet(s): " + (", ".join(map(str, cleaned)) or "none"))
        return 0
    tb = Testbed()
    t0 = time.monotonic()
    try:
        hosts = tb.up(a.n, prefix=a.prefix, subnet_index=a.index, replace=True)
    except BaseException:
        tb.down()
        raise
    tb.keep()
    print(f"{len(hosts)} test host(s) up in {time.monotonic() - t0:.1f}s on {subnet_prefix(tb.index)}.0/24 "
          f"(bridge {BRIDGE_PREFIX}{tb.index})")
    print(f"client key: {tb.client_key}   known_hosts: {tb.known_hosts}")
    print(f"users: root (key), tester (key or password {tb.password}, sudo with password), nopw (key, sudo NOPASSWD)")
    for h in hosts:
        print(f"{h.name:8} {h.address:15} user={h.user} key={h.key_file}  {h.ssh_command()}")
    print("\nplan.yaml snippet:\n" + plan_snippet(hosts))
    print(f"\n(host keys are in {tb.known_hosts}: use it as the known_hosts file)")
    print("inside a host without SSH: nsenter -t $(cat "
          f"{hosts[0].root}/run/k8stb-keeper.pid) -n -m -u sh   |   remove: tests/testbed/hosts.sh down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
