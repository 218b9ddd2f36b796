"""What every importer hands back: hosts, plan fields and tuning taken from a file, plus notices.

A notice is something in the source that did not become part of the plan (a comment, an unknown
variable, a group the plan has no role for, a secret that is never stored): it names the file and
line so nothing is silently lost. A problem that makes the source unusable is an InputError that
names the file and line, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ...model.hosts import Host, Role
from ...model.plan import Tool
from ...yamlio import InputError

# host variables that are secrets: never imported, always reported
SECRET_VARS = {
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_become_pass",
    "ansible_become_password",
    "ansible_sudo_pass",
    "ansible_private_key_passphrase",
}


@dataclass(frozen=True)
class Notice:
    source: str
    line: int | None
    kind: str  # comment | unknown | unmapped | secret | skipped | info | default
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class ImportResult:
    source: str
    tool: Tool | None  # the tool the source belongs to (None: connection details only)
    hosts: list[Host]
    roles_known: bool  # False when the source says nothing about roles (ssh config)
    fields: dict[str, Any] = field(default_factory=dict)  # ClusterPlan field -> value
    field_origin: dict[str, str] = field(default_factory=dict)  # field -> "file:line" it came from
    tuning: dict[str, Any] = field(default_factory=dict)  # sysctl key -> value
    name: str | None = None  # a cluster name the source implies
    notices: list[Notice] = field(default_factory=list)

    def note(self, source: str, line: int | None, kind: str, message: str) -> None:
        self.notices.append(Notice(source, line, kind, message))


ROLE_ORDER = [Role.control_plane, Role.etcd, Role.worker]


def sort_roles(roles: set[Role] | list[Role]) -> list[Role]:
    return [r for r in ROLE_ORDER if r in roles]


def make_host(where: str, **kw: Any) -> Host:
    """A Host, or an InputError naming ``where`` (file:line) and the field that is wrong."""
    try:
        return Host(**kw)
    except ValidationError as e:
        msgs = []
        for err in e.errors():
            fieldname = ".".join(str(p) for p in err["loc"]) or "host"
            msgs.append(f"{fieldname}: {err['msg'].removeprefix('Value error, ')}")
        raise InputError(f"{where}: host {kw.get('name')!r}: " + "; ".join(msgs)) from None


def as_port(value: Any, where: str, what: str = "port") -> int:
    try:
        p = int(str(value).strip())
    except ValueError:
        raise InputError(f"{where}: {what} {value!r} is not a number") from None
    if not 1 <= p <= 65535:
        raise InputError(f"{where}: {what} {p} is outside 1..65535")
    return p
