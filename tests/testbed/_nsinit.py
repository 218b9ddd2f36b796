"""Init of one test host: run by testhosts.py as ``python3 -I -S _nsinit.py SPEC.marshal``.

Joins the host's network namespace, makes a private mount + UTS namespace, shadows the global
sysctls (and /proc/swaps, /proc/sysrq-trigger), lays the host's private directories over /etc,
/var, /usr, /opt, /srv, /boot (overlays), /root, /home, /tmp and /run (binds), forks a keeper
(``sleep infinity``: holds the namespaces so tests can nsenter even after sshd is killed), makes
/ read-only and finally execs sshd in the foreground. Its pid is sshd's.

Writes the host's files first (in parallel with the other hosts' inits). Standard library only,
few and cheap imports (a 100-host bring-up starts 100 of these), and every module is imported
before the first mount: the interpreter may live under /root (pyenv), covered by a fresh home.
"""

import ctypes
import marshal
import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(src, dst, fstype=None, flags=0, data=None) -> None:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    _check(_libc.mount(enc(src), enc(dst), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {src} on {dst}")


def umount2(path: str, flags: int) -> None:
    _check(_libc.umount2(path.encode(), flags), f"umount {path}")


def _write(path: str, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.chmod(path, mode)


def _placeholder(src: str, dst: str) -> None:
    if os.path.isdir(src):
        os.mkdir(dst)
    else:
        os.close(os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644))


def shadow_sysctls(snapshot: dict, staging: str) -> None:
    """Writable plain files over every global sysctl, with the machine's values."""
    mount("k8stb-sysctl", staging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700")
    n = 0

    def plain_file(value: str, mode: int) -> str:
        nonlocal n
        n += 1
        path = f"{staging}/{n}"
        _write(path, value, mode)
        return path

    # vm, fs, kernel, dev, abi, debug, user: one bind per writable entry
    for rel, mode, value in snapshot["global"]:
        target = "/proc/sys/" + rel
        if os.path.exists(target):
            mount(plain_file(value, mode), target, None, MS_BIND)

    # net: per network namespace, except what the kernel registers in the initial namespace only
    # (absent here: covered by a tmpfs with the real entries bound back and the missing ones added
    # as plain files) or makes read-only here (a plain file bound over it). testhosts.py plans it.
    for cover, entries in snapshot["net_covers"]:  # shallow first
        path = "/proc/sys/net" + ("/" + cover if cover else "")
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            real = os.listdir(f"/proc/self/fd/{fd}")
            mount("k8stb-sysctl", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0555")
            for name in real:
                src = f"/proc/self/fd/{fd}/{name}"
                _placeholder(src, f"{path}/{name}")
                mount(src, f"{path}/{name}", None, MS_BIND)
        finally:
            os.close(fd)
        for rel, is_dir, mode, value in entries:  # parents first
            target = "/proc/sys/net/" + rel
            if is_dir:
                os.mkdir(target, 0o555)
            else:
                _write(target, value, mode)
    for rel, mode, value in snapshot["net_readonly"]:
        mount(plain_file(value, mode), "/proc/sys/net/" + rel, None, MS_BIND)
    # not sysctls, yet global: swapoff -a would act on the machine's swap (the host has none),
    # and sysrq-trigger on the machine itself
    for name, value, mode in snapshot["proc_files"]:
        if os.path.exists("/proc/" + name):
            mount(plain_file(value, mode), "/proc/" + name, None, MS_BIND)


def _load(path: str):
    with open(path, "rb") as f:
        return marshal.load(f)


def _run(argv: list) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise OSError(f"{' '.join(argv)} failed (wait status {status})")


def write_files(spec: dict) -> None:
    for path, mode, uid, gid in spec["dirs"]:
        os.mkdir(path, 0o700)
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    for path, data, mode, uid, gid in spec["files"]:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data.encode() if isinstance(data, str) else data)
        finally:
            os.close(fd)
        os.chown(path, uid, gid)
        os.chmod(path, mode)


def main() -> None:
    spec = _load(sys.argv[1])
    snapshot = _load(spec["snapshot"])
    write_files(spec)

    fd = os.open(f"/run/netns/{spec['netns']}", os.O_RDONLY)
    _check(_libc.setns(fd, CLONE_NEWNET), "setns net")
    os.close(fd)
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWUTS), "unshare mount+uts")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    name = spec["hostname"].encode()
    _check(_libc.sethostname(name, len(name)), "sethostname")

    _run([spec["ip"], "-batch", spec["ip_batch"]])

    # this namespace's own sysfs (its interfaces only), read-only so no write can reach the machine
    umount2("/sys", MNT_DETACH)
    mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

    shadow_sysctls(snapshot, spec["staging"])

    for target, upper, work in spec["overlays"]:
        mount("k8stb-overlay", target, "overlay", 0, f"lowerdir={target},upperdir={upper},workdir={work}")
    for src, target in spec["binds"]:
        mount(src, target, None, MS_BIND)

    # last: the state directory (sources of the mounts above) lives under /run
    mount(spec["run"], "/run", None, MS_BIND)

    devnull = os.open("/dev/null", os.O_RDWR)
    keeper = os.fork()
    if keeper == 0:
        try:
            os.setsid()
            for i in (0, 1, 2):
                os.dup2(devnull, i)
            os.execv(spec["sleep"], [spec["sleep"], "infinity"])
        finally:
            os._exit(127)
    # the keeper's pid, for testhosts.py (which reads it from the state directory): written
    # through the /run bind, never through / (a writer there would make the next step EBUSY)
    _write("/run/.k8stb-keeper.tmp", f"{keeper}\n", 0o644)
    os.rename("/run/.k8stb-keeper.tmp", "/run/k8stb-keeper.pid")
    # the rest of the machine's root file system: read-only here (this mount namespace only)
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY)

    os.chdir("/")
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    os.execve(spec["sshd"], [spec["sshd"], "-D", "-e", "-f", "/etc/ssh/sshd_config"], env)


if __name__ == "__main__":
    try:
        main()
    except BaseException as e:  # noqa: BLE001 - reported in the host's sshd.log
        print(f"k8stb init failed: {type(e).__name__}: {e}", file=sys.stderr)
        raise SystemExit(1)
