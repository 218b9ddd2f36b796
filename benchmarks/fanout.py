"""Fan-out benchmark: one sysctl stage on N real SSH test hosts, our engine against ansible-playbook.

    python benchmarks/fanout.py --hosts 50            # needs root (network namespaces)
    python benchmarks/fanout.py --hosts 5 --skip-ansible

The stage, the same on both sides, per host: read the current value of 10 keys, back up the old
/etc/sysctl.d file, write the new one atomically, load it with ``sysctl -p FILE``, read every value
back and compare. Every run starts cold (new connections), on hosts reset to their state before the
first run. Prints each wall time and the ratios; the last line is JSON:
{"hosts", "ours_s", "ansible_f5_s", "ansible_fN_s", "ratio_f5", "ratio_fN", ...}.

Installs nothing: without ansible-playbook it says how to get it (or use --skip-ansible).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from k8s_tui.engine.executor import ExecOptions  # noqa: E402
from k8s_tui.engine.ssh import SshExecutor  # noqa: E402
from k8s_tui.model.hosts import Host  # noqa: E402

FILE_NAME = "90-k8s-tui-bench.conf"
FILE = f"/etc/sysctl.d/{FILE_NAME}"
# per network namespace keys: a test host changes only itself
VALUES: dict[str, int | tuple[int, ...]] = {
    "net.core.somaxconn": 32768,
    "net.ipv4.tcp_max_syn_backlog": 8096,
    "net.ipv4.ip_forward": 1,
    "net.ipv4.tcp_fin_timeout": 15,
    "net.ipv4.tcp_keepalive_time": 600,
    "net.ipv4.tcp_keepalive_intvl": 30,
    "net.ipv4.tcp_keepalive_probes": 10,
    "net.ipv4.tcp_tw_reuse": 1,
    "net.ipv4.ip_local_port_range": (1024, 65000),
    "net.ipv4.tcp_slow_start_after_idle": 0,
}
KEYS = list(VALUES)


def fmt(v) -> str:
    return " ".join(str(x) for x in v) if isinstance(v, tuple) else str(v)


CONTENT = "".join(f"{k} = {fmt(v)}\n" for k, v in VALUES.items())
EXPECTED_TOKENS = [tok for v in VALUES.values() for tok in fmt(v).split()]


def log(msg: str) -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------------------- ours


def to_host(th) -> Host:
    return Host(name=th.name, address=th.address, port=th.port, user=th.user, key_file=th.key_file)


async def ours_runner(test_hosts) -> tuple[str, bool]:
    from k8s_tui.engine.runner import RunPlan, Runner, Stage
    from k8s_tui.hostprep.sysctl import SysctlStep

    hosts = [to_host(th) for th in test_hosts]
    opts = ExecOptions(known_hosts=test_hosts[0].known_hosts, max_concurrent_hosts=max(64, len(hosts)))
    ex = SshExecutor(opts)
    try:
        plan = RunPlan([Stage("sysctl", [SysctlStep(dict(VALUES), FILE_NAME)])])
        runner = Runner(None, plan, ex, hosts=hosts, options=opts, journal=False)
        done = await runner.run()
    finally:
        await ex.close()
    bad = {h: s for h, s in done.summary.items() if s.get("status") not in ("ok", "changed")}
    if bad:
        for h, s in list(bad.items())[:5]:
            log(f"  {h}: {s.get('status')}: {s.get('message')}")
    return "k8s_tui Runner + hostprep.sysctl.SysctlStep over SshExecutor", not bad


async def ours_direct(test_hosts) -> tuple[str, bool]:
    """The same stage written straight on the executor (when the runner or the step is missing)."""
    hosts = [to_host(th) for th in test_hosts]
    ex = SshExecutor(ExecOptions(known_hosts=test_hosts[0].known_hosts, max_concurrent_hosts=max(64, len(hosts))))

    async def one(h: Host) -> bool:
        before = await ex.run(h, ["sysctl", "-n", *KEYS], check=True)
        assert len(before.stdout.split("\n")) >= len(KEYS)
        await ex.write_file(h, FILE, CONTENT.encode(), backup_dir="/var/lib/k8s-tui/backup/bench")
        await ex.run(h, ["sysctl", "-p", FILE], check=True)
        after = await ex.run(h, ["sysctl", "-n", *KEYS], check=True)
        return after.stdout.split() == EXPECTED_TOKENS

    try:
        res = await asyncio.gather(*(one(h) for h in hosts), return_exceptions=True)
    finally:
        await ex.close()
    bad = [(h.name, r) for h, r in zip(hosts, res) if r is not True]
    for name, r in bad[:5]:
        log(f"  {name}: {r!r}")
    return "SshExecutor directly (no engine runner / SysctlStep)", not bad


def engine_available() -> bool:
    try:
        import k8s_tui.engine.runner  # noqa: F401
        import k8s_tui.hostprep.sysctl  # noqa: F401
    except ImportError:
        return False
    return True


def run_ours(test_hosts, direct: bool = False) -> tuple[float, str, bool, float]:
    fn = ours_direct if direct or not engine_available() else ours_runner
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    how, ok = asyncio.run(fn(test_hosts))
    took = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return took, how, ok, cpu


# -------------------------------------------------------------------------------------- ansible

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  vars:
    sysctl_file: {file}
    sysctl_keys: {keys}
    expected: {expected}
  tasks:
    - name: read the current values
      command: sysctl -n {{{{ sysctl_keys | join(' ') }}}}
      register: before
      changed_when: false
    - name: write the sysctl file (backing up the old one)
      copy:
        dest: "{{{{ sysctl_file }}}}"
        content: {content}
        mode: "0644"
        owner: root
        group: root
        backup: true
    - name: load it
      command: sysctl -p {{{{ sysctl_file }}}}
    - name: read the values back
      command: sysctl -n {{{{ sysctl_keys | join(' ') }}}}
      register: after
      changed_when: false
    - name: compare
      assert:
        that: after.stdout.split() == expected
        quiet: true
"""


