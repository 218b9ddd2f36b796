"""Import a kubeasz cluster inventory (``clusters/<name>/hosts``, the example/hosts.multi-node form).

Groups: ``[etcd]`` -> etcd, ``[kube_master]`` -> control-plane, ``[kube_node]`` -> worker (the
older dashed names ``kube-master``/``kube-node`` too); ``[harbor]``, ``[ex_lb]`` and ``[chrony]``
are kubeasz extras a plan has no role for. Hosts are listed by IP: the node name is
``k8s_nodename`` (kubeasz lower-cases it and turns '_' into '-'), else the name kubeasz itself
gives such a node, ``k8s-<ip with dashes>`` (K8S_NODENAME in example/config.yml).

``[all:vars]`` PROXY_MODE, CLUSTER_NETWORK, SERVICE_CIDR, CLUSTER_CIDR and CONTAINER_RUNTIME map
to plan fields (quotes stripped); the cluster name comes from the ``clusters/<name>/`` directory
(or ``cluster_dir``); ``config.yml`` beside the hosts file gives K8S_VER.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from ...model.hosts import HOSTNAME_RE, Role
from ...model.plan import CLUSTER_NAME_RE, Cni, ProxyMode, Runtime, Tool
from ...yamlio import InputError, load_yaml_text
from .ansible_inventory import _line, parse_inventory, read_text
from .base import SECRET_VARS, ImportResult, as_port, make_host, sort_roles

ROLE_GROUPS = {
    "etcd": Role.etcd,
    "kube_master": Role.control_plane,
    "kube-master": Role.control_plane,
    "kube_node": Role.worker,
    "kube-node": Role.worker,
}
EXTRA_GROUPS = {"harbor", "ex_lb", "ex-lb", "chrony", "deploy", "new-node", "new-master", "new-etcd", "lb"}
NETWORKS = {"calico": Cni.calico, "flannel": Cni.flannel, "cilium": Cni.cilium, "none": Cni.none}
# [all:vars] kubeasz needs but a plan does not carry
KUBEASZ_VARS = {"SECURE_PORT", "NODE_PORT_RANGE", "CLUSTER_DNS_DOMAIN", "bin_dir", "base_dir", "cluster_dir",
                "ca_dir", "k8s_nodename", "ansible_python_interpreter"}
CONNECTION_VARS = {"ansible_host", "ansible_user", "ansible_ssh_user", "ansible_port", "ansible_ssh_port",
                   "ansible_ssh_private_key_file", "ansible_ssh_common_args"}


def default_node_name(ip: str) -> str:
    """The name kubeasz gives a node without k8s_nodename: k8s-<ip with '.' (and ':') as '-'>."""
    return "k8s-" + ip.replace(".", "-").replace(":", "-").strip("-").lower()


def _cluster_name(path: Path, inv) -> str | None:
    if path.parent.parent.name == "clusters" and CLUSTER_NAME_RE.match(path.parent.name):
        return path.parent.name
    cd = inv.groups.get("all")
    if cd and "cluster_dir" in cd.vars:
        m = re.search(r"clusters/([^/\s]+)/?$", str(cd.vars["cluster_dir"][0]))
        if m and CLUSTER_NAME_RE.match(m.group(1)):
            return m.group(1)
    return None


def import_kubeasz(src: str | Path) -> ImportResult:
    path = Path(src)
    if path.is_dir():
        path = path / "hosts"
    side: list = []
    inv = parse_inventory(path, side)
    where0 = str(path)
    res = ImportResult(source=where0, tool=Tool.kubeasz, hosts=[], roles_known=True)
    for line, kind, msg in side:
        res.note(where0, line, kind, msg)
    for line, text in inv.comments:
        res.note(where0, line, "comment", text)
    for gname, g in inv.groups.items():
        if gname in ("all", "ungrouped") or gname in ROLE_GROUPS:
            continue
        kind = "unmapped" if gname in EXTRA_GROUPS else "unknown"
        members = sorted(inv.members(gname))
        what = f" ({', '.join(members)})" if members else ""
        res.note(where0, g.line, kind, f"group [{gname}]{what} is not a Kubernetes role; a plan does not carry it")

    allvars = inv.groups["all"].vars if "all" in inv.groups else {}
    for gname, g in inv.groups.items():
        if gname == "all":
            continue
        for k, (v, line) in g.vars.items():
            if k not in CONNECTION_VARS:
                res.note(where0, line, "unmapped", f"[{gname}:vars] {k} is not part of a plan")
    for k, (v, line) in allvars.items():
        w = inv.where(line)
        sv = str(v).strip().strip("'\"")
        if k in SECRET_VARS:
            res.note(where0, line, "secret", f"{k} is a secret; k8s-tui never stores one")
        elif k == "PROXY_MODE":
            if sv not in ProxyMode._value2member_map_:
                raise InputError(f"{w}: PROXY_MODE {sv!r} is not iptables, ipvs or nftables")
            res.fields["kube_proxy_mode"] = sv
            res.field_origin["kube_proxy_mode"] = w
        elif k == "CLUSTER_NETWORK":
            if sv in NETWORKS:
                res.fields["cni"] = NETWORKS[sv].value
                res.field_origin["cni"] = w
            else:
                res.note(where0, line, "unmapped", f"CLUSTER_NETWORK {sv!r} has no counterpart in a plan (calico, flannel, cilium)")
        elif k == "SERVICE_CIDR":
            res.fields["service_cidr"] = sv
            res.field_origin["service_cidr"] = w
        elif k == "CLUSTER_CIDR":
            res.fields["pod_cidr"] = sv
            res.field_origin["pod_cidr"] = w
        elif k == "CONTAINER_RUNTIME":
            if sv == Runtime.containerd.value:
                res.fields["container_runtime"] = sv
                res.field_origin["container_runtime"] = w
            else:
                res.note(where0, line, "unmapped", f"CONTAINER_RUNTIME {sv!r}: a plan knows containerd and cri-o; kubeasz only containerd (docker before 1.24)")
        elif k in CONNECTION_VARS:
            pass
        elif k in KUBEASZ_VARS:
            res.note(where0, line, "unmapped", f"{k}={sv!r} is kubeasz's own setting, not part of a plan; a render writes kubeasz's default")
        else:
            res.note(where0, line, "unknown", f"[all:vars] {k} is not a kubeasz variable k8s-tui knows; not imported")

    cfg = path.parent / "config.yml"
    if cfg.is_file():
        doc = load_yaml_text(read_text(cfg), str(cfg))
        if isinstance(doc, dict) and "K8S_VER" in doc:
            ver = str(doc["K8S_VER"]).strip()
            if "__" in ver:
                res.note(str(cfg), _line(doc, "K8S_VER"), "unmapped", f"K8S_VER is still the placeholder {ver!r}; the plan keeps its version")
            else:
                res.fields["kubernetes_version"] = ver.lstrip("v")
                res.field_origin["kubernetes_version"] = f"{cfg}:{_line(doc, 'K8S_VER')}"
        res.note(str(cfg), None, "info", "only K8S_VER is read from config.yml; its other settings stay kubeasz's")
    res.name = _cluster_name(path, inv)

    role_of: dict[str, set[Role]] = {}
    for gname, role in ROLE_GROUPS.items():
        if gname in inv.groups:
            for h in inv.members(gname):
                role_of.setdefault(h, set()).add(role)
    used_names: dict[str, str] = {}
    for ip, h in inv.hosts.items():
        where = inv.where(h.line)
        if ip not in role_of:
            continue  # reported with its group above
        eff = inv.effective_vars(ip)
        kw: dict[str, Any] = {"roles": sort_roles(role_of[ip])}
        nodename = str(eff.get("k8s_nodename", ("",))[0] or "").strip().strip("'\"")
        if nodename:
            fixed = nodename.replace("_", "-").lower()
            if fixed != nodename:
                res.note(where0, h.line, "info", f"k8s_nodename {nodename!r} becomes {fixed!r} (kubeasz lower-cases it and turns '_' into '-')")
            name = fixed
            if not HOSTNAME_RE.match(name):
                raise InputError(f"{where}: k8s_nodename {nodename!r} is not a valid node name (lower-case RFC 1123)")
        else:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                name = ip.lower()
                if not HOSTNAME_RE.match(name):
                    raise InputError(f"{where}: host {ip!r} is neither an IP address nor a valid node name") from None
            else:
                name = default_node_name(ip)
                res.note(where0, h.line, "default", f"{ip} has no k8s_nodename; named {name} as kubeasz would")
        if name in used_names:
            raise InputError(f"{where}: node name {name!r} is used by {used_names[name]} too; node names must be unique")
        used_names[name] = ip
        kw["name"] = name
        kw["address"] = str(eff["ansible_host"][0]) if "ansible_host" in eff else ip
        for var, (value, vwhere, scope) in eff.items():
            if var in ("ansible_user", "ansible_ssh_user"):
                kw["user"] = str(value)
            elif var in ("ansible_port", "ansible_ssh_port"):
                kw["port"] = as_port(value, vwhere, var)
            elif var == "ansible_ssh_private_key_file":
                kw["key_file"] = str(value)
            elif var == "ansible_ssh_common_args":
                from .kubespray import _jump_from_args

                jump = _jump_from_args(str(value))
                if jump:
                    kw["proxy_jump"] = jump
            elif scope == "host" and var in SECRET_VARS:
                res.note(vwhere.rsplit(":", 1)[0], h.line, "secret", f"{ip}: {var} is a secret; never stored")
            elif scope == "host" and var not in CONNECTION_VARS and var != "k8s_nodename":
                res.note(where0, h.line, "unknown", f"{ip}: host variable {var}={value!r} has no place in a plan; not imported")
        res.hosts.append(make_host(where, **kw))
    if res.hosts and not any(h.is_control_plane for h in res.hosts):
        raise InputError(f"{path}: no host in [kube_master]; a cluster needs at least one control plane")
    return res
