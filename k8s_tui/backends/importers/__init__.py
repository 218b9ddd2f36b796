"""Importers: an existing kubespray or kubeasz inventory, or an ssh config, into a plan.

Each importer returns an ``ImportResult`` (hosts, plan fields, tuning, notices); ``to_plan``
turns it into a new plan or updates an existing one and says what changed:

* a source that knows roles (kubespray, kubeasz) replaces the plan's host list; a host that was
  already in the plan keeps what the source does not say (its key file, jump host, labels);
* an ssh config updates the connection details of hosts the plan has, adds the others (as
  workers when the plan already has a control plane) and leaves the rest alone;
* plan fields the source sets (version, CIDRs, kube-proxy mode, CNI, runtime) replace the plan's;
* an existing plan keeps its tool, name, preset and tuning; sysctls the source sets that differ
  from the plan's are listed, not applied. A new plan takes them as its tuning.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ...model.hosts import Host
from ...model.plan import ClusterPlan, Tool, plan_to_doc
from ...model.tuning import TuningProfile
from ...yamlio import InputError
from .base import ImportResult, Notice
from .kubeasz import import_kubeasz
from .kubespray import import_kubespray
from .ssh_config import import_ssh_config

__all__ = ["ImportResult", "Notice", "import_kubeasz", "import_kubespray", "import_ssh_config", "to_plan", "IMPORTERS"]

IMPORTERS = {"kubespray": import_kubespray, "kubeasz": import_kubeasz, "ssh-config": import_ssh_config}
HOST_FIELDS = ["address", "port", "user", "key_file", "proxy_jump", "roles", "labels"]


def _show(v: Any) -> str:
    if isinstance(v, list):
        return ",".join(getattr(x, "value", str(x)) for x in v)
    return "-" if v is None else str(getattr(v, "value", v))


def _merge_host(old: Host, new: Host, *, keep_roles: bool) -> Host:
    data = old.model_dump()
    for f in new.model_fields_set:
        if f == "roles" and keep_roles:
            continue
        if f == "labels":
            data["labels"] = {**old.labels, **new.labels}
        else:
            data[f] = getattr(new, f)
    data["name"] = old.name
    return Host(**data)


def _diff_host(old: Host, new: Host) -> list[str]:
    out = []
    for f in HOST_FIELDS:
        a, b = getattr(old, f), getattr(new, f)
        if a != b:
            out.append(f"{f} {_show(a)} -> {_show(b)}")
    return out


def to_plan(res: ImportResult, existing: ClusterPlan | None = None) -> tuple[ClusterPlan, list[str]]:
    """(the plan, what changed: one line per change)."""
    changes: list[str] = []
    if existing is None:
        doc: dict[str, Any] = {"tool": (res.tool or Tool.kubeadm).value}
        if res.name:
            doc["name"] = res.name
        doc["tuning"] = {"values": dict(res.tuning)}
        base_hosts: list[Host] = []
        changes.append(f"new plan for {doc['tool']}" + (f", cluster {res.name}" if res.name else ""))
        if res.tuning:
            changes.append(f"tuning: {len(res.tuning)} sysctls from the source")
    else:
        doc = plan_to_doc(existing)
        doc["tuning"] = {"values": doc.get("tuning", {})}
        base_hosts = list(existing.hosts)
        if res.tool and res.tool != existing.tool:
            changes.append(f"tool stays {existing.tool.value} (the source is a {res.tool.value} inventory; change it in the plan or the wizard)")
        if res.tuning:
            eff = _effective(existing)
            differ = {k: v for k, v in res.tuning.items() if k not in eff or str(eff[k]) != str(TuningProfile(values={k: v}).model_dump()["values"][k])}
            if differ:
                changes.append("tuning kept; the source sets these differently: " + ", ".join(f"{k}={v}" for k, v in differ.items()))

    for f, v in res.fields.items():
        old = doc.get(f)
        if existing is None or str(old) != str(v):
            origin = res.field_origin.get(_origin_key(f), res.field_origin.get(f))
            if existing is not None:
                changes.append(f"{f}: {_show(old)} -> {v}" + (f" ({origin})" if origin else ""))
            else:
                changes.append(f"{f}: {v}" + (f" ({origin})" if origin else ""))
        doc[f] = v

    hosts, host_changes = _merge_hosts(base_hosts, res)
    changes += host_changes
    doc["hosts"] = [h.model_dump(mode="json", exclude_none=True) for h in hosts]
    try:
        plan = ClusterPlan.model_validate(doc)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = ".".join(str(p) for p in err["loc"] if p != "values") or "plan"
            msg = err["msg"].removeprefix("Value error, ")
            origins = [o for k, o in res.field_origin.items() if k in msg or _origin_key(loc) == k]
            lines.append(f"{res.source}: the imported plan is not valid: {loc}: {msg}" + (f" (from {', '.join(origins)})" if origins else ""))
        raise InputError("\n".join(lines)) from None
    return plan, changes


_FIELD_VAR = {"kubernetes_version": "kube_version", "pod_cidr": "kube_pods_subnet", "service_cidr": "kube_service_addresses",
              "cni": "kube_network_plugin", "container_runtime": "container_manager"}


def _origin_key(field: str) -> str:
    return _FIELD_VAR.get(field, field)


def _effective(plan: ClusterPlan) -> dict[str, str]:
    from ..rendered import plan_sysctls
    from ...knowledge import format_value

    return {k: format_value(v) for k, v in plan_sysctls(plan).items()}


def _merge_hosts(base: list[Host], res: ImportResult) -> tuple[list[Host], list[str]]:
    changes: list[str] = []
    old_by_name = {h.name: h for h in base}
    if res.roles_known:
        out = []
        for h in res.hosts:
            if h.name in old_by_name:
                merged = _merge_host(old_by_name[h.name], h, keep_roles=False)
                d = _diff_host(old_by_name[h.name], merged)
                if d:
                    changes.append(f"host ~ {h.name}: " + "; ".join(d))
                out.append(merged)
            else:
                if base:
                    changes.append(f"host + {h.name} ({_show(h.roles)}) {h.address}")
                out.append(h)
        new_names = {h.name for h in res.hosts}
        for h in base:
            if h.name not in new_names:
                changes.append(f"host - {h.name} (not in {res.source})")
        if not base:
            changes.append(f"hosts: {len(out)} ({', '.join(f'{h.name} {_show(h.roles)}' for h in out)})")
        return out, changes
    # connection details only (ssh config): update and add, never remove
    out = list(base)
    from .ssh_config import place_hosts  # the roles and the notice that states them, decided once

    for h in place_hosts(res, base):
        if h.name in old_by_name:
            merged = _merge_host(old_by_name[h.name], h, keep_roles=True)
            d = _diff_host(old_by_name[h.name], merged)
            if d:
                changes.append(f"host ~ {h.name}: " + "; ".join(d))
            out[out.index(old_by_name[h.name])] = merged
        else:
            out.append(h)
            changes.append(f"host + {h.name} ({_show(h.roles)}) {h.address}")
    return out, changes
