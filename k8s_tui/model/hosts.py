"""Hosts and the inventory: who we connect to and what role each plays.

Every field is checked tightly at the edge, because names, users and addresses end up in
remote commands and file names: nothing here may carry a shell metacharacter.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from enum import Enum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# RFC 1123 label(s); the same rule Kubernetes applies to node names
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
# an address we can dial: a DNS name (letters, digits, dots, dashes) or an IP literal
DNS_NAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
# POSIX portable user names (useradd's default rule)
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\$?$")
SAFE_PATH_RE = re.compile(r"^[A-Za-z0-9_./~+@-][A-Za-z0-9_./~+@ -]*$")
# every pattern here is matched whole (fullmatch): "$" alone would let a trailing newline through
JUMP_RE = re.compile(r"(?:([^@]+)@)?([^:@]+)(?::([0-9]{1,5}))?", re.ASCII)
# label keys: the kubespray variables an import keeps (``kubespray/access_ip``), notes alike
LABEL_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,126}", re.ASCII)
LABEL_VALUE_MAX = 1024


def _label_key(v: str) -> str:
    if not LABEL_KEY_RE.fullmatch(v):
        raise ValueError(f"label name {v!r} is not letters, digits and _ . / - (up to 127, starting with a letter or digit)")
    return v


def _label_value(v: str) -> str:
    """One line of text that an Ansible INI inventory can hold in single quotes (render writes it there)."""
    if len(v) > LABEL_VALUE_MAX:
        raise ValueError(f"a label value is at most {LABEL_VALUE_MAX} characters (got {len(v)})")
    for ch in v:
        if ch in "\r\n\u2028\u2029\x85":
            raise ValueError(f"a label value is one line; this one has a line break ({ch!r})")
        if unicodedata.category(ch).startswith("C"):
            raise ValueError(f"a label value has no control characters; this one has U+{ord(ch):04X}")
        if ch == "'":
            raise ValueError("a label value has no single quote (it is written into an Ansible inventory in single quotes)")
    return v


LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[str, AfterValidator(_label_value)]


class Role(str, Enum):
    control_plane = "control-plane"
    worker = "worker"
    etcd = "etcd"


ADDRESS_FORM = "an IP address (192.0.2.10, 2001:db8::10) or a host name (web-1.example.com)"


def check_address(v: str) -> str:
    """An IP address (v4 or v6) or a host name made of RFC 1123 labels. A name whose last label
    is all digits is meant as an IPv4 address (no top-level domain is numeric, RFC 3696), so one
    that is not a valid IPv4 address (1.2.3.999, 10.0.0) is refused rather than looked up as a
    name; the message says which form was expected."""
    v = v.strip()
    try:
        return str(ipaddress.ip_address(v))
    except ValueError:
        pass
    if not v:
        raise ValueError(f"is empty; it must be {ADDRESS_FORM}")
    labels = v.split(".")
    if all(p.isdigit() for p in labels):
        try:
            ipaddress.IPv4Address(v)
        except ValueError as e:
            why = str(e).replace(f" in {v!r}", "").strip()
            raise ValueError(f"{v!r} is not a valid IPv4 address: {why[:1].lower() + why[1:]}; it must be {ADDRESS_FORM}") from None
    if ":" in v and all(c in "0123456789abcdefABCDEF:." for c in v):
        try:
            ipaddress.IPv6Address(v)
        except ValueError as e:
            why = str(e).replace(f" in {v!r}", "").strip()
            raise ValueError(f"{v!r} is not a valid IPv6 address: {why[:1].lower() + why[1:]}; it must be {ADDRESS_FORM}") from None
    if labels[-1].isdigit():
        raise ValueError(f"{v!r} is not a host name: it ends in the all-digit part {labels[-1]!r}, which only an "
                         f"IPv4 address has; it must be {ADDRESS_FORM}")
    if not DNS_NAME_RE.fullmatch(v):
        raise ValueError(f"{v!r} is neither an IP address nor a DNS name; it must be {ADDRESS_FORM}")
    return v


class Host(BaseModel):
    """One machine. No secret lives here: passwords and passphrases are asked at run time."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str = Field(description="node name: lower-case RFC 1123, as Kubernetes requires")
    address: str = Field(description="IP address or DNS name to SSH to")
    port: int = Field(default=22, ge=1, le=65535)
    user: str = "root"
    key_file: str | None = None
    roles: list[Role] = Field(default_factory=lambda: [Role.worker], min_length=1)
    proxy_jump: str | None = Field(default=None, description="user@host:port of a jump host")
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, description="free-form notes kept from an import")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not HOSTNAME_RE.fullmatch(v):
            raise ValueError(
                f"{v!r} is not a valid node name: lower-case letters, digits, '-' and '.', "
                "starting and ending with a letter or digit (RFC 1123)"
            )
        return v

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        return check_address(v)

    @field_validator("user")
    @classmethod
    def _user(cls, v: str) -> str:
        if not USER_RE.fullmatch(v):
            raise ValueError(f"{v!r} is not a valid user name (lower-case letters, digits, '_' and '-', up to 32)")
        return v

    @field_validator("key_file")
    @classmethod
    def _key_file(cls, v: str | None) -> str | None:
        if v is not None and (not v or not SAFE_PATH_RE.fullmatch(v)):
            raise ValueError(f"{v!r} is not a plain file path (letters, digits, and _ . / ~ + @ - space)")
        return v

    @field_validator("proxy_jump")
    @classmethod
    def _jump(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if any(c.isspace() for c in v):
            raise ValueError(f"{v!r} has a space or a line break; a jump host is [user@]host[:port]")
        m = JUMP_RE.fullmatch(v)
        if not m:
            raise ValueError(f"{v!r} is not a jump host of the form [user@]host[:port]")
        user, host, port = m.groups()
        if user is not None and not USER_RE.fullmatch(user):
            raise ValueError(f"jump host user {user!r} is not a valid user name")
        check_address(host)
        if port is not None and not 1 <= int(port) <= 65535:
            raise ValueError(f"jump host port {port} is outside 1..65535")
        return v

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: list[Role]) -> list[Role]:
        out: list[Role] = []
        for r in v:
            if r not in out:
                out.append(r)
        return out

    @property
    def is_control_plane(self) -> bool:
        return Role.control_plane in self.roles

    @property
    def is_worker(self) -> bool:
        return Role.worker in self.roles

    @property
    def is_etcd(self) -> bool:
        return Role.etcd in self.roles


class Inventory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hosts: list[Host] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Inventory:
        seen: set[str] = set()
        for h in self.hosts:
            if h.name in seen:
                raise ValueError(f"host name {h.name!r} is used twice; node names must be unique")
            seen.add(h.name)
        return self

    def control_planes(self) -> list[Host]:
        return [h for h in self.hosts if h.is_control_plane]

    def workers(self) -> list[Host]:
        return [h for h in self.hosts if h.is_worker and not h.is_control_plane]

    def get(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)
