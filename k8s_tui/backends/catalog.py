"""The four deployment tools side by side, and the rule that recommends one.

Plain data and one function, no UI: the tool screen renders it and the unit tests check it.
Facts come from the tools' own repositories and docs (kubernetes/kubeadm docs on kubernetes.io,
kubernetes-sigs/kubespray, easzlab/kubeasz, kubernetes/kops); the sentences are ours.
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

# the same headings in Chinese, in the same order
ASPECTS_ZH: list[tuple[str, str]] = [
    ("what", "是什么"),
    ("runs_on", "适用环境"),
    ("needs", "你需要准备"),
    ("ha", "高可用"),
    ("pick_when", "何时选它"),
    ("wizard_does", "本向导会做什么"),
]

# the Tool screen's own words, per language
SCREEN_LABELS: dict[str, dict[str, str]] = {
    "en": {"setup": "Setup:", "cloud": "cloud VMs (c)", "ansible": "use Ansible (a)", "ha": "HA (h)", "use": "Use:",
           "recommended": "Recommended: ", "also": "Also fits: ", "rec": " (rec.)",
           "chose": "You chose {tool} (press r for the recommendation).", "sep": "; ", "end": "."},
    "zh": {"setup": "环境：", "cloud": "云主机 (c)", "ansible": "使用 Ansible (a)", "ha": "高可用 (h)", "use": "选用：",
           "recommended": "推荐：", "also": "同样合适：", "rec": "（推荐）",
           "chose": "你选择了 {tool}（按 r 改用推荐）。", "sep": "；", "end": "。"},
}


def aspects(lang: str = "en") -> list[tuple[str, str]]:
    return ASPECTS_ZH if lang == "zh" else ASPECTS


# every aspect of every tool in Chinese, our own words (the English above is the reference)
TOOLS_ZH: dict[Tool, dict[str, str]] = {
    Tool.kubeadm: {
        "what": "Kubernetes 官方的集群引导工具：把一台准备好的主机初始化为控制面（kubeadm init），"
        "或把它加入已有集群（kubeadm join）。它不负责准备操作系统，也不安装容器运行时和网络插件。",
        "runs_on": "任何能连上的 Linux 主机：物理机、虚拟机、任意云。",
        "needs": "能 SSH 到每台主机。本机上除了这个向导什么都不用装。",
        "ha": "多个控制面节点，前面放一个你自己提供的负载均衡或 VIP（--control-plane-endpoint、"
        "--upload-certs；证书密钥有效期 2 小时）。",
        "pick_when": "主机不多、不用 Ansible，并且想看清、掌握每一步。",
        "wizard_does": "由向导亲自执行：通过 SSH 准备每台主机（swap、内核模块、sysctl、容器运行时、软件包），"
        "再逐台执行 kubeadm init 和 join，全程实时显示。",
    },
    Tool.kubespray: {
        "what": "kubernetes-sigs 维护的一大套 Ansible playbook：准备操作系统，安装容器运行时、网络插件和控制面；"
        "从 v2.3 起内部用 kubeadm 创建集群。",
        "runs_on": "物理机和大多数云，只要 Ansible 能 SSH 上去。",
        "needs": "本机上有 kubespray 的代码和 Ansible。",
        "ha": "内置：默认在每个节点上运行一个到各 API server 的本地 nginx 代理，也可以用 kube-vip 或你自己的负载均衡。",
        "pick_when": "已经在用 Ansible，或者希望有人替你维护大量选项（各种 CNI、各种操作系统）。",
        "wizard_does": "生成 inventory 和 group_vars（你的 sysctl 写成 additional_sysctl），在你的 kubespray 目录里运行 "
        "ansible-playbook cluster.yml，按主机显示每个任务。",
    },
    Tool.kubeasz: {
        "what": "由 ezctl 脚本驱动的一套 Ansible playbook。它用二进制文件和 systemd 单元安装 Kubernetes，"
        "不用 kubeadm。文档以中文为主。",
        "runs_on": "物理机和虚拟机；单机可用 all-in-one 模式。",
        "needs": "ezctl 及其文件（ezdown 负责下载二进制和镜像，也支持离线安装）。",
        "ha": "每个节点上运行本地 kube-lb，外部可选一对 keepalived+haproxy。",
        "pick_when": "需要二进制安装、离线安装包，或者习惯照着它的中文文档来做。",
        "wizard_does": "生成 clusters/<name>/hosts 和带有你的 sysctl 的 config.yml，逐步运行 ezctl setup 01 到 07，"
        "省掉它“按任意键继续”的倒计时。",
    },
    Tool.kops: {
        "what": "在云上（AWS、GCE 等）连同机器一起创建集群，并把集群的期望状态保存在状态存储里（例如一个 S3 bucket）。",
        "runs_on": "只支持它适配的云：机器由它自己创建，不能使用你已有的主机。",
        "needs": "云平台凭据、一个状态存储，以及本机上的 kops。",
        "ha": "多个控制面实例组，各放在一个可用区。",
        "pick_when": "只在一家受支持的云上运行，并希望机器也一并被管理。",
        "wizard_does": "生成 Cluster 和 InstanceGroup 规格（sysctl 写成 sysctlParameters）以及 kops 命令；"
        "PATH 里有 kops 时直接执行。不使用主机列表。",
    },
}


def tool_text(tool: Tool, attr: str, lang: str = "en") -> str:
    """One aspect of one tool in the reader's language."""
    if lang == "zh":
        return TOOLS_ZH[tool][attr]
    return getattr(TOOLS[tool], attr)


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
    reason_zh: str = ""
    also_zh: tuple[tuple[Tool, str], ...] = ()

    def reason_in(self, lang: str = "en") -> str:
        return self.reason_zh if lang == "zh" and self.reason_zh else self.reason

    def also_in(self, lang: str = "en") -> tuple[tuple[Tool, str], ...]:
        return self.also_zh if lang == "zh" and self.also_zh else self.also


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
            "在云上且不用 Ansible：kops 同时创建机器和集群"
            + ("，并把控制面分散到多个可用区。" if a.ha else "。")
            + "如果虚拟机已经有了，kubeadm 也能直接用。",
            ((Tool.kubeadm, "虚拟机已经存在时"),),
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
            f"你在用 Ansible：kubespray 通过 Ansible 在{'你的云主机' if a.platform == 'cloud' else '你的主机'}上运行，"
            "操作系统、容器运行时和网络插件都包括在内"
            + ("，高可用时每个节点都有一个 API 代理。" if a.ha else "。")
            + "需要二进制安装或离线安装包时选 kubeasz。",
            ((Tool.kubeasz, "二进制安装、离线安装包"),),
        )
    return Recommendation(
        Tool.kubeadm,
        "Hosts you own and no Ansible: kubeadm, run by this wizard over SSH, needs nothing else "
        "on this machine and shows every step." + ha_kubeadm,
        ((Tool.kubespray, "if you later adopt Ansible"),),
        "自己的主机、不用 Ansible：由这个向导通过 SSH 运行 kubeadm，本机无需其他软件，每一步都看得见。"
        + ("高可用时，在控制面前面放一个负载均衡或 VIP；向导会询问它的地址。" if a.ha else ""),
        ((Tool.kubespray, "以后改用 Ansible 时"),),
    )
