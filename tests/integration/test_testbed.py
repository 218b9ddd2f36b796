"""The test-host fixture itself (tests/testbed/testhosts.py): real sshd per host, strict host keys,
sysctls and files that stay on the host, failure modes, teardown that leaves nothing behind."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

asyncssh = pytest.importorskip("asyncssh")

from tests.testbed.testhosts import STATE_BASE, Testbed, TestHost  # noqa: E402

pytestmark = pytest.mark.testhosts

# global keys (shared with the machine unless shadowed); the net.* ones are global on current
# kernels: absent (init-namespace only) or read-only in a new network namespace
GLOBAL_KEYS = [
    "vm.swappiness", "vm.overcommit_memory", "vm.panic_on_oom", "vm.max_map_count",
    "fs.file-max", "fs.inotify.max_user_instances", "fs.inotify.max_user_watches", "fs.aio-max-nr",
    "kernel.pid_max", "kernel.panic", "kernel.panic_on_oops", "kernel.softlockup_panic",
    "kernel.softlockup_all_cpu_backtrace", "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes",
    "net.netfilter.nf_conntrack_max", "net.nf_conntrack_max",
    "net.ipv4.neigh.default.gc_thresh1", "net.ipv4.neigh.default.gc_thresh2", "net.ipv4.neigh.default.gc_thresh3",
    "net.ipv6.neigh.default.gc_thresh1", "net.ipv6.neigh.default.gc_thresh2", "net.ipv6.neigh.default.gc_thresh3",
    "net.core.rmem_max", "net.core.wmem_max", "net.core.netdev_max_backlog", "net.ipv4.tcp_mem",
]


def machine_sysctl(key: str) -> str | None:
    try:
        return Path("/proc/sys", key.replace(".", "/")).read_text().strip()
    except OSError:
        return None


def other_value(key: str, value: str) -> str:
    """A value different from ``value`` that the kernel would accept too."""
    nums = value.split()
    if key.endswith(("panic_on_oom", "overcommit_memory")):
        return str((int(nums[0]) + 1) % 2)
    if len(nums) > 1:  # tcp_mem: three numbers
        return " ".join(str(int(n) + 1) for n in nums)
    n = int(nums[0])
    return str(n - 1 if n > 1000 else n + 1)


async def connect(h: TestHost, user: str | None = None, **kw):
    return await asyncssh.connect(**{**h.connect_kwargs(user), **kw})


async def ssh(h: TestHost, cmd: str, user: str | None = None, **kw) -> asyncssh.SSHCompletedProcess:
    async with await connect(h, user) as conn:
        return await conn.run(cmd, **kw)


# ------------------------------------------------------------------------------- SSH access


async def test_each_host_answers_over_ssh_with_strict_host_keys(testhosts3, tmp_path):
    names = set()
    for h in testhosts3:
        r = await ssh(h, "hostname; cat /proc/sys/net/core/somaxconn", check=True)
        hostname, somaxconn = r.stdout.split()
        assert hostname == h.name
        assert int(somaxconn) > 0
        names.add(hostname)
        assert h.address.startswith("198.18.") or h.address.startswith("198.19.")
    assert len(names) == 3
    # the fingerprint is the one ssh-keygen prints for the key in known_hosts
    out = subprocess.run(["ssh-keygen", "-lf", testhosts3[0].known_hosts], capture_output=True, text=True,
                         check=True).stdout
    for h in testhosts3:
        assert h.host_key_fingerprint.startswith("SHA256:")
        assert h.host_key_fingerprint in out
    # strict: another host's key under this address is refused
    a, b = testhosts3[0], testhosts3[1]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"{a.address} {b.host_key}\n")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await connect(a, known_hosts=str(wrong))


async def test_ssh_and_nsenter_see_the_same_host(testhosts3):
    h = testhosts3[1]
    r = await ssh(h, "cat /etc/hostname; ls /sys/class/net", check=True)
    assert r.stdout.split()[0] == h.name
    assert sorted(r.stdout.split()[1:]) == ["eth0", "lo"]
    assert h.run("hostname").stdout.strip() == h.name
    assert h.sysctl("net.core.somaxconn") == (await ssh(h, "cat /proc/sys/net/core/somaxconn")).stdout.strip()
    # routes on the machine: the host's /24 on its bridge, the rest of 198.18/15 unreachable
    assert f"dev k8stb{h.index}" in subprocess.run(["ip", "route", "get", h.address], capture_output=True,
                                                   text=True).stdout
    r = subprocess.run(["ip", "route", "get", "198.19.255.254"], capture_output=True, text=True)
    assert r.returncode != 0 or "unreachable" in r.stdout


# ---------------------------------------------------------------------------------- sysctls


async def test_net_sysctl_changes_only_that_host(testhosts3):
    a, b, _c = testhosts3
    machine_before = machine_sysctl("net.core.somaxconn")
    b_before = b.sysctl("net.core.somaxconn")
    new = "1234" if b_before != "1234" else "1235"
    r = await ssh(a, f"sysctl -w net.core.somaxconn={new} && sysctl -n net.core.somaxconn", check=True)
    assert r.stdout.split()[-1] == new
    assert a.sysctl("net.core.somaxconn") == new
    assert b.sysctl("net.core.somaxconn") == b_before
    assert machine_sysctl("net.core.somaxconn") == machine_before


async def test_global_sysctls_written_over_ssh_change_only_the_host(testhosts3):
    a, b, _c = testhosts3
    keys = [k for k in GLOBAL_KEYS if machine_sysctl(k) is not None]
    assert "vm.swappiness" in keys and "fs.file-max" in keys and "kernel.pid_max" in keys
    before = {k: machine_sysctl(k) for k in keys}
    new = {k: other_value(k, v) for k, v in before.items()}
    script = "\n".join(f"sysctl -w '{k}={v}' >/dev/null || echo FAILED {k}" for k, v in new.items())
    async with await connect(a) as conn:
        r = await conn.run(script)
        assert "FAILED" not in r.stdout, r.stdout + r.stderr
        # read back over SSH too (sysctl -n), not only through nsenter
        r = await conn.run("sysctl -n " + " ".join(keys), check=True)
    host_vals = r.stdout.splitlines()
    after = {k: machine_sysctl(k) for k in keys}
    problems = []
    for k, hv in zip(keys, host_vals):
        if " ".join(hv.split()) != new[k]:
            problems.append(f"{k}: host reads {hv!r}, wrote {new[k]!r}")
        if after[k] != before[k]:
            problems.append(f"{k}: THE MACHINE changed {before[k]!r} -> {after[k]!r}")
        bv = b.sysctl(k)
        if " ".join(bv.split()) != " ".join(before[k].split()):
            problems.append(f"{k}: the other host changed to {bv!r}")
    assert not problems, "\n".join(problems)


async def test_sysctl_files_p_and_system_stay_on_the_host(testhosts3):
    a, b, _c = testhosts3
    keys = ["vm.max_map_count", "kernel.panic", "kernel.pid_max", "fs.protected_regular", "vm.swappiness"]
    keys = [k for k in keys if machine_sysctl(k) is not None]
    before = {k: machine_sysctl(k) for k in keys}
    conf = "/etc/sysctl.d/90-k8s-tui-testbed-probe.conf"
    assert not Path(conf).exists()
    text = "vm.max_map_count = 262145\nkernel.panic = 17\n"
    async with await connect(a) as conn:
        await conn.run(f"cat > {conf}", input=text, check=True)
        r = await conn.run(f"sysctl -p {conf}", check=True)
        assert "kernel.panic = 17" in r.stdout
        # --system reads this host's /etc, /run, /usr/lib/sysctl.d... and may write anything
        await conn.run("sysctl --system", check=True)
        r = await conn.run("sysctl -n vm.max_map_count kernel.panic", check=True)
        assert r.stdout.split() == ["262145", "17"]
        for path, data in [("/etc/modules-load.d/k8s-tui-probe.conf", "br_netfilter\n"),
                           ("/etc/fstab", "# swap removed by a test\n")]:
            await conn.run(f"cat > {path}", input=data, check=True)
        assert (await conn.run("cat /etc/fstab")).stdout == "# swap removed by a test\n"
    assert a.path(conf).read_text() == text
    assert not Path(conf).exists(), "a test host wrote the machine's /etc/sysctl.d"
    assert not Path("/etc/modules-load.d/k8s-tui-probe.conf").exists()
    assert Path("/etc/fstab").read_text() != "# swap removed by a test\n"
    assert b.run(["test", "-e", conf]).returncode != 0
    assert {k: machine_sysctl(k) for k in keys} == before
    assert b.sysctl("kernel.panic") == before["kernel.panic"]


# ------------------------------------------------------------------------- private files


async def test_files_and_standins_are_private_to_the_host(testhosts3):
    a, b, _c = testhosts3
    had = Path("/usr/local/bin/kubeadm").exists()
    path = a.install_standin("kubeadm", "#!/bin/sh\necho \"stand-in kubeadm $*\"\n")
    assert path == "/usr/local/bin/kubeadm"
    probes = ["/etc/k8s-tui-probe", "/var/lib/k8s-tui-probe", "/root/k8s-tui-probe", "/tmp/k8s-tui-probe",
              "/usr/local/lib/k8s-tui-probe"]
    async with await connect(a) as conn:
        r = await conn.run("kubeadm version", check=True)
        assert r.stdout == "stand-in kubeadm version\n"
        for p in probes:
            await conn.run(f"echo {a.name} > {p}", check=True)
    for p in probes:
        assert a.path(p).read_text() == f"{a.name}\n"
        assert not Path(p).exists(), f"{p} reached the machine"
        assert b.run(["test", "-e", p]).returncode != 0, f"{p} reached another host"
    assert Path("/usr/local/bin/kubeadm").exists() == had
    r = await ssh(b, "command -v kubeadm || echo none")
    assert r.stdout.strip() != "/usr/local/bin/kubeadm" or had


# -------------------------------------------------------------------------- failure modes


async def test_kill_sshd_refuses_new_connections(testhosts3):
    h, other, _c = testhosts3
    assert (await ssh(h, "echo up")).stdout == "up\n"
    h.kill_sshd()
    with pytest.raises(OSError):
        await asyncio.wait_for(connect(h), 10)
    assert h.run("hostname").stdout.strip() == h.name  # the host itself lives on
    assert (await ssh(other, "echo fine")).stdout == "fine\n"
    h.start_sshd()
    assert (await ssh(h, "echo again")).stdout == "again\n"


async def test_link_down_stalls_an_open_connection(testhosts3):
    h = testhosts3[0]
    conn = await connect(h)
    try:
        assert (await conn.run("echo before")).stdout == "before\n"
        h.link_down()
        try:
            with pytest.raises((asyncio.TimeoutError, TimeoutError)):
                await asyncio.wait_for(conn.run("echo stalled"), 2)
            with pytest.raises((asyncio.TimeoutError, TimeoutError, OSError)):
                await asyncio.wait_for(connect(h), 2)
        finally:
            h.link_up()
        r = await asyncio.wait_for(conn.run("echo after"), 30)
        assert r.stdout == "after\n"
    finally:
        conn.close()


# ----------------------------------------------------------------------- users and sudo


async def test_password_login_and_sudo(testhosts3):
    h = testhosts3[0]
    pw_opts = {"client_keys": None, "password": h.password, "preferred_auth": "password"}
    async with await connect(h, "tester", **pw_opts) as conn:
        assert (await conn.run("id -un", check=True)).stdout == "tester\n"
        if shutil.which("sudo") is None:
            pytest.skip("sudo is not installed on this machine (apt-get install -y sudo)")
        r = await conn.run("sudo -S -p '' id -u", input=h.password + "\n")
        assert (r.exit_status, r.stdout) == (0, "0\n"), r.stderr
        r = await conn.run("sudo -n id -u")
        assert r.exit_status != 0 and "password is required" in r.stderr
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(h, "tester", **{**pw_opts, "password": "not-the-password"})
    with pytest.raises(asyncssh.PermissionDenied):  # root: key only
        await connect(h, "root", **pw_opts)
    async with await connect(h, "nopw") as conn:
        assert (await conn.run("id -un; sudo -n id -u", check=True)).stdout == "nopw\n0\n"
    async with await connect(h, "tester") as conn:  # the client key works for tester too
        assert (await conn.run("id -un", check=True)).stdout == "tester\n"


# ------------------------------------------------------------------------------ scale


async def test_twenty_hosts_come_up_and_answer_in_parallel(testbed):
    t0 = time.monotonic()
    hosts = testbed(20)
    took = time.monotonic() - t0
    try:
        assert len({h.address for h in hosts}) == 20
        outs = await asyncio.gather(*(ssh(h, "hostname", check=True) for h in hosts))
        assert [o.stdout.strip() for o in outs] == [h.name for h in hosts]
        print(f"20 hosts up in {took:.1f}s")
    finally:
        testbed.release(hosts)


# ----------------------------------------------------------------------------- teardown


def _traces(index: int) -> dict:
    br = f"k8stb{index}"
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return {
        "netns": [n for n in (os.listdir("/run/netns") if os.path.isdir("/run/netns") else [])
                  if n.startswith(br + "-")],
        "links": re.findall(rf"^\d+: ({br}(?:h\d+)?)[@:]", links, re.M),
        "state": (STATE_BASE / br).exists(),
    }


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_down_removes_everything_and_is_idempotent(testbed):
    tb = Testbed()
    hosts = tb.up(2, subnet_index=None)
    index = tb.index
    pids = [p for h in hosts for p in (h.sshd_pid, h.keeper_pid)]
    assert all(_alive(p) for p in pids)
    assert _traces(index)["netns"]
    tb.down()
    assert _traces(index) == {"netns": [], "links": [], "state": False}
    assert not any(_alive(p) for p in pids)
    assert not Path(hosts[0].key_file).exists()
    tb.down()  # again: nothing to do, no error


def test_leftovers_of_a_crashed_run_are_cleaned(testbed):
    crashed = Testbed()
    old = crashed.up(1, subnet_index=None)[0]
    index = crashed.index
    os.close(crashed._lock_fd)  # as if the process died: lock gone, hosts left behind
    crashed._lock_fd = None
    tb = Testbed()
    try:
        new = tb.up(1, subnet_index=index)[0]
        assert not _alive(old.sshd_pid) and not _alive(old.keeper_pid)
        assert new.address == old.address and new.host_key != old.host_key
        assert new.run("hostname").stdout.strip() == new.name
    finally:
        tb.down()
    assert _traces(index) == {"netns": [], "links": [], "state": False}


def test_available_says_why_not(monkeypatch):
    ok, why = Testbed.available()
    assert isinstance(ok, bool) and isinstance(why, str)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    ok, why = Testbed.available()
    assert not ok and "root" in why
