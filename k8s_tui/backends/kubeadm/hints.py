"""Known kubeadm errors, each with what it means and what to look at next.

The hints are ours, written from what the errors say and what the wizard's own steps do about
them; they are not copied from anywhere. A rule matches a preflight check by name (``[ERROR X]`` /
``[WARNING X]``) or an error line by a regular expression. ``hints_for(report)`` gives one hint per
rule that matched, in the order the errors appeared; ``hint_for_item`` and ``hint_for_text`` do the
same for one preflight item or one line. The line formats belong to the parser (``output.py``,
whose ``hint_for_line`` reads a single line while kubeadm is still running); this module imports
nothing from it, so the parser can attach hints to every report it makes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol


class ReportLike(Protocol):
    """What ``hints_for`` reads of an ``output.KubeadmReport`` (described here, not imported)."""

    @property
    def status(self) -> str: ...
    @property
    def failed_phase(self) -> str | None: ...
    @property
    def preflight_errors(self) -> list[dict[str, str]]: ...
    @property
    def preflight_warnings(self) -> list[dict[str, str]]: ...
    @property
    def error_lines(self) -> list[str]: ...
    @property
    def warnings(self) -> list[str]: ...


@dataclass(frozen=True)
class Hint:
    id: str
    error: str  # the check or line that triggered it
    hint: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "error": self.error, "hint": self.hint}


@dataclass(frozen=True)
class Rule:
    id: str
    hint: str
    check: str | None = None  # regex, full match against the preflight check name
    pattern: str | None = None  # regex, searched in error lines, preflight messages and warnings
    warning_ok: bool = False  # also fires on [WARNING ...] items and klog warnings

    def match_check(self, check: str) -> re.Match | None:
        return re.fullmatch(self.check, check, re.IGNORECASE) if self.check else None

    def match_text(self, text: str) -> re.Match | None:
        return re.search(self.pattern, text, re.IGNORECASE) if self.pattern else None

    def render(self, m: re.Match | None) -> str:
        groups = {k: v for k, v in (m.groupdict() if m else {}).items() if v is not None}
        try:
            return self.hint.format(**groups)
        except (KeyError, IndexError):
            return self.hint


KUBELET_JOURNAL = "journalctl -xeu kubelet"

RULES: tuple[Rule, ...] = (
    # ---- preflight: host settings the wizard's host-preparation steps own
    Rule(
        "ip-forward",
        "IPv4 forwarding is off, so this host would not route Pod traffic. Set net.ipv4.ip_forward = 1 "
        "(k8s-tui's sysctl step writes it to /etc/sysctl.d/ and applies it), then run kubeadm again. "
        "Check with: sysctl net.ipv4.ip_forward",
        check=r"FileContent--proc-sys-net-ipv4-ip_forward",
        pattern=r"/proc/sys/net/ipv4/ip_forward contents are not set to 1",
    ),
    Rule(
        "bridge-nf-call",
        "Bridged traffic is not passed to iptables: the br_netfilter module is missing or "
        "net.bridge.bridge-nf-call-iptables is 0. k8s-tui's kernel-modules step loads br_netfilter and its "
        "sysctl step sets the bridge keys to 1. (kubeadm 1.30 and later no longer check this.)",
        check=r"FileContent--proc-sys-net-bridge-bridge-nf-call-ip6?tables",
        pattern=r"/proc/sys/net/bridge/bridge-nf-call-ip6?tables (does not exist|contents are not set to 1)",
    ),
    Rule(
        "swap",
        "Swap is on and the kubelet refuses to run with swap by default. k8s-tui's swap step turns it off "
        "now and after reboot (the /etc/fstab lines are commented out, the file backed up). Only if you "
        "want the kubelet's swap support: set failSwapOn: false in the KubeletConfiguration instead.",
        check=r"Swap",
        pattern=r"running with swap on is not supported|swap is enabled",
        warning_ok=True,
    ),
    Rule(
        "port-in-use",
        "Port {port} is already taken, most often by an API server, etcd or kubelet left from an earlier "
        "kubeadm run on this host. If that old cluster can go, `kubeadm reset -f` clears it (k8s-tui's "
        "reset step asks first); otherwise see who holds it: ss -ltnp 'sport = :{port}'",
        check=r"Port-(?P<port>\d+)",
        pattern=r"Port (?P<port>\d+) is in use",
    ),
    Rule(
        "leftovers",
        "Files from an earlier kubeadm run are still here (static Pod manifests, /var/lib/etcd). "
        "`kubeadm reset -f` removes them (k8s-tui's reset step asks first); then run kubeadm again.",
        check=r"(FileAvailable|DirAvailable)--.+",
        pattern=r"/etc/kubernetes/manifests/\S+ already exists|/var/lib/etcd is not empty",
    ),
    Rule(
        "cri",
        "kubeadm cannot talk to the container runtime over CRI. Check that it runs: systemctl status "
        "containerd. 'unknown service runtime.v1' means containerd runs with its CRI plugin disabled "
        "(disabled_plugins = [\"cri\"] in the config.toml that Docker's containerd.io package ships) or is "
        "too old for this kubeadm; k8s-tui's runtime step writes a fresh /etc/containerd/config.toml "
        "(SystemdCgroup = true) and restarts containerd.",
        check=r"CRI",
        pattern=r"container runtime is not running|unknown service runtime\.v1(alpha2)?\.RuntimeService",
    ),
    Rule(
        "image-pull",
        "kubeadm could not pull the control-plane images. Run `kubeadm config images pull` on that host "
        "to see the registry's answer: usually DNS, an HTTP proxy, or registry.k8s.io being blocked "
        "(then set imageRepository to a mirror).",
        check=r"ImagePull",
        pattern=r"failed to pull image",
    ),
    Rule(
        "num-cpu",
        "A control plane needs at least 2 CPUs. Give the machine another CPU (k8s-tui's preflight "
        "checks this before anything changes).",
        check=r"NumCPU",
    ),
    Rule(
        "memory",
        "A control plane needs about 1700 MB of memory. Give the machine more memory.",
        check=r"Mem",
    ),
    Rule(
        "privileged-user",
        "kubeadm must run as root: k8s-tui runs it with sudo when the SSH user is not root.",
        check=r"IsPrivilegedUser",
    ),
    Rule(
        "cgroups-missing",
        "The kernel runs without the {cgroup} cgroup the kubelet needs. On a Raspberry Pi add "
        "cgroup_enable=memory cgroup_memory=1 to /boot/firmware/cmdline.txt (older images: "
        "/boot/cmdline.txt) and reboot; elsewhere check the kernel command line for cgroup_disable=.",
        pattern=r"missing required cgroups: (?P<cgroup>\w+)",
    ),
    Rule(
        "missing-tool",
        "The {tool} command is missing on this host; install its package (conntrack, socat, ethtool "
        "and crictl come from the distribution or the Kubernetes repository).",
        check=r"FileExisting-(?P<tool>[\w.-]+)",
        warning_ok=True,
    ),
    Rule(
        "kubelet-service",
        "The kubelet service is not enabled, so it would not come back after a reboot: systemctl enable kubelet",
        check=r"Service-Kubelet",
        warning_ok=True,
    ),
    Rule(
        "hostname",
        "This host's own name does not resolve. Add it to /etc/hosts (or DNS) with the address the "
        "other nodes use.",
        check=r"Hostname",
        warning_ok=True,
    ),
    Rule(
        "cgroup-driver",
        "The runtime uses the cgroupfs cgroup driver while the kubelet expects systemd. Use systemd for "
        "both (containerd: SystemdCgroup = true; k8s-tui's runtime step sets it).",
        check=r"IsDockerSystemdCheck",
        warning_ok=True,
    ),
    Rule(
        "sandbox-image",
        "containerd's sandbox (pause) image differs from the one this kubeadm expects. Only a warning, "
        "but if that image cannot be pulled no Pod starts; k8s-tui's runtime step sets sandbox_image for "
        "the Kubernetes version.",
        pattern=r"sandbox image .* is inconsistent",
        warning_ok=True,
    ),
    # ---- join
    Rule(
        "token-invalid",
        "The cluster does not know this join token, or it has expired (bootstrap tokens live 24 hours "
        "by default). Make a new one on a control plane: kubeadm token create --print-join-command",
        pattern=(
            r"JWS signature|JWS signed token|token id \"?\w+\"? is invalid|token is invalid|TokenInvalid"
            r"|bootstrap token .*(expired|not found)"
        ),
    ),
    Rule(
        "ca-hash-mismatch",
        "The --discovery-token-ca-cert-hash does not match this cluster's CA. Copy the join command again "
        "from the init output, or print a fresh one on a control plane: kubeadm token create "
        "--print-join-command",
        pattern=r"none of the public keys .* are pinned|cluster CA found in cluster-info ConfigMap is invalid",
    ),
    Rule(
        "certificate-key-expired",
        "The control-plane certificates uploaded by `kubeadm init --upload-certs` are gone (they are "
        "deleted after two hours) or the certificate key is wrong. On a control plane that is already in "
        "the cluster run: kubeadm init phase upload-certs --upload-certs. It prints a new certificate key; "
        "join again with --certificate-key <new key> (kubeadm token create --print-join-command "
        "--certificate-key <new key> prints the whole command with a fresh token).",
        pattern=(
            r"Secret \"kubeadm-certs\" was not found|This Secret might have expired|error downloading certs"
            r"|error decoding certificate key|couldn't decrypt"
        ),
    ),
    Rule(
        "api-unreachable",
        "This node could not reach the API server at {endpoint}. From this host try: curl -k "
        "https://{endpoint}/livez. Check the address and port in the join command, firewalls (6443/tcp), "
        "and that the control plane (or its load balancer) is up.",
        pattern=(
            r"(?:couldn't|could not) validate the identity of the API Server: Get \"https://(?P<endpoint>[^/\"]+)"
            r"[^\n]*(connection refused|no route to host|i/o timeout|Client\.Timeout|request canceled|deadline exceeded)"
        ),
    ),
    # ---- waiting for the control plane
    Rule(
        "apiserver-unhealthy",
        "The kubelet runs but the API server never became healthy. Look at the control-plane containers "
        "on that host: crictl ps -a | grep kube-apiserver, then crictl logs <id> (and the same for etcd). "
        "Common causes: etcd not starting, a wrong advertise address, or a controlPlaneEndpoint (load "
        "balancer) that does not forward port 6443 yet.",
        pattern=r"(API server|kube-apiserver) is not healthy after",
    ),
    Rule(
        "control-plane-timeout",
        "The kubelet or the control plane did not come up in time. Read the kubelet's journal on that "
        f"host: {KUBELET_JOURNAL}. Common causes: a cgroup driver mismatch (containerd without "
        "SystemdCgroup = true while the kubelet uses systemd), the sandbox (pause) image cannot be pulled, "
        "swap still on. Then list the control-plane containers: crictl ps -a | grep kube",
        pattern=(
            r"kubelet is not healthy after|kubelet isn't running or healthy|timed out waiting for the condition"
            r"|context deadline exceeded|could(n't| not) initialize a Kubernetes cluster"
            r"|failed while waiting for the kubelet"
        ),
    ),
)

RULES_BY_ID = {r.id: r for r in RULES}


def _from_item(item: dict[str, str], warning: bool) -> tuple[Rule, re.Match | None] | None:
    for rule in RULES:
        if warning and not rule.warning_ok:
            continue
        m = rule.match_check(item["check"])
        if m:
            return rule, m
    for rule in RULES:
        if warning and not rule.warning_ok:
            continue
        m = rule.match_text(item["message"])
        if m:
            return rule, m
    return None


def hint_for_item(check: str, message: str, *, warning: bool, error: str) -> Hint | None:
    """The hint for one preflight item (``[ERROR check]: message``); ``error`` is the text the
    hint names as its cause."""
    found = _from_item({"check": check, "message": message}, warning=warning)
    if found:
        rule, m = found
        return Hint(rule.id, error, rule.render(m))
    return None


def hint_for_text(line: str) -> Hint | None:
    """The hint for one line of kubeadm output that is not a preflight item, if it is a known error."""
    for rule in RULES:
        if rule.warning_ok and rule.check and not rule.pattern:
            continue
        m = rule.match_text(line)
        if m:
            return Hint(rule.id, line.strip(), rule.render(m))
    return None


def hints_for(report: ReportLike) -> list[Hint]:
    """One hint per known error in the report, in the order the errors appear."""
    out: list[Hint] = []
    seen: set[str] = set()

    def add(rule: Rule, error: str, m: re.Match | None) -> None:
        key = rule.id + ("" if rule.id not in ("port-in-use", "missing-tool") else error)
        if key in seen:
            return
        seen.add(key)
        out.append(Hint(rule.id, error, rule.render(m)))

    for item in report.preflight_errors:
        found = _from_item(item, warning=False)
        if found:
            add(found[0], f"[ERROR {item['check']}]: {item['message'].splitlines()[0]}", found[1])
    for line in report.error_lines:
        if line.startswith("[ERROR "):
            continue  # already handled above, by check name
        for rule in RULES:
            m = rule.match_text(line)
            if m:
                add(rule, line, m)
                break
    for item in report.preflight_warnings:
        found = _from_item(item, warning=True)
        if found:
            add(found[0], f"[WARNING {item['check']}]: {item['message'].splitlines()[0]}", found[1])
    for w in report.warnings:
        for rule in RULES:
            if rule.warning_ok and rule.pattern and (m := rule.match_text(w)):
                add(rule, w, m)
                break
    if report.status == "failed" and report.failed_phase == "wait-control-plane":
        if not any(h.id in ("control-plane-timeout", "apiserver-unhealthy") for h in out):
            add(RULES_BY_ID["control-plane-timeout"], f"failed in phase {report.failed_phase}", None)
    return out
