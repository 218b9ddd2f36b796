"""The built-in demo: made-up hosts and made-up probe results, so every screen has something to show.

Addresses are from TEST-NET-1 (192.0.2.0/24, RFC 5737), which never routes anywhere. The demo's
fault plan (``DEMO_FAULTS``) makes ``worker-2`` fail once its steps start changing things, so a run
shows a failure; ``worker-3`` runs an old kernel, so "mixed" values and keys left out show up. The
probe and the run share one executor (``demo_executor``), so both see the same hosts.

The story a full demo run tells: cp-1 and worker-1 install; worker-2's disk turned read-only (the
stated fault: retry fails the same way, so skip it); kubeadm's preflight refuses worker-3 (kernel
4.19 cannot run kube-proxy's nftables mode: the error names the fix). Verify on cp-1 then says
which nodes are not in the cluster and to skip them; once skipped it passes without them, and the
summary shows the kubeconfig and the hosts left out. Every output line follows the plan (the
module probe answers for the modules the plan's proxy mode asks for: no ip_vs under nftables).
"""

from __future__ import annotations

from ..knowledge import KernelVersion, load_catalogue, parse_value
from ..knowledge.values import ValueError_
from ..model.hosts import Host, Role
from ..model.plan import ClusterPlan
from ..engine.faults import Fault, FaultPlan
from ..yamlio import InputError
from .state import HostProbe, WizardState

DEMO_HOSTS = [
    Host(name="cp-1", address="192.0.2.10", user="admin", key_file="~/.ssh/id_ed25519", roles=[Role.control_plane, Role.etcd]),
    Host(name="worker-1", address="192.0.2.21", user="admin", key_file="~/.ssh/id_ed25519", roles=[Role.worker]),
    Host(name="worker-2", address="192.0.2.22", user="admin", key_file="~/.ssh/id_ed25519", roles=[Role.worker]),
    Host(name="worker-3", address="192.0.2.23", port=2222, user="admin", key_file="~/.ssh/id_ed25519", roles=[Role.worker]),
]

# the demo's one failure, stated here (a dry run never reads outcomes from host names)
DEMO_FAULTS = FaultPlan({"worker-2": Fault(fail=True)})

DEMO_FACTS = {
    "cp-1": dict(kernel="6.1.0-18-amd64", os="Debian 12", cpus=4, memory_mb=8192, swap_mb=0, runtime="containerd 1.6.20"),
    "worker-1": dict(kernel="6.8.0-45-generic", os="Ubuntu 24.04", cpus=8, memory_mb=16384, swap_mb=0, runtime="containerd 1.7.12"),
    "worker-2": dict(kernel="6.1.0-18-amd64", os="Debian 12", cpus=8, memory_mb=16384, swap_mb=2048, runtime=None),
    "worker-3": dict(kernel="4.19.0-26-amd64", os="Debian 10", cpus=2, memory_mb=4096, swap_mb=1024, runtime="containerd 1.4.13"),
}

# values a real host might have drifted to (left by docker, an old kube-proxy, an admin)
DEMO_DRIFT = {
    "cp-1": {"net.ipv4.ip_forward": 1, "net.netfilter.nf_conntrack_max": 131072, "vm.swappiness": 10},
    "worker-1": {"net.ipv4.ip_forward": 1, "net.netfilter.nf_conntrack_max": 262144},
    "worker-2": {},
    "worker-3": {"net.ipv4.ip_forward": 1, "fs.inotify.max_user_watches": 524288},
}


DEMO_PRESET = "kubeasz-3.7.0"  # a preset with enough keys that every screen has something to show


def demo_plan() -> ClusterPlan:
    return ClusterPlan(name="demo", hosts=list(DEMO_HOSTS), preset=DEMO_PRESET)


def demo_probes(keys: list[str] | None = None) -> dict[str, HostProbe]:
    """Made-up probe results for every demo host and every key in the catalogue."""
    try:
        cat = load_catalogue()
    except InputError:
        cat = None
    out = {}
    for h in DEMO_HOSTS:
        facts = DEMO_FACTS[h.name]
        probe = HostProbe(**facts)
        kernel = probe.kernel_version
        if cat is not None and kernel is not None:
            for e in cat:
                if keys is not None and e.key not in keys:
                    continue
                if (e.added_in and kernel < KernelVersion.parse(e.added_in)) or (
                    e.removed_in and kernel >= KernelVersion.parse(e.removed_in)
                ):
                    probe.sysctls[e.key] = None
                    continue
                raw = DEMO_DRIFT[h.name].get(e.key, e.default_for(kernel))
                try:
                    probe.sysctls[e.key] = parse_value(e, raw)
                except ValueError_:  # computed at boot ("scales with RAM"): what the demo's dry run reads
                    from ..engine.dryrun import default_live_value
                    from ..knowledge.values import parse_proc_value

                    probe.sysctls[e.key] = parse_proc_value(e, default_live_value(e.key))
        out[h.name] = probe
    return out


