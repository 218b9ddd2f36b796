"""What a finished run left for the person, read from its session: the join commands kubeadm made
(with when they expire) and the kubeconfig copied to this machine. No Textual here: the summary
screen shows it, and the headless CLI could print it.

The join token is a secret: it is kept in memory only (in the run plan's shared kubeadm state).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends.kubeadm.steps import ClusterState, VerifyStep, local_kubeconfig_path
from ..engine.events import DONE_STATUSES


@dataclass
class JoinCommand:
    who: str  # "workers" | "control planes"
    command: str
    masked: str
    expires: str  # "2026-05-09 14:03 (in 23 h)"


@dataclass
class ClusterInfo:
    """What the run's kubeadm steps left for the person: join commands and the kubeconfig."""

    has_cluster_steps: bool = False
    joins: list[JoinCommand] = field(default_factory=list)
    kubeconfig: Path | None = None
    note: str = ""


def _expiry(made: float, ttl_h: float, clock: Any) -> str:
    left = made + ttl_h * 3600 - clock()
    at = time.localtime(time.time() + left)
    if left <= 0:
        return "expired"
    hours = left / 3600
    return f"{time.strftime('%Y-%m-%d %H:%M', at)} (in {hours:.0f} h)" if hours >= 1 else f"{time.strftime('%H:%M', at)} (in {left / 60:.0f} min)"


def cluster_info(session: Any) -> ClusterInfo:
    """Read the kubeadm steps' shared state (ClusterState) and the verify step of a session's run
    plan; the session's run model says whether verify finished."""
    info = ClusterInfo()
    run_plan = session.run_plan
    model = session.model
    states: list[ClusterState] = []
    verify: VerifyStep | None = None
    for step in run_plan.steps():
        st = getattr(step, "state", None)
        if isinstance(st, ClusterState):
            info.has_cluster_steps = True
            if all(st is not s for s in states):
                states.append(st)
        if isinstance(step, VerifyStep):
            info.has_cluster_steps = True
            verify = step
    for st in states:
        m = st.join
        if m is None:
            continue
        now = st.clock()
        base = f"kubeadm join {m.endpoint} --token {m.token} --discovery-token-ca-cert-hash {m.ca_cert_hash}"
        masked_tok = m.token.split(".")[0] + ".****************"
        masked = f"kubeadm join {m.endpoint} --token {masked_tok} --discovery-token-ca-cert-hash {m.ca_cert_hash[:15]}..."
        info.joins.append(JoinCommand("workers", base, masked, _expiry(m.token_made, m.token_ttl_h, st.clock)))
        if m.certificate_key and m.key_made is not None and m.key_ok(now):
            info.joins.append(JoinCommand(
                "control planes", base + f" --control-plane --certificate-key {m.certificate_key}",
                masked + " --control-plane --certificate-key ****",
                _expiry(m.key_made, m.key_ttl_h, st.clock) + " (certificate key; the token as above)",
            ))
    plan = session.plan
    if verify is not None and plan is not None:
        path = local_kubeconfig_path(plan, verify.state_base)
        ok = True
        if model is not None:
            ok = any(c.status in DONE_STATUSES for (h, s), c in model.cells.items() if s == verify.id)
        if ok and path.exists():
            info.kubeconfig = path
        else:
            info.note = "the verify step did not finish, so no kubeconfig was copied"
    return info
