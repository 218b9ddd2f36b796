"""Preflight: what the facts of all hosts say about the plan, before anything changes.

``preflight_report(plan, facts_by_host)`` is a pure function: a list of ``Finding`` (fatal errors
and warnings, each with how to fix it). ``PreflightStep`` runs in the stage after facts, when
every host's facts are in the run-wide store; on each host it shows that host's findings (and the
plan-wide ones) and fails the host on any error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..engine.steps import Step, StepContext, StepFailed, StepResult
from ..knowledge import KernelVersion, load_catalogue
from .facts import FactsStore, HostFacts, version_tuple
from .modules import modules_for

if TYPE_CHECKING:
    from ..model.plan import ClusterPlan

Severity = Literal["error", "warning"]

CONTROL_PLANE_PORTS = (6443, 2379, 2380, 10250, 10257, 10259)
WORKER_PORTS = (10250,)
MIN_CPUS = 2
MIN_MEMORY_MB = 1700
MIN_KERNEL = KernelVersion(4, 19)
NFTABLES_KERNEL = KernelVersion(5, 13)  # kube-proxy's nftables mode (kubespray asserts the same)
# process names that hold the Kubernetes ports on a node
KUBE_PROCESSES = ("kube-apiserver", "etcd", "kubelet", "kube-controller", "kube-scheduler", "kube-proxy")

# os id -> (lowest VERSION_ID, shown name)
SUPPORTED_OS: dict[str, tuple[tuple[int, ...], str]] = {
    "debian": ((11,), "Debian 11"),
    "ubuntu": ((20, 4), "Ubuntu 20.04"),
    "rhel": ((8,), "RHEL 8"),
    "rocky": ((8,), "Rocky Linux 8"),
    "almalinux": ((8,), "AlmaLinux 8"),
    "centos": ((8,), "CentOS Stream 8"),
    "ol": ((8,), "Oracle Linux 8"),
    "fedora": ((39,), "Fedora 39"),
}
# MACs and UUIDs that are placeholders, not identities
_PLACEHOLDER_UUIDS = {"", "00000000-0000-0000-0000-000000000000", "03000200-0400-0500-0006-000700080009",
                      "ffffffff-ffff-ffff-ffff-ffffffffffff", "not settable", "not specified"}


@dataclass(frozen=True)
class Finding:
    host: str | None  # None: about the plan or all hosts
    severity: Severity
    code: str
    message: str
    fix: str

    def line(self) -> str:
        where = f"{self.host}: " if self.host else ""
        return f"{self.severity.upper()} {where}{self.message} -- fix: {self.fix}"


def _os_version(text: str) -> tuple[int, ...] | None:
    parts = []
    for p in text.split("."):
        if not p.isdigit():
            break
        parts.append(int(p))
    return tuple(parts) or None


def _dupes(values: dict[str, str]) -> dict[str, list[str]]:
    """value -> hosts sharing it (only values held by two or more hosts)."""
    by: dict[str, list[str]] = {}
    for host, v in values.items():
        by.setdefault(v, []).append(host)
    return {v: hs for v, hs in by.items() if len(hs) > 1}


def _check_os(f: HostFacts) -> list[Finding]:
    out: list[Finding] = []
    supported = ", ".join(f"{name}+" for _, name in SUPPORTED_OS.values())
    entry = SUPPORTED_OS.get(f.os_id)
    if entry is None:
        kin = next((i for i in f.os_like if i in SUPPORTED_OS), None)
        if kin is not None and f.family != "other":
            out.append(Finding(f.host, "warning", "os-derivative",
                               f"{f.os_name or f.os_id} is not on the tested list; treated as {kin} ({f.family} packages)",
                               f"if a step fails, use one of: {supported}"))
            return out
        out.append(Finding(f.host, "error", "os-unsupported",
                           f"unsupported operating system {f.os_name or f.os_id or '(no /etc/os-release)'}",
                           f"use one of: {supported}"))
        return out
    lowest, name = entry
    have = _os_version(f.os_version)
    if have is not None and have < lowest:
        out.append(Finding(f.host, "error", "os-too-old", f"{f.os_name or f.os_id} is older than {name}",
                           f"upgrade to {name} or later (pkgs.k8s.io packages and containerd need it)"))
    return out


def _check_kernel(plan: ClusterPlan, f: HostFacts, tuned: list[str]) -> list[Finding]:
    out: list[Finding] = []
    k = f.kernel
    if k is None:
        out.append(Finding(f.host, "warning", "kernel-unknown", f"cannot tell the kernel version from {f.kernel_release!r}",
                           "check `uname -r` on the host"))
        return out
    if k < MIN_KERNEL:
        out.append(Finding(f.host, "error", "kernel-too-old", f"kernel {k} is older than {MIN_KERNEL}, the oldest kubeadm supports",
                           "upgrade the kernel (the distribution's current kernel is new enough)"))
    mode = plan.kube_proxy_mode.value
    if mode == "nftables" and k < NFTABLES_KERNEL:
        out.append(Finding(f.host, "error", "kernel-nftables",
                           f"kernel {k} is older than {NFTABLES_KERNEL}, which kube-proxy's nftables mode needs",
                           "choose kube-proxy mode iptables or ipvs, or upgrade the kernel to 5.13 or later"))
    cat = load_catalogue()
    loaded_by_us = set(modules_for(plan))
    for key in tuned:
        if key not in cat:
            continue
        e = cat.get(key)
        if e.added_in and k < KernelVersion.parse(e.added_in):
            out.append(Finding(f.host, "warning", "sysctl-too-new",
                               f"{key} was added in kernel {e.added_in}; this host runs {k}, so it is left out",
                               "drop the key from the plan or upgrade the kernel"))
        elif e.removed_in and k >= KernelVersion.parse(e.removed_in):
            out.append(Finding(f.host, "warning", "sysctl-removed",
                               f"{key} was removed in kernel {e.removed_in}; this host runs {k}, so it is left out",
                               "drop the key from the plan"))
        elif key in f.sysctls_missing and not (e.requires_module and e.requires_module in loaded_by_us):
            more = f" (it needs module {e.requires_module})" if e.requires_module else ""
            out.append(Finding(f.host, "warning", "sysctl-missing",
                               f"this host has no /proc/sys/{key.replace('.', '/')}{more}, so it is left out",
                               "load the module it needs, or drop the key from the plan"))
    return out


def _check_resources(f: HostFacts, is_cp: bool) -> list[Finding]:
    out: list[Finding] = []
    if not is_cp:
        return out
    if f.cpus is not None and f.cpus < MIN_CPUS:
        out.append(Finding(f.host, "error", "cpus", f"{f.cpus} CPU on a control plane; kubeadm needs at least {MIN_CPUS}",
                           "give the machine 2 or more CPUs, or make it a worker"))
    if f.memory_mb is not None and f.memory_mb < MIN_MEMORY_MB:
        out.append(Finding(f.host, "error", "memory", f"{f.memory_mb} MB of memory on a control plane; kubeadm needs at least {MIN_MEMORY_MB} MB",
                           "give the machine 2 GB or more, or make it a worker"))
    return out


def _check_ports(f: HostFacts, is_cp: bool) -> list[Finding]:
    out: list[Finding] = []
    if f.has_cluster:
        if not f.made_by_us:
            out.append(Finding(f.host, "error", "existing-cluster",
                               "this host is already a Kubernetes node that k8s-tui did not set up "
                               f"({', '.join(p for p in f.existing)})",
                               "reset it (`kubeadm reset -f`, or `k8s-tui reset`) or take it out of the plan"))
        return out  # ours: init/join see the node and leave it alone; its ports are its own
    wanted = CONTROL_PLANE_PORTS if is_cp else WORKER_PORTS
    for port in wanted:
        if port in f.listening:
            proc = f.listening[port]
            who = f" by {proc}" if proc else ""
            if proc and proc.startswith(KUBE_PROCESSES):
                fix = "a Kubernetes component runs without /etc/kubernetes/*.conf: stop it, or reset the host (`kubeadm reset -f`)"
            else:
                fix = f"stop {proc or 'the program that listens there'} or move it to another port"
            out.append(Finding(f.host, "error", "port-in-use", f"port {port} is in use{who}", fix))
    return out


def preflight_report(plan: ClusterPlan, facts_by_host: dict[str, HostFacts]) -> list[Finding]:
    """Fatal errors and warnings for the plan's hosts, from their facts. Hosts without facts are
    not judged (their facts step failed and says why)."""
    from .tuning_values import kubeadm_sysctl_values

    out: list[Finding] = []
    hosts = [h for h in plan.hosts if h.name in facts_by_host]
    cps = [h for h in plan.hosts if h.is_control_plane]
    if len(cps) > 1 and not plan.control_plane_endpoint:
        out.append(Finding(None, "warning", "ha-endpoint",
                           f"{len(cps)} control planes but no control_plane_endpoint: every node reaches the API through "
                           f"{cps[0].name}, so the cluster is not highly available",
                           "set control_plane_endpoint to a load balancer or virtual IP in front of the API servers (host:6443)"))
    tuned = list(kubeadm_sysctl_values(plan))

    for label, get in (
        ("host name", lambda f: f.hostname.lower() if f.hostname else None),
        ("product_uuid", lambda f: f.product_uuid.lower() if f.product_uuid and f.product_uuid.lower() not in _PLACEHOLDER_UUIDS else None),
    ):
        vals = {h.name: v for h in hosts if (v := get(facts_by_host[h.name]))}
        for v, hs in _dupes(vals).items():
            for h in hs:
                others = ", ".join(x for x in hs if x != h)
                fix = ("give each machine its own name (`hostnamectl set-hostname NAME`)" if label == "host name"
                       else "cloned VMs share it: give each VM its own UUID in the hypervisor (or re-create it)")
                out.append(Finding(h, "error", f"duplicate-{label.replace(' ', '-')}", f"{label} {v} is the same on {h} and {others}", fix))
    macs: dict[str, list[tuple[str, str]]] = {}
    for h in hosts:
        for iface, mac in facts_by_host[h.name].physical_macs().items():
            macs.setdefault(mac, []).append((h.name, iface))
    for mac, owners in macs.items():
        names = sorted({n for n, _ in owners})
        if len(names) < 2:
            continue
        for n in names:
            where = ", ".join(f"{o} ({i})" for o, i in owners if o != n)
            out.append(Finding(n, "error", "duplicate-mac", f"MAC {mac} is the same on {n} and {where}",
                               "cloned VMs share it: give each VM's network card its own MAC address"))

    for h in hosts:
        f = facts_by_host[h.name]
        out += _check_os(f)
        out += _check_kernel(plan, f, tuned)
        out += _check_resources(f, h.is_control_plane)
        out += _check_ports(f, h.is_control_plane)
        if f.swaps:
            out.append(Finding(h.name, "warning", "swap-on", f"swap is on ({', '.join(s.split()[0] for s in f.swaps)})",
                               "nothing to do: the swap step turns it off now and after a reboot"))
        have = version_tuple(f.version("kubeadm"))
        want = version_tuple(plan.kubernetes_version)
        if have and want and have[:2] != want[:2]:
            out.append(Finding(h.name, "warning", "kubeadm-version",
                               f"kubeadm {f.version('kubeadm')} is installed; the plan wants {plan.kubernetes_version}",
                               "nothing to do unless it is a running cluster: the packages step installs the planned version"))
        if not f.complete:
            out.append(Finding(h.name, "warning", "facts-incomplete", "some facts could not be read", "look at the facts step's log"))
    return out


class PreflightStep(Step):
    id = "preflight"
    title = "Preflight checks"
    why = "Compare every host's facts with what kubeadm needs (unique names, CPUs, memory, free ports, OS, kernel) before anything changes."
    always_run = True  # read-only and cheap; a resumed run checks again
    changes_host = False

    def __init__(self, store: FactsStore):
        self.store = store

    async def apply(self, ctx: StepContext) -> StepResult:
        if ctx.plan is None:
            return StepResult.ok("no plan: nothing to check")
        if ctx.host.name not in self.store:
            raise StepFailed("this host's facts are missing", "the facts step must run first; retry it")
        findings = [x for x in preflight_report(ctx.plan, dict(self.store)) if x.host in (None, ctx.host.name)]
        errors = [x for x in findings if x.severity == "error"]
        warnings = [x for x in findings if x.severity == "warning"]
        for x in findings:
            ctx.log(x.line())
        ctx.facts["preflight"] = findings
        if errors:
            raise StepFailed(
                f"{len(errors)} preflight error{'s' if len(errors) > 1 else ''}: " + "; ".join(e.message for e in errors),
                " / ".join(dict.fromkeys(e.fix for e in errors)),
            )
        return StepResult.ok(f"all checks passed ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})")