def demo_state() -> WizardState:
    state = WizardState(demo_plan(), demo=True)
    state.probes = demo_probes()
    return state


def _demo_facts_lines(name: str, keys: list[str]) -> list[tuple[str, str]] | None:
    """What the facts script would print on a demo host (the made-up facts above), or None for a
    host the demo does not know."""
    from ..knowledge import format_value

    facts = DEMO_FACTS.get(name)
    if facts is None:
        return None
    probe = demo_probes(keys).get(name)
    os_name = facts["os"] or ""
    os_id, _, version = os_name.partition(" ")
    out = [
        f'os.PRETTY_NAME="{os_name}"',
        f"os.ID={os_id.lower()}",
        f'os.VERSION_ID="{version}"',
        f"kernel={facts['kernel']}",
        "arch=x86_64",
        f"hostname={name}",
        f"cpus={facts['cpus']}",
        f"mem_kb={facts['memory_mb'] * 1024}",
    ]
    if facts["swap_mb"]:
        out.append(f"swap=/swap.img file {facts['swap_mb'] * 1024}")
    runtime = facts["runtime"]
    out.append("kubelet_active=inactive")
    out.append(f"containerd_active={'active' if runtime else 'inactive'}")
    if runtime:
        v = runtime.split()[-1]
        out.append(f"containerd_version=containerd github.com/containerd/containerd {v} {v}")
    else:
        out.append("missing=containerd")
    out += ["missing=kubeadm", "missing=kubelet", "missing=kubectl", "pkgmgr=apt-get",
            'listen=0.0.0.0:22 users:(("sshd",pid=612,fd=3))']
    for key in keys:
        if probe is None or key not in probe.sysctls:
            continue  # the demo does not state it: not read
        v = probe.sysctls[key]
        out.append(f"sysctl_missing={key}" if v is None else f"sysctl.{key}=" + "\t".join(format_value(v).split()))
    out.append("end=1")
    return [("stdout", line) for line in out]


def demo_executor(speed: float = 1.0, faults: FaultPlan | None = None):
    """The demo's dry run, for its probe and its run alike: the kubeadm path's simulation, and a
    facts script that answers with the demo's made-up facts, so a probe in the demo finds what
    the screens already show. Hosts take a little while each (speed 0: instantly). ``faults``
    defaults to ``DEMO_FAULTS``."""
    from ..backends.kubeadm.dryrun import KubeadmDryRunExecutor

    class DemoExecutor(KubeadmDryRunExecutor):
        def sim(self, name):
            fresh = name not in self._hosts
            s = super().sim(name)
            facts = DEMO_FACTS.get(name)
            if fresh and facts and facts["swap_mb"]:  # the swap the facts report is there to turn off
                s.files["/proc/swaps"] = (SWAPS_HEADER + f"/swap.img{' ' * 31}file\t\t{facts['swap_mb'] * 1024}\t\t0\t\t-2\n").encode()
                s.files["/etc/fstab"] = b"UUID=2f1c0c52 / ext4 errors=remount-ro 0 1\n/swap.img none swap sw 0 0\n"
            return s

        def _answer(self, host, sim, argv, stdin):
            if argv[:2] == ["sh", "-c"] and len(argv) > 3 and argv[3] == "k8s-tui-facts":
                lines = _demo_facts_lines(host.name, list(argv[4:]))
                if lines is not None:
                    order = list(DEMO_FACTS).index(host.name)
                    return lines, 0, (0.6 + 0.5 * order) / len(lines)
            if argv == ["swapoff", "-a"]:
                sim.files["/proc/swaps"] = SWAPS_HEADER.encode()
                return [], 0, 0.0
            return super()._answer(host, sim, argv, stdin)

    kernels = {name: f["kernel"] for name, f in DEMO_FACTS.items()}
    return DemoExecutor(speed=speed, kernels=kernels, faults=DEMO_FAULTS if faults is None else faults)


SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"

