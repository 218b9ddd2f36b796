"""Stand-ins for kubeadm, kubelet, kubectl, containerd and systemctl on the SSH test hosts.

kubeadm, kubelet and containerd cannot run in a test host (a network namespace without systemd or
a container runtime). Each stand-in is a small sh script whose header says what it replays: the
kubeadm one replays real kubeadm output recorded in tests/fixtures/kubeadm/ (sources in
SOURCES.md), with the recorded node address and name replaced by the host's; the others answer in
the formats of the real tools. ``install_standins`` puts them in /usr/local/bin of one host only
(``TestHost.install_standin``).
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "kubeadm"
VERSION = "v1.32.13"  # what init-single-v1.32.txt ran
RECORDED_ADDRESS = "10.60.63.1"  # init-single-v1.32.txt's node address and name
RECORDED_NODE = "oss01"
CERT_KEY = "9f6c1a5ac0e4d1b7a6f3c2e1d0b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918070"
EOF_MARK = "K8S_TUI_RECORDED"
TOOLS = ("kubeadm", "kubectl", "kubelet", "containerd", "systemctl")


def _fixture(name: str) -> str:
    text = (FIXTURES / name).read_text()
    if EOF_MARK in text:
        raise ValueError(f"{name} contains the heredoc end marker")
    return text.rstrip("\n")


def recorded_join_command(address: str) -> str:
    """The worker join command init-single-v1.32.txt printed, on one line, for ``address``."""
    text = (FIXTURES / "init-single-v1.32.txt").read_text()
    token = re.search(r"--token (\S+)", text).group(1)
    ca_hash = re.search(r"(sha256:[0-9a-f]{64})", text).group(1)
    return f"kubeadm join {address}:6443 --token {token} --discovery-token-ca-cert-hash {ca_hash}"


def script(tool: str, *, address: str, node: str, nodes: list[str]) -> str:
    text = (HERE / f"{tool}.sh").read_text()
    init = _fixture("init-single-v1.32.txt").replace(RECORDED_ADDRESS, address).replace(RECORDED_NODE, node)
    subst = {
        "@@VERSION@@": VERSION,
        "@@ADDRESS@@": address,
        "@@NODE@@": node,
        "@@NODES@@": " ".join(nodes),
        "@@CERT_KEY@@": CERT_KEY,
        "@@JOIN_COMMAND@@": recorded_join_command(address),
    }
    if tool == "kubeadm":
        subst.update({
            "@@INIT_OUTPUT@@": init,
            "@@INIT_FAILURE@@": _fixture("wait-control-plane-timeout-api-check.txt"),
            "@@JOIN_WORKER_OUTPUT@@": _fixture("join-worker-v1.32.txt"),
            "@@JOIN_CP_OUTPUT@@": _fixture("join-control-plane-v1.32.txt"),
        })
    for k, v in subst.items():
        text = text.replace(k, v)
    return text


def install_standins(host, *, nodes: list[str], node: str | None = None, tools=TOOLS) -> list[str]:
    """Install the stand-ins on one TestHost; ``nodes`` are the plan's node names (for kubectl)."""
    return [host.install_standin(t, script(t, address=host.address, node=node or host.name, nodes=nodes)) for t in tools]
