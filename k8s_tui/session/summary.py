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
from ..backends.tool_runs import rest_of_install
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
    # hosts the user skipped: out of the cluster's expectations (verify did not wait for them)
    left_out: list[str] = field(default_factory=list)
    # what this run left to the tool itself (kubespray, kubeasz, kops) and the command that runs it
    rest: str | None = None


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
    plan = getattr(session, "plan", None)
    if plan is not None and not info.has_cluster_steps:
        info.rest = rest_of_install(plan, getattr(run_plan, "scope", "full") or "full")
    result = getattr(session, "result", None)
    if result is not None:
        info.left_out = [h for h, st in result.summary.items() if st.get("status") == "skipped"]
    elif model is not None:
        info.left_out = [h for h in model.hosts if model.host_state.get(h) == "skipped"]
    if verify is not None:
        # what the verify step itself recorded: it saves the kubeconfig before it checks that every
        # expected node joined, so a verify that failed may still have left one (its log says so)
        path = verify.kubeconfig
        if path is not None and path.exists():
            info.kubeconfig = path
            if result is not None:  # the run's own summary; the CLI does not feed the session's model
                statuses = [st.get("steps", {}).get(verify.id) for st in result.summary.values()]
            else:
                statuses = [c.status for (h, s), c in model.cells.items() if s == verify.id] if model is not None else []
            finished = any(v in DONE_STATUSES for v in statuses)
            if not finished:
                info.note = "the verify step failed after it saved the kubeconfig: not every node is Ready"
        elif plan is not None and local_kubeconfig_path(plan, verify.state_base).exists():
            # this run's verify did not run (a resume finds it done, or an earlier host stopped):
            # the copy an earlier run of this plan made is still there
            info.kubeconfig = local_kubeconfig_path(plan, verify.state_base)
            info.note = "copied by an earlier run of this plan; this run's verify step did not copy it"
        else:
            info.note = "the verify step did not get as far as copying it"
    return info


def cluster_lines(info: ClusterInfo, *, reveal: bool = False) -> list[str]:
    """The cluster part of a summary as plain lines, for the command line (the screen styles the
    same facts itself)."""
    if not info.has_cluster_steps:
        return [info.rest] if info.rest else []
    out = []
    for j in info.joins:
        out.append(f"join {j.who} (expires {j.expires}): {j.command if reveal else j.masked}")
    if info.kubeconfig is not None:
        out.append(f"kubeconfig: {info.kubeconfig} (mode 0600)" + (f"; {info.note}" if info.note else ""))
    else:
        out.append("kubeconfig: none" + (f" ({info.note})" if info.note else ""))
    if info.left_out:
        out.append("not in the cluster: " + left_out_text(info.left_out))
    return out


def left_out_text(hosts: list[str]) -> str:
    """Who is not in the cluster because the user skipped them (follows "not in the cluster: ")."""
    them = "it" if len(hosts) == 1 else "them"
    return (f"{', '.join(hosts)} (skipped by you; verify did not wait for {them}; "
            f"fix {them}, then join {them} with the join command above)")
