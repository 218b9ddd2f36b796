"""The four deployment tools side by side, and the rule that recommends one.

Plain data and one function, no UI: the tool screen renders it and the unit tests check it.
Facts come from the tools' own repositories and docs (see shared/research/anchors-deploy.md in the
project's research notes); the sentences are ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..model.plan import Tool

Platform = Literal["bare-metal", "cloud"]


@dataclass(frozen=True)
class ToolInfo:
    tool: Tool
    title: str
    what: str  # what the tool is and how it installs Kubernetes
    runs_on: str  # where it works
    needs: str  # what the person must bring
    ha: str  # how it does a highly available control plane
    pick_when: str  # when it is the right choice
    wizard_does: str  # what this wizard does with it


TOOLS: dict[Tool, ToolInfo] = {
    Tool.kubeadm: ToolInfo(
        tool=Tool.kubeadm,
        title="kubeadm",
        what=(
            "The Kubernetes project's own bootstrapper. It turns one prepared host into a control "
            "plane (kubeadm init) or joins it to one (kubeadm join). It does not prepare the OS, "
            "install a container runtime or a network add-on."
        ),
        runs_on="Any Linux host you can reach: bare metal, VMs, any cloud.",
        needs="SSH to every host. Nothing on this machine but this wizard.",
        ha=(
            "Several control planes behind a load balancer or VIP you provide "
            "(--control-plane-endpoint, --upload-certs; the certificate key lasts 2 hours)."
        ),
        pick_when="You want to see and own every step, on a few hosts, without Ansible.",
        wizard_does=(
            "Runs it itself: prepares every host over SSH (swap, modules, sysctls, runtime, "
            "packages), then kubeadm init and join, live, host by host."
        ),
    ),
    Tool.kubespray: ToolInfo(
        tool=Tool.kubespray,
        title="kubespray",
        what=(
            "A large set of Ansible playbooks from kubernetes-sigs. It prepares the OS, installs "
            "the runtime, the network add-on and the control plane; it has used kubeadm inside "
            "for cluster creation since v2.3."
        ),
        runs_on="Bare metal and most clouds, wherever Ansible can SSH.",
        needs="A kubespray checkout and Ansible on this machine.",
        ha=(
            "Built in: a local nginx proxy to the API servers on every node by default, or "
            "kube-vip, or your own load balancer."
        ),
        pick_when="You already run Ansible, or want many options (CNIs, OSes) maintained for you.",
        wizard_does=(
            "Writes the inventory and group_vars (your sysctls as additional_sysctl) and runs "
            "ansible-playbook cluster.yml from your checkout, showing each task per host."
        ),
    ),
    Tool.kubeasz: ToolInfo(
        tool=Tool.kubeasz,
        title="kubeasz",
        what=(
            "Ansible playbooks driven by the ezctl script. It installs Kubernetes from binaries "
            "with systemd units, not with kubeadm. Its documentation is mainly in Chinese."
        ),
        runs_on="Bare metal and VMs; an all-in-one mode for a single machine.",
        needs="ezctl and its files (ezdown fetches binaries and images, also for offline use).",
        ha="A local kube-lb on every node, and an optional external keepalived+haproxy pair.",
        pick_when="You want binary installs, offline bundles, or follow its Chinese guides.",
        wizard_does=(
            "Writes clusters/<name>/hosts and config.yml with your sysctls and runs ezctl setup "
            "01 to 07 one step at a time, without its press-any-key countdown."
        ),
    ),
    Tool.kops: ToolInfo(
        tool=Tool.kops,
        title="kops",
        what=(
            "Creates the machines as well as the cluster, on a cloud (AWS, GCE and others), "
            "and keeps the cluster's desired state in a state store such as an S3 bucket."
        ),
        runs_on="Supported clouds only: it makes the instances itself, it cannot use your hosts.",
        needs="Cloud credentials, a state store, and kops on this machine.",
        ha="Several control-plane instance groups, each in its own zone.",
        pick_when="You run on one supported cloud and want the machines managed too.",
        wizard_does=(
            "Writes the Cluster and InstanceGroup specs (sysctls as sysctlParameters) and the "
            "kops commands; runs them when kops is on PATH. The host list is not used."
        ),
    ),
}

ASPECTS: list[tuple[str, str]] = [
    ("what", "What it is"),
    ("runs_on", "Runs on"),
    ("needs", "You need"),
    ("ha", "HA"),
    ("pick_when", "Pick it when"),
    ("wizard_does", "This wizard"),
]


@dataclass(frozen=True)
class Answers:
    platform: Platform = "bare-metal"
    ansible: bool = False  # the person already uses Ansible (or is happy to)
    ha: bool = False  # more than one control plane


@dataclass(frozen=True)
class Recommendation:
    tool: Tool
    reason: str
    also: tuple[tuple[Tool, str], ...] = ()  # other good fits, each with why


def recommend(a: Answers) -> Recommendation:
    """One tool for the answers, with the reason in a sentence or two."""
    ha_kubeadm = (
        " For HA, put a load balancer or a VIP in front of the control planes; the wizard asks "
        "for its address."
        if a.ha
        else ""
    )
    if a.platform == "cloud" and not a.ansible:
        return Recommendation(
            Tool.kops,
            "On a cloud without Ansible, kops creates the machines and the cluster together"
            + (" and spreads control planes over zones." if a.ha else ".")
            + " If you already have the VMs, kubeadm works on them too.",
            ((Tool.kubeadm, "when the VMs already exist"),),
        )
    if a.ansible:
        where = "on your cloud VMs" if a.platform == "cloud" else "on your hosts"
        return Recommendation(
            Tool.kubespray,
            f"You use Ansible: kubespray runs {where} with Ansible and covers the OS, runtime and "
            "network add-on"
            + (", with an API proxy on every node for HA." if a.ha else ".")
            + " kubeasz is the choice for binary installs or offline bundles.",
            ((Tool.kubeasz, "binary install, offline bundles"),),
        )
    return Recommendation(
        Tool.kubeadm,
        "Hosts you own and no Ansible: kubeadm, run by this wizard over SSH, needs nothing else "
        "on this machine and shows every step." + ha_kubeadm,
        ((Tool.kubespray, "if you later adopt Ansible"),),
    )