def ansible_files(test_hosts, work: Path) -> tuple[Path, Path, Path]:
    th0 = test_hosts[0]
    inv = work / "inventory.ini"
    inv.write_text(
        "[bench]\n"
        + "".join(f"{th.name} ansible_host={th.address} ansible_port={th.port}\n" for th in test_hosts)
        + "\n[all:vars]\n"
        + f"ansible_user={th0.user}\n"
        + f"ansible_ssh_private_key_file={th0.key_file}\n"
        + "ansible_python_interpreter=/usr/bin/python3\n"
        + f"ansible_ssh_common_args='-o UserKnownHostsFile={th0.known_hosts} -o StrictHostKeyChecking=yes "
        + "-o IdentitiesOnly=yes'\n"
    )
    pb = work / "sysctl.yml"
    pb.write_text(PLAYBOOK.format(file=FILE, keys=json.dumps(KEYS), expected=json.dumps(EXPECTED_TOKENS),
                                  content=json.dumps(CONTENT)))
    cfg = work / "ansible.cfg"
    cfg.write_text(
        "[defaults]\nhost_key_checking = True\nretry_files_enabled = False\nnocows = True\n"
        "interpreter_python = /usr/bin/python3\n"
        f"local_tmp = {work}/local-tmp\n"
        "[ssh_connection]\n"
        # ansible's defaults (ControlMaster=auto, ControlPersist=60s): connections are shared
        # within one run; each run gets a fresh control directory and its masters are closed after
        # it, so every run starts cold, as ours does
        "ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s\n"
    )
    return inv, pb, cfg


_GROUPS: list[int] = []  # process group of an ansible run in progress, ended on the way out


def end_children(work: Path) -> None:
    for pgid in _GROUPS:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)
    close_masters(work)


def close_masters(control_dir: Path) -> None:
    """Close the run's SSH control masters; then end any ssh still naming this directory (a master
    that was starting when ansible was interrupted)."""
    if control_dir.exists():
        for sock in control_dir.glob("**/*"):
            if not sock.is_socket():
                continue
            subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "bench"], capture_output=True)
    needle = str(control_dir).encode()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if needle in f.read():
                    os.kill(int(d), signal.SIGTERM)
        except OSError:
            pass


