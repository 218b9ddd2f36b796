"""Import a kubespray inventory (inventory.ini or hosts.yaml, with group_vars/ beside it).

Groups (kubespray docs/ansible/inventory.md): ``kube_control_plane`` -> control-plane,
``kube_node`` -> worker, ``etcd`` -> etcd; ``k8s_cluster`` is their union; ``calico_rr`` and
``bastion`` are special. A host in several groups gets several roles, and ``[etcd:children]
kube_control_plane`` makes every control plane an etcd member. The address is ``ansible_host``,
else ``access_ip``, else ``ip``, else the inventory name. ``ip``, ``access_ip``, ``ip6``,
``access_ip6`` and ``etcd_member_name`` are kept as host labels (``kubespray/<var>``) so a render
writes them back.

As Ansible does, ``group_vars/<group>.yml`` / ``group_vars/<group>/*.yml`` and ``host_vars/``
next to the inventory file are read too: ``kube_version``, ``kube_network_plugin``,
``kube_proxy_mode``, ``kube_pods_subnet``, ``kube_service_addresses``, ``container_manager`` and
``additional_sysctl`` become plan fields and tuning; every other variable is listed as a notice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...knowledge import load_catalogue
from ...model.hosts import Role
from ...model.plan import CLUSTER_NAME_RE, Cni, ProxyMode, Runtime, Tool
from ...yamlio import InputError, load_yaml_text
from .ansible_inventory import ParsedInventory, _line, parse_inventory, read_text
from .base import SECRET_VARS, ImportResult, as_port, make_host, sort_roles

ROLE_GROUPS = {
    "kube_control_plane": Role.control_plane,
    "kube-master": Role.control_plane,  # before kubespray 2.16
    "kube_master": Role.control_plane,
    "kube_node": Role.worker,
    "kube-node": Role.worker,
    "etcd": Role.etcd,
}
KNOWN_GROUPS = {"all", "ungrouped", "k8s_cluster", "k8s-cluster", "calico_rr", "bastion", *ROLE_GROUPS}
CONNECTION_VARS = {"ansible_host", "ansible_user", "ansible_ssh_user", "ansible_port", "ansible_ssh_port",
                   "ansible_ssh_private_key_file", "ansible_ssh_common_args", "ansible_become"}
LABEL_VARS = ("ip", "access_ip", "ip6", "access_ip6", "etcd_member_name")
LABEL_PREFIX = "kubespray/"
PLAN_VARS = {"loadbalancer_apiserver", "apiserver_loadbalancer_domain_name", "kube_version", "kube_network_plugin", "kube_proxy_mode", "kube_pods_subnet",
             "kube_service_addresses", "container_manager", "additional_sysctl"}
NETWORK_PLUGINS = {"calico": Cni.calico, "flannel": Cni.flannel, "cilium": Cni.cilium, "none": Cni.none, "cni": Cni.none,
                   "custom_cni": Cni.none}
RUNTIMES = {"containerd": Runtime.containerd, "crio": Runtime.crio}


def find_inventory(src: Path) -> Path:
    if src.is_dir():
        for name in ("inventory.ini", "hosts.yaml", "hosts.yml", "hosts.ini", "hosts"):
            if (src / name).is_file():
                return src / name
        raise InputError(f"{src}: no inventory.ini or hosts.yaml in this directory")
    return src


def _jump_from_args(args: str) -> str | None:
    """ProxyJump from ansible_ssh_common_args ('-o ProxyJump=user@host:port' or '-J host')."""
    import shlex

    try:
        words = shlex.split(args)
    except ValueError:
        return None
    for i, w in enumerate(words):
        if w == "-J" and i + 1 < len(words):
            return words[i + 1]
        if w.startswith("-J") and len(w) > 2:
            return w[2:]
        opt = w[2:] if w.startswith("-o") and len(w) > 2 else (words[i + 1] if w == "-o" and i + 1 < len(words) else None)
        if opt and opt.lower().startswith("proxyjump="):
            return opt.split("=", 1)[1]
    return None


def _side_vars(inv_path: Path, res: ImportResult) -> tuple[dict[str, dict[str, tuple[Any, str]]], dict[str, dict[str, tuple[Any, str]]]]:
    """group_vars and host_vars beside the inventory: name -> var -> (value, file:line)."""
    out = []
    for kind in ("group_vars", "host_vars"):
        found: dict[str, dict[str, tuple[Any, str]]] = {}
        base = inv_path.parent / kind
        if base.is_dir():
            files: list[tuple[str, Path]] = []
            for entry in sorted(base.iterdir()):
                if entry.is_dir():
                    files += [(entry.name, f) for f in sorted(entry.iterdir()) if f.suffix in (".yml", ".yaml", "") and f.is_file()]
                elif entry.suffix in (".yml", ".yaml"):
                    files.append((entry.stem, entry))
            for name, f in files:
                doc = load_yaml_text(read_text(f), str(f))
                if doc is None:
                    continue
                if not isinstance(doc, dict):
                    raise InputError(f"{f}: expected a mapping of variables")
                for k, v in doc.items():
                    found.setdefault(name, {})[str(k)] = (v, f"{f}:{_line(doc, k) or ''}".rstrip(":"))
        out.append(found)
    return out[0], out[1]


def _tuning_from(value: Any, where: str, res: ImportResult) -> None:
    if not isinstance(value, list):
        raise InputError(f"{where}: additional_sysctl must be a list of {{name: KEY, value: VALUE}}")
    cat = load_catalogue()
    from ...model.tuning import TuningProfile

    for item in value:
        if not isinstance(item, dict) or "name" not in item or "value" not in item:
            raise InputError(f"{where}: additional_sysctl item {item!r} is not {{name: KEY, value: VALUE}}")
        key = str(item["name"])
        if key not in cat:
            res.note(where.rsplit(":", 1)[0], _lineno(where), "unknown", f"additional_sysctl {key} is not in the sysctl catalogue; not imported")
            continue
        try:
            TuningProfile(values={key: item["value"]})
        except Exception as e:  # pydantic ValidationError with the rule broken
            msg = str(e).splitlines()[-1].strip() if str(e) else repr(e)
            raise InputError(f"{where}: additional_sysctl {key}: {msg}") from None
        res.tuning[key] = item["value"]


def _lineno(where: str) -> int | None:
    tail = where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _split_where(where: str) -> tuple[str, int | None]:
    n = _lineno(where)
    return (where.rsplit(":", 1)[0], n) if n else (where, None)


def map_plan_var(name: str, value: Any, where: str, res: ImportResult) -> bool:
    """Put one kubespray variable into the plan fields; False when it is not one we map."""
    src, line = _split_where(where)
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        res.note(src, line, "unmapped", f"{name}: {value!r} is a Jinja template; k8s-tui cannot evaluate it, so the plan keeps its own value")
        return True
    if name == "kube_version":
        res.fields["kubernetes_version"] = str(value).lstrip("v")
    elif name == "kube_network_plugin":
        cni = NETWORK_PLUGINS.get(str(value))
        if cni is None:
            res.note(src, line, "unmapped", f"kube_network_plugin {value!r} has no counterpart in a plan (calico, flannel, cilium, none)")
            return True
        if str(value) in ("cni", "custom_cni"):
            res.note(src, line, "info", f"kube_network_plugin {value!r}: you install the network add-on yourself; the plan says cni: none")
        res.fields["cni"] = cni.value
    elif name == "kube_proxy_mode":
        if str(value) not in ProxyMode._value2member_map_:
            raise InputError(f"{where}: kube_proxy_mode {value!r} is not iptables, ipvs or nftables")
        res.fields["kube_proxy_mode"] = str(value)
    elif name == "kube_pods_subnet":
        res.fields["pod_cidr"] = str(value)
    elif name == "kube_service_addresses":
        res.fields["service_cidr"] = str(value)
    elif name == "container_manager":
        rt = RUNTIMES.get(str(value))
        if rt is None:
            res.note(src, line, "unmapped", f"container_manager {value!r} has no counterpart in a plan (containerd, crio)")
            return True
        res.fields["container_runtime"] = rt.value
    elif name == "loadbalancer_apiserver":
        if not isinstance(value, dict) or "address" not in value:
            res.note(src, line, "unmapped", "loadbalancer_apiserver without an address; not imported")
            return True
        host = str(value["address"])
        port = value.get("port", 6443)
        if "control_plane_endpoint" in res.fields and not res.fields["control_plane_endpoint"].startswith(host):
            pass  # the domain name wins (kubespray reaches the API by it)
        else:
            res.fields["control_plane_endpoint"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        res.field_origin["control_plane_endpoint"] = where
        return True
    elif name == "apiserver_loadbalancer_domain_name":
        port = res.fields.get("control_plane_endpoint", ":6443").rsplit(":", 1)[-1]
        res.fields["control_plane_endpoint"] = f"{value}:{port}"
        res.field_origin["control_plane_endpoint"] = where
        return True
    elif name == "additional_sysctl":
        _tuning_from(value, where, res)
        return True
    else:
        return False
    res.field_origin[name] = where
    return True


def import_kubespray(src: str | Path) -> ImportResult:
    path = find_inventory(Path(src))
    side_notes: list = []
    inv: ParsedInventory = parse_inventory(path, side_notes)
    res = ImportResult(source=str(path), tool=Tool.kubespray, hosts=[], roles_known=True)
    if path.parent.parent.name == "inventory" and CLUSTER_NAME_RE.match(path.parent.name) and path.parent.name != "sample":
        res.name = path.parent.name  # kubespray's layout: inventory/<cluster>/inventory.ini
    for line, kind, msg in side_notes:
        res.note(str(path), line, kind, msg)
    for line, text in inv.comments:
        res.note(str(path), line, "comment", text)
    group_vars, host_vars = _side_vars(path, res)

    for gname, g in inv.groups.items():
        if gname not in KNOWN_GROUPS:
            res.note(str(path), g.line, "unknown", f"group [{gname}] is not a kubespray group; its hosts get no role from it")
    for gname in ("calico_rr",):
        for h in sorted(inv.members(gname)):
            res.note(str(path), inv.groups[gname].hosts.get(h), "unmapped", f"{h} is a calico route reflector (calico_rr); a plan has no such role")

    bastion = None
    if "bastion" in inv.groups:
        bh = sorted(inv.members("bastion"))
        if bh:
            hv = inv.effective_vars(bh[0])
            addr = hv.get("ansible_host", (bh[0],))[0]
            user = hv.get("ansible_user", (None,))[0]
            bastion = f"{user}@{addr}" if user else str(addr)
            res.note(str(path), inv.groups["bastion"].line, "info", f"bastion {bh[0]} becomes every host's jump host ({bastion})")

    # group-level variables, including group_vars files
    seen_vars: set[tuple[str, str]] = set()
    for gname, g in inv.groups.items():
        for k, (v, line) in g.vars.items():
            _group_var(k, v, inv.where(line), gname, res, seen_vars)
    for gname, gvars in group_vars.items():
        for k, (v, where) in gvars.items():
            _group_var(k, v, where, gname, res, seen_vars)

    # connection variables from group_vars files apply to the group's hosts (above the inventory's)
    for gname, gvars in group_vars.items():
        if gname in inv.groups:
            for k, (v, where) in gvars.items():
                if k in CONNECTION_VARS or k in SECRET_VARS:
                    inv.groups[gname].vars[k] = (v, where)

    role_of: dict[str, set[Role]] = {}
    for gname, role in ROLE_GROUPS.items():
        if gname in inv.groups:
            for h in inv.members(gname):
                role_of.setdefault(h, set()).add(role)
    if gname_missing := [g for g in ("kube_control_plane", "kube_node") if g not in inv.groups and not _legacy(inv, g)]:
        res.note(str(path), None, "info", f"no [{'], ['.join(gname_missing)}] group in the inventory")

    for name, h in inv.hosts.items():
        where = inv.where(h.line)
        if name in inv.members("bastion") and name not in role_of:
            continue
        if name not in role_of:
            res.note(str(path), h.line, "unmapped", f"host {name} is in no kubespray role group ({', '.join(inv.groups_of(name)) or 'ungrouped'}); not imported")
            continue
        eff = inv.effective_vars(name)
        for hv_name, hv in host_vars.get(name, {}).items():
            eff[hv_name] = (hv[0], hv[1], "host")
        kw: dict[str, Any] = {"name": name, "roles": sort_roles(role_of[name])}
        labels: dict[str, str] = {}
        for var, (value, vwhere, scope) in eff.items():
            vsrc, vline = _split_where(vwhere)
            if scope != "host" and var not in CONNECTION_VARS:
                continue  # group vars were reported once above
            if var in SECRET_VARS:
                res.note(vsrc, vline, "secret", f"{name}: {var} is a secret; k8s-tui never stores one (it asks at run time)")
            elif var in ("ansible_user", "ansible_ssh_user"):
                kw["user"] = str(value)
            elif var in ("ansible_port", "ansible_ssh_port"):
                kw["port"] = as_port(value, vwhere, var)
            elif var == "ansible_ssh_private_key_file":
                kw["key_file"] = str(value)
            elif var == "ansible_ssh_common_args":
                jump = _jump_from_args(str(value))
                if jump:
                    kw["proxy_jump"] = jump
                else:
                    res.note(vsrc, vline, "unmapped", f"{name}: ansible_ssh_common_args {value!r} has no ProxyJump; not imported")
            elif var in ("ansible_host", "ansible_become"):
                pass
            elif var in LABEL_VARS:
                labels[LABEL_PREFIX + var] = str(value)
            elif scope == "host" and var in PLAN_VARS:
                res.note(vsrc, vline, "unmapped", f"{name}: {var} set for one host; a plan sets it for the whole cluster, so it is not imported")
            else:
                res.note(vsrc, vline, "unknown", f"{name}: host variable {var}={value!r} has no place in a plan; not imported")
        address = next((str(eff[v][0]) for v in ("ansible_host", "access_ip", "ip") if v in eff and eff[v][0] not in (None, "")), name)
        kw["address"] = address
        if labels:
            kw["labels"] = labels
        if bastion and "proxy_jump" not in kw:
            kw["proxy_jump"] = bastion
        res.hosts.append(make_host(where, **kw))
    if res.hosts and not any(h.is_control_plane for h in res.hosts):
        raise InputError(f"{path}: no host is in [kube_control_plane]; a cluster needs at least one control plane")
    return res


def _legacy(inv: ParsedInventory, group: str) -> bool:
    alt = {"kube_control_plane": ("kube-master", "kube_master"), "kube_node": ("kube-node",)}[group]
    return any(a in inv.groups for a in alt)


def _group_var(k: str, v: Any, where: str, gname: str, res: ImportResult, seen: set) -> None:
    if (gname, k) in seen:
        return
    seen.add((gname, k))
    src, line = _split_where(where)
    if k in SECRET_VARS:
        res.note(src, line, "secret", f"[{gname}] {k} is a secret; k8s-tui never stores one (it asks at run time)")
    elif k in CONNECTION_VARS:
        pass  # applied per host through effective_vars
    elif map_plan_var(k, v, where, res):
        pass
    else:
        res.note(src, line, "unmapped", f"[{gname}] {k} is kubespray's own setting, not part of a plan; left as it is")
