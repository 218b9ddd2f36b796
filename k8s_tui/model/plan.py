"""The cluster plan: every answer the wizard collects, saved as plan.yaml.

A plan never holds a secret: ``extra="forbid"`` everywhere means a ``password:`` field in a
hand-edited plan is refused, not silently carried along.
"""

from __future__ import annotations

import ipaddress
import re
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..yamlio import InputError, dump_yaml, line_of, load_yaml, load_yaml_text, plain
from .hosts import Host, Inventory, Role, check_address
from .bundle import check_bundle_dir
from .network import NetworkSettings, ProxySettings, Url, check_image_repository, check_registry_mirrors
from .presets import load_presets, presets_dir
from .tuning import TuningProfile, parse_tuning

# matched whole (fullmatch) and ASCII only: "$" lets a trailing newline through, "\d" full-width digits
K8S_VERSION_RE = re.compile(r"^v?(1\.(\d+))(\.\d+)?$", re.ASCII)
SYSCTL_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\.conf$", re.ASCII)
CLUSTER_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.ASCII)
PORT_RE = re.compile(r"[0-9]{1,5}", re.ASCII)
MAX_ERRORS_SHOWN = 20  # a file with thousands of bad values gets the first ones and a count


class Tool(str, Enum):
    kubeadm = "kubeadm"
    kubespray = "kubespray"
    kubeasz = "kubeasz"
    kops = "kops"


class ProxyMode(str, Enum):
    iptables = "iptables"
    ipvs = "ipvs"
    nftables = "nftables"


class Cni(str, Enum):
    calico = "calico"
    flannel = "flannel"
    cilium = "cilium"
    manifest = "manifest"  # a file or URL the user gives (cni_manifest)
    none = "none"


class NetworkCheck(str, Enum):
    strict = "strict"
    warn = "warn"
    off = "off"


class Runtime(str, Enum):
    containerd = "containerd"
    crio = "cri-o"


class ClusterPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str = "k8s"
    tool: Tool = Tool.kubeadm
    kubernetes_version: str = "1.33.0"
    control_plane_endpoint: str | None = Field(default=None, description="host[:port] of the API server or its load balancer")
    pod_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    cni: Cni = Cni.calico
    cni_manifest: str | None = None
    kube_proxy_mode: ProxyMode = ProxyMode.nftables
    container_runtime: Runtime = Runtime.containerd
    sysctl_file: str = "90-k8s-tui.conf"
    preset: str | None = Field(default=None, description="name of the preset the tuning started from")
    # where packages and images come from (model/network.py); unset: pkgs.k8s.io and registry.k8s.io
    image_repository: str | None = Field(default=None, description="registry[/path] kubeadm pulls its images from")
    package_repository: Url | None = Field(default=None, description="base URL laid out like pkgs.k8s.io/core:/stable:")
    registry_mirrors: dict[str, list[Url]] = Field(default_factory=dict, description="registry -> mirror URLs")
    proxy: ProxySettings | None = None
    offline_bundle: str | None = Field(default=None, description="folder with packages, image tarballs and manifest.yaml (k8s-tui bundle)")
    network_check: NetworkCheck = Field(default=NetworkCheck.warn, description=(
        "the reachability check the kubeadm path runs right after facts, before any change: each host tries the "
        "package repository, the image registry and every mirror. warn (default): a failing endpoint is reported "
        "with its hint and the run goes on (labs without internet install from a bundle or local mirrors); "
        "strict: a failing endpoint fails that host there; off: no check"))
    hosts: list[Host] = Field(default_factory=list)
    tuning: TuningProfile = Field(default_factory=TuningProfile)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not CLUSTER_NAME_RE.fullmatch(v):
            raise ValueError(f"{v!r} is not a valid cluster name (lower-case letters, digits and '-')")
        return v

    @field_validator("kubernetes_version")
    @classmethod
    def _version(cls, v: str) -> str:
        m = K8S_VERSION_RE.fullmatch(str(v).strip())
        if not m:
            raise ValueError(f"{v!r} is not a Kubernetes version like 1.33 or 1.33.2")
        return str(v).strip().lstrip("v")

    @field_validator("pod_cidr", "service_cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        try:
            return str(ipaddress.ip_network(str(v).strip(), strict=True))
        except ValueError as e:
            raise ValueError(f"{v!r} is not a network in CIDR form like 10.244.0.0/16 ({e})") from None

    @field_validator("control_plane_endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is None or v.strip() == "":
            return None
        v = v.strip()
        if any(c.isspace() for c in v):
            raise ValueError(f"{v!r} has a space or a line break; an endpoint is host[:port]")
        host, port = v, None
        if v.startswith("["):  # [v6]:port
            m = re.fullmatch(r"\[([^\]]+)\](?::([0-9]+))?", v, re.ASCII)
            if not m:
                raise ValueError(f"{v!r} is not host[:port]")
            host, port = m.groups()
        elif v.count(":") == 1:
            host, port = v.split(":")
        check_address(host)
        if port is not None and not (PORT_RE.fullmatch(port) and 1 <= int(port) <= 65535):
            raise ValueError(f"port {port!r} in {v!r} is not a port number (ASCII digits, 1..65535)")
        return v

    @field_validator("image_repository")
    @classmethod
    def _image_repository(cls, v: str | None) -> str | None:
        return None if v is None or not str(v).strip() else check_image_repository(v)

    @field_validator("registry_mirrors")
    @classmethod
    def _registry_mirrors(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return check_registry_mirrors(v)

    @field_validator("offline_bundle")
    @classmethod
    def _offline_bundle(cls, v: str | None) -> str | None:
        return None if v is None or not str(v).strip() else check_bundle_dir(v)

    @field_validator("network_check", mode="before")
    @classmethod
    def _network_check(cls, v: object) -> object:
        if isinstance(v, str) and v.strip().lower() not in {m.value for m in NetworkCheck}:
            raise ValueError(f"{v!r} is not a network check mode: strict, warn or off")
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("sysctl_file")
    @classmethod
    def _sysctl_file(cls, v: str) -> str:
        if not SYSCTL_FILE_RE.fullmatch(v):
            raise ValueError(f"{v!r} is not a plain sysctl.d file name ending in .conf (letters, digits, . _ -)")
        return v

    @field_validator("preset")
    @classmethod
    def _preset(cls, v: str | None) -> str | None:
        """A preset is a name from the presets list, never a path (render and apply look it up)."""
        if v is None or v == "":
            return None
        known = preset_names()
        if v not in known:
            raise ValueError(f"{v!r} is not a preset; a preset is one of: {', '.join(known)}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ClusterPlan:
        Inventory(hosts=self.hosts)  # unique names
        if self.cni is Cni.manifest and not self.cni_manifest:
            raise ValueError("cni is 'manifest' but cni_manifest (a file path or URL) is empty")
        if self.hosts and not any(h.is_control_plane for h in self.hosts):
            raise ValueError("no host has the control-plane role")
        a = ipaddress.ip_network(self.pod_cidr)
        b = ipaddress.ip_network(self.service_cidr)
        if a.version == b.version and a.overlaps(b):
            raise ValueError(f"pod_cidr {self.pod_cidr} overlaps service_cidr {self.service_cidr}")
        if self.tool is Tool.kubeasz:  # its inventory lists hosts by address (render refuses two on one)
            seen: dict[str, str] = {}
            for h in self.hosts:
                if h.address in seen:
                    raise ValueError(f"kubeasz lists hosts by address: {h.name} and {seen[h.address]} both have {h.address}")
                seen[h.address] = h.name
        return self

    @property
    def k8s_minor(self) -> int:
        return int(K8S_VERSION_RE.match(self.kubernetes_version).group(2))

    @property
    def network(self) -> NetworkSettings:
        return NetworkSettings(image_repository=self.image_repository, package_repository=self.package_repository,
                               registry_mirrors=self.registry_mirrors, proxy=self.proxy)

    @property
    def inventory(self) -> Inventory:
        return Inventory(hosts=self.hosts)

    def first_control_plane(self) -> Host | None:
        return next((h for h in self.hosts if Role.control_plane in h.roles), None)

    def to_yaml(self) -> str:
        return dump_yaml(plan_to_doc(self))


def preset_names() -> list[str]:
    """The names a plan's ``preset`` may take; the files' names when a preset does not load."""
    try:
        return list(load_presets())
    except InputError:
        return sorted(p.stem for p in presets_dir().glob("*.yaml"))


def _host_name(doc: Any, loc: tuple) -> str | None:
    """The name of the host an error at ``hosts.<i>...`` is about, from the document."""
    if len(loc) < 2 or loc[0] != "hosts" or not isinstance(loc[1], int) or not isinstance(doc, dict):
        return None
    hosts = doc.get("hosts")
    if isinstance(hosts, list) and 0 <= loc[1] < len(hosts) and isinstance(hosts[loc[1]], dict):
        name = hosts[loc[1]].get("name")
        if isinstance(name, str) and name:
            return name[:64]
    return None


def _format_errors(source: str, doc: Any, e: ValidationError, prefix: tuple = ()) -> str:
    lines = []
    errors = e.errors()
    for err in errors[:MAX_ERRORS_SHOWN]:
        loc = (*prefix, *err["loc"])
        # tuning.values.<key> is where a sysctl error lands; show it as tuning.<key>
        shown = [str(p) for p in loc if p != "values"]
        field = ".".join(shown) or "(top level)"
        host = _host_name(doc, loc)
        if host is not None:
            field += f" (host {host!r})"
        line = line_of(doc, tuple(p for p in loc if p != "values"))
        where = f" line {line}" if line else ""
        value = err.get("input")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not part of a plan; secrets such as passwords never belong in a plan file)"
        elif not isinstance(value, (dict, list)) and value is not None and repr(value) not in msg:
            msg = f"{msg} (got {value!r})"
        lines.append(f"{source}{where}: {field}: {msg}")
    if len(errors) > MAX_ERRORS_SHOWN:
        lines.append(f"{source}: ... and {len(errors) - MAX_ERRORS_SHOWN} more problems")
    return "\n".join(lines)


def plan_from_doc(doc: Any, source: str) -> ClusterPlan:
    if not isinstance(doc, dict):
        raise InputError(f"{source}: expected a mapping at the top level of a plan")
    data = plain(doc)
    # the file form is ``tuning: {key: value}``; the model keeps them under ``values``
    if isinstance(data.get("tuning"), dict):
        data["tuning"] = {"values": data["tuning"]}
    # sysctl values are checked first, one message per key, each with its own line
    tuning = data.get("tuning", {}).get("values") if isinstance(data.get("tuning"), dict) else None
    if isinstance(tuning, dict):
        _, problems = parse_tuning(tuning)
        if problems:
            lines = []
            for key, msg in problems:
                line = line_of(doc, ("tuning", key))
                where = f" line {line}" if line else ""
                lines.append(f"{source}{where}: tuning.{key}: {msg}")
            raise InputError("\n".join(lines))
    try:
        return ClusterPlan.model_validate(data)
    except ValidationError as e:
        raise InputError(_format_errors(source, doc, e)) from None


def load_plan(path: str | Path) -> ClusterPlan:
    return plan_from_doc(load_yaml(path), str(path))


def load_plan_text(text: str, source: str = "<plan>") -> ClusterPlan:
    return plan_from_doc(load_yaml_text(text, source), source)


def plan_to_doc(plan: ClusterPlan) -> dict:
    data = plan.model_dump(mode="json", exclude_none=True)
    if data.get("network_check") == NetworkCheck.warn.value:  # the default: plans saved before it stay as they were
        del data["network_check"]
    data["tuning"] = data.get("tuning", {}).get("values", {})
    return data


def save_plan(plan: ClusterPlan, path: str | Path) -> None:
    """Write atomically so a crash never leaves half a plan."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text("# k8s-tui cluster plan (no secrets are ever stored here)\n" + dump_yaml(plan_to_doc(plan)), encoding="utf-8")
    tmp.replace(p)