def run_ansible(test_hosts, forks: int, work: Path) -> tuple[float, bool, float, str]:
    inv, pb, cfg = ansible_files(test_hosts, work)
    control = Path(tempfile.mkdtemp(prefix="cp-", dir=work))
    env = dict(os.environ, ANSIBLE_CONFIG=str(cfg), ANSIBLE_SSH_CONTROL_PATH_DIR=str(control),
               ANSIBLE_FORKS=str(forks), ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="False")
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # its own process group, so that an interrupt ends ansible's forked workers too
    p = subprocess.Popen(["ansible-playbook", "-i", str(inv), str(pb), "--forks", str(forks)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _GROUPS.append(p.pid)
    try:
        out, err = p.communicate()
        _GROUPS.remove(p.pid)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise
    finally:
        took = time.perf_counter() - t0
        close_masters(control)
    r = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    ok = r.returncode == 0
    tail = "" if ok else (r.stdout[-1500:] + r.stderr[-1500:])
    return took, ok, cpu, tail


# ------------------------------------------------------------------------------------ the hosts


def snapshot(test_hosts) -> dict[str, str]:
    def one(th):
        return th.name, th.run(["sysctl", "-n", *KEYS], check=True).stdout

    with ThreadPoolExecutor(16) as pool:
        return dict(pool.map(one, test_hosts))


def reset(test_hosts, before: dict[str, str]) -> None:
    """Put every host back as it was before the first run (file gone, old values live)."""

    def one(th):
        vals = before[th.name].rstrip("\n").split("\n")
        sets = [f"{k}={' '.join(v.split())}" for k, v in zip(KEYS, vals)]
        th.run(["sh", "-c", 'rm -f "$1" "$1".*~; shift; sysctl -q -w "$@"', "sh", FILE, *sets], check=True)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, test_hosts))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=50, help="number of test hosts (default 50)")
    ap.add_argument("--skip-ansible", action="store_true", help="measure our engine only")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each; the best is reported")
    args = ap.parse_args()

    from tests.testbed.testhosts import Testbed

    ok, why = Testbed.available()
    if not ok:
        log(f"cannot make test hosts here: {why}")
        return 2
    if not args.skip_ansible and not shutil.which("ansible-playbook"):
        log("ansible-playbook is not installed. Install it with:  pip install ansible-core\n"
            "or measure our engine alone with --skip-ansible")
        return 2

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    tb = Testbed()
    work = Path(tempfile.mkdtemp(prefix="k8s-tui-fanout-"))
    n = args.hosts
    result: dict = {"hosts": n}
    try:
        t0 = time.perf_counter()
        hosts = tb.up(n, subnet_index=None, prefix="bench", timeout=max(60, n * 2))
        log(f"{n} test hosts up in {time.perf_counter() - t0:.1f} s")
        before = snapshot(hosts)

        ours = []
        for _ in range(args.repeat):
            reset(hosts, before)
            took, how, good, cpu = run_ours(hosts)
            ours.append(took)
            log(f"ours ({how}): {took:.2f} s, {cpu:.2f} CPU-s{'' if good else '  FAILED on some hosts'}")
            if not good:
                return 1
        result["ours_s"] = round(min(ours), 3)
        result["ours_engine"] = how
        if engine_available():  # for reference: the same stage written straight on the executor
            direct = []
            for _ in range(args.repeat):
                reset(hosts, before)
                took, how_d, good, cpu = run_ours(hosts, direct=True)
                direct.append(took)
                log(f"for reference, the executor alone (4 commands a host instead of the step's 6): {took:.2f} s, {cpu:.2f} CPU-s")
            result["ours_direct_s"] = round(min(direct), 3)

        if not args.skip_ansible:
            for forks, label in ((5, "f5"), (n, "fN")):
                times = []
                for _ in range(args.repeat):
                    reset(hosts, before)
                    took, good, cpu, tail = run_ansible(hosts, forks, work)
                    times.append(took)
                    log(f"ansible-playbook forks={forks}: {took:.2f} s, controller {cpu:.1f} CPU-s"
                        f"{'' if good else '  FAILED'}")
                    if not good:
                        log(tail)
                        return 1
                result[f"ansible_{label}_s"] = round(min(times), 3)
                result[f"ratio_{label}"] = round(min(times) / result["ours_s"], 1)
            log(f"ours is {result['ratio_f5']}x faster than ansible forks=5 and "
                f"{result['ratio_fN']}x faster than forks={n}")
        else:
            result.update(ansible_f5_s=None, ansible_fN_s=None, ratio_f5=None, ratio_fN=None)
        reset(hosts, before)
    except KeyboardInterrupt:
        log("interrupted: tearing the test hosts down")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not stop the teardown
        end_children(work)
        tb.down()
        shutil.rmtree(work, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
