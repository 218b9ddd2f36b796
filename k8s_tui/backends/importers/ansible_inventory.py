"""Ansible inventories (INI and YAML) read the way ansible-core reads them, with line numbers.

Only static inventories: groups, their hosts, children and vars. The rules follow ansible-core's
``ini`` and ``yaml`` inventory plugins (2.19): hosts before any section are ``ungrouped``; host
lines are split like a shell line with ``#`` comments; values go through a literal-eval so
``port=22`` is a number and ``X="a"`` is the string ``a``; ``[g:children]`` and ``[g:vars]`` must
name groups defined somewhere in the file. Beyond what Ansible checks, these are errors here
because they would silently lose something: the same host twice in one group, a host variable
set to two different values, a cycle of child groups.
"""

from __future__ import annotations

import ast
import re
import shlex
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from ...yamlio import InputError, load_yaml_text
from ...yamlio import read_text as read_input_file

SECTION_RE = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
GROUPNAME_RE = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RANGE_RE = re.compile(r"^(.*?)\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::(\d+))?\](.*)$")


@dataclass
class InvGroup:
    name: str
    line: int | None
    hosts: dict[str, int | None] = field(default_factory=dict)  # host -> line of its entry here
    children: dict[str, int | None] = field(default_factory=dict)
    vars: dict[str, tuple[Any, int | None]] = field(default_factory=dict)
    defined: bool = False  # by [g] / [g:children] (INI) or a key (YAML), not only by [g:vars]


@dataclass
class InvHost:
    name: str
    line: int | None  # first line that names the host
    vars: dict[str, tuple[Any, int | None]] = field(default_factory=dict)


@dataclass
class ParsedInventory:
    source: str
    groups: dict[str, InvGroup] = field(default_factory=dict)
    hosts: dict[str, InvHost] = field(default_factory=dict)
    comments: list[tuple[int, str]] = field(default_factory=list)

    def where(self, line: int | str | None) -> str:
        if isinstance(line, str):  # already "file:line" (a group_vars file)
            return line
        return f"{self.source}:{line}" if line else self.source

    def group(self, name: str, line: int | None) -> InvGroup:
        g = self.groups.get(name)
        if g is None:
            g = self.groups[name] = InvGroup(name, line)
        return g

    # -- membership --------------------------------------------------------------------------

    def members(self, group: str) -> set[str]:
        """Every host in the group or, transitively, in its children."""
        out: set[str] = set()
        seen: set[str] = set()
        stack = [group]
        while stack:
            g = self.groups.get(stack.pop())
            if g is None or g.name in seen:
                continue
            seen.add(g.name)
            out.update(g.hosts)
            stack.extend(g.children)
        if group == "all":
            out.update(self.hosts)
        return out

    def groups_of(self, host: str) -> list[str]:
        return [g for g in self.groups if host in self.members(g)]

    def depth(self, group: str) -> int:
        """How many parents deep a group is (all = 0), the order Ansible merges group vars in."""
        parents = {c: [] for c in self.groups}
        for g in self.groups.values():
            for c in g.children:
                parents.setdefault(c, []).append(g.name)
        memo: dict[str, int] = {}

        def d(name: str, trail: frozenset) -> int:
            if name == "all":
                return 0
            if name in memo:
                return memo[name]
            ps = [p for p in parents.get(name, []) if p not in trail]
            memo[name] = 1 + max((d(p, trail | {name}) for p in ps), default=0)
            return memo[name]

        return d(group, frozenset())

    def effective_vars(self, host: str) -> dict[str, tuple[Any, str, str]]:
        """var -> (value, where it was set, 'host' or the group name), Ansible's precedence:
        all, then groups from shallow to deep (ties by name), then the host's own vars."""
        out: dict[str, tuple[Any, str, str]] = {}
        groups = sorted((g for g in self.groups_of(host)), key=lambda g: (self.depth(g), g))
        if "all" in self.groups and "all" not in groups:
            groups.insert(0, "all")
        for gname in groups:
            for k, (v, line) in self.groups[gname].vars.items():
                out[k] = (v, self.where(line), gname)
        h = self.hosts[host]
        for k, (v, line) in h.vars.items():
            out[k] = (v, self.where(line), "host")
        return out

    # -- checks ------------------------------------------------------------------------------

    def check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(name: str, path: list[str]) -> None:
            state[name] = 1
            g = self.groups.get(name)
            for child, line in (g.children.items() if g else []):
                if state.get(child) == 1:
                    cyc = " -> ".join([*path[path.index(child):], child]) if child in path else f"{name} -> {child}"
                    raise InputError(f"{self.where(line)}: group cycle: {cyc} (a group cannot contain itself)")
                if state.get(child) is None:
                    visit(child, [*path, child])
            state[name] = 2

        for name in list(self.groups):
            if state.get(name) is None:
                visit(name, [name])


# ---------------------------------------------------------------------------------- values


def parse_value(text: str) -> Any:
    """ansible-core's INI value rule: a Python literal when it is one, else the text as it is."""
    try:
        v = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if isinstance(v, (bytes, complex)) or v is Ellipsis:
        return text
    return v


def _split_comment(line: str) -> tuple[str, str | None]:
    """(code, comment) for a host line: a ``#`` that starts a word outside quotes starts a comment,
    as in shlex with comments=True."""
    quote = None
    prev_space = True
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
            elif ch == "\\" and quote == '"':
                continue
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and prev_space:
            return line[:i].rstrip(), line[i + 1 :].strip()
        prev_space = ch in " \t" and not quote
    return line, None


def expand_host_pattern(pattern: str, where: str) -> tuple[list[str], int | None]:
    """``node[1:3]`` -> node1..node3 (numeric keeps leading zeros, letters a:f, optional stride),
    ``host:2222`` -> a port. IPv6 literals (more than one ':') carry no port."""
    port = None
    if pattern.endswith(":"):
        raise InputError(f"{where}: host pattern {pattern!r} ends in ':' (a port must follow)")
    outside = re.sub(r"\[[^\]]*\]", "", pattern)
    if outside.count(":") == 1:
        head, _, p = pattern.rpartition(":")
        if not p.isdigit():
            raise InputError(f"{where}: host {pattern!r}: port {p!r} is not a number")
        pattern, port = head, int(p)
    names = [pattern]
    out: list[str] = []
    while names:
        n = names.pop(0)
        m = RANGE_RE.match(n)
        if not m:
            out.append(n)
            continue
        head, beg, end, stride, tail = m.groups()
        step = int(stride or 1)
        if beg.isdigit() and end.isdigit():
            width = len(beg) if beg.startswith("0") else 0
            seq = [str(i).zfill(width) for i in range(int(beg), int(end) + 1, step)]
        elif len(beg) == 1 and len(end) == 1 and beg.isalpha() and end.isalpha():
            letters = string.ascii_letters
            a, b = letters.index(beg), letters.index(end)
            seq = list(letters[a : b + 1 : step])
        else:
            raise InputError(f"{where}: host range [{beg}:{end}] is neither numeric nor single letters")
        if not seq:
            raise InputError(f"{where}: host range [{beg}:{end}] is empty")
        names = [head + s + tail for s in seq] + names
    return out, port


# ------------------------------------------------------------------------------------- INI


def _add_host(inv: ParsedInventory, group: InvGroup, name: str, line: int, variables: dict[str, Any]) -> None:
    if name in group.hosts:
        first = group.hosts[name]
        raise InputError(
            f"{inv.where(line)}: host {name!r} is listed twice in [{group.name}] (first on line {first})"
        )
    group.hosts[name] = line
    h = inv.hosts.get(name)
    if h is None:
        h = inv.hosts[name] = InvHost(name, line)
    for k, v in variables.items():
        if k in h.vars and h.vars[k][0] != v:
            old, old_line = h.vars[k]
            raise InputError(
                f"{inv.where(line)}: host {name!r} sets {k}={v!r} but line {old_line} set {k}={old!r}; "
                "Ansible would silently keep only one of them"
            )
        h.vars[k] = (v, line)


def parse_ini(text: str, source: str) -> ParsedInventory:
    inv = ParsedInventory(source)
    inv.group("all", None).defined = True
    group = inv.group("ungrouped", None)
    group.defined = True
    state = "hosts"
    pending_vars: dict[str, int] = {}
    pending_children: dict[str, tuple[int, str]] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        where = inv.where(lineno)
        if line[0] in "#;":
            inv.comments.append((lineno, line[1:].strip()))
            continue
        if line.startswith("["):
            m = SECTION_RE.match(line)
            if not m:
                if "]" not in line:
                    raise InputError(f"{where}: section header {line!r} is not closed with ']'")
                raise InputError(
                    f"{where}: {line!r} is not a section header like [group], [group:vars] or "
                    "[group:children] (no spaces inside the brackets)"
                )
            name, kind = m.group(1), m.group(2) or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise InputError(f"{where}: section [{name}:{kind}] has unknown type {kind!r} (vars or children)")
            if "#" in line[m.end(1):]:
                inv.comments.append((lineno, line.split("#", 1)[1].strip()))
            group = inv.group(name, lineno)
            state = kind
            if kind == "vars":
                if not group.defined:
                    pending_vars.setdefault(name, lineno)
            else:
                group.defined = True
            continue
        if state == "hosts":
            code, comment = _split_comment(line)
            if comment is not None:
                inv.comments.append((lineno, comment))
            try:
                tokens = shlex.split(code, comments=False)
            except ValueError as e:
                raise InputError(f"{where}: cannot split host line {line!r}: {e}") from None
            if not tokens:
                continue
            names, port = expand_host_pattern(tokens[0], where)
            variables: dict[str, Any] = {}
            for t in tokens[1:]:
                if "=" not in t:
                    raise InputError(f"{where}: host variable {t!r} is not key=value")
                k, v = t.split("=", 1)
                if not VAR_NAME_RE.match(k):
                    raise InputError(f"{where}: {k!r} is not a variable name (letters, digits, '_')")
                variables[k] = parse_value(v)
            if port is not None:
                variables["ansible_port"] = port
            for n in names:
                _add_host(inv, group, n, lineno, variables)
        elif state == "vars":
            if "=" not in line:
                raise InputError(f"{where}: expected key=value in [{group.name}:vars], got {line!r}")
            k, v = (p.strip() for p in line.split("=", 1))
            if not VAR_NAME_RE.match(k):
                raise InputError(f"{where}: {k!r} is not a variable name (letters, digits, '_')")
            if k in group.vars and group.vars[k][0] != parse_value(v):
                raise InputError(
                    f"{where}: {k} is set again in [{group.name}:vars] (first on line {group.vars[k][1]}); "
                    "Ansible would silently keep only the last one"
                )
            group.vars[k] = (parse_value(v), lineno)
        else:  # children
            m = GROUPNAME_RE.match(line)
            if not m:
                raise InputError(f"{where}: expected a group name in [{group.name}:children], got {line!r}")
            child = m.group(1)
            if child in group.children:
                raise InputError(f"{where}: [{group.name}:children] lists {child!r} twice")
            group.children[child] = lineno
            if "#" in line:
                inv.comments.append((lineno, line.split("#", 1)[1].strip()))
            if not (child in inv.groups and inv.groups[child].defined):
                pending_children.setdefault(child, (lineno, group.name))
    for name, (lineno, parent) in pending_children.items():
        if not inv.groups.get(name) or not inv.groups[name].defined:
            raise InputError(f"{inv.where(lineno)}: [{parent}:children] names group {name!r}, which is defined nowhere in the file")
    for name, lineno in pending_vars.items():
        if not inv.groups[name].defined:
            raise InputError(f"{inv.where(lineno)}: [{name}:vars] is for group {name!r}, which is defined nowhere in the file")
    inv.check_cycles()
    return inv


# ------------------------------------------------------------------------------------ YAML


def _yaml_comments(text: str) -> list[tuple[int, str]]:
    out = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if s.startswith("#"):
            out.append((lineno, s[1:].strip()))
            continue
        _, comment = _split_comment(raw)
        if comment is not None:
            out.append((lineno, comment))
    return out


def _line(node: Any, key: Any) -> int | None:
    if isinstance(node, CommentedMap):
        try:
            return node.lc.key(key)[0] + 1
        except (KeyError, TypeError, AttributeError):
            return None
    return None


GROUP_KEYS = {"hosts", "children", "vars"}


def parse_yaml(text: str, source: str, notices: list[tuple[int | None, str, str]] | None = None) -> ParsedInventory:
    """``notices`` (line, kind, message) receives keys Ansible would skip."""
    doc = load_yaml_text(text, source)
    inv = ParsedInventory(source)
    inv.comments = _yaml_comments(text)
    if doc is None:
        return inv
    if not isinstance(doc, dict):
        raise InputError(f"{source}: an Ansible YAML inventory is a mapping of groups (all: {{hosts: ..., children: ...}})")
    inv.group("all", None).defined = True
    notes = notices if notices is not None else []

    def group(name: Any, body: Any, line: int | None, parent: InvGroup | None) -> None:
        if not isinstance(name, str) or not name or any(c.isspace() for c in name) or ":" in name:
            raise InputError(f"{inv.where(line)}: {name!r} is not a group name")
        g = inv.group(name, line)
        g.defined = True
        if parent is not None:
            if name in parent.children:
                raise InputError(f"{inv.where(line)}: {parent.name}.children lists {name!r} twice")
            parent.children[name] = line
        if body is None:
            return
        if not isinstance(body, dict):
            raise InputError(f"{inv.where(line)}: group {name!r} must be a mapping with hosts, children or vars")
        for key in body:
            if key not in GROUP_KEYS:
                notes.append((_line(body, key), "unknown", f"key {key!r} in group {name!r} is not hosts, children or vars; Ansible skips it"))
        hosts = body.get("hosts")
        if hosts is not None:
            if not isinstance(hosts, dict):
                raise InputError(f"{inv.where(_line(body, 'hosts'))}: {name}.hosts must be a mapping of host -> vars")
            for pattern, hvars in hosts.items():
                hline = _line(hosts, pattern)
                where = inv.where(hline)
                if hvars is not None and not isinstance(hvars, dict):
                    raise InputError(f"{where}: host {pattern!r}: its vars must be a mapping (or empty)")
                variables = {}
                for k, v in (hvars or {}).items():
                    if not isinstance(k, str) or not VAR_NAME_RE.match(k):
                        raise InputError(f"{inv.where(_line(hvars, k))}: {k!r} is not a variable name")
                    variables[k] = _plain(v)
                names, port = expand_host_pattern(str(pattern), where)
                if port is not None:
                    variables["ansible_port"] = port
                for n in names:
                    _add_host_yaml(inv, g, n, hline, variables, hvars)
        gvars = body.get("vars")
        if gvars is not None:
            if not isinstance(gvars, dict):
                raise InputError(f"{inv.where(_line(body, 'vars'))}: {name}.vars must be a mapping")
            for k, v in gvars.items():
                if not isinstance(k, str) or not VAR_NAME_RE.match(k):
                    raise InputError(f"{inv.where(_line(gvars, k))}: {k!r} is not a variable name")
                g.vars[k] = (_plain(v), _line(gvars, k))
        children = body.get("children")
        if children is not None:
            if not isinstance(children, dict):
                raise InputError(f"{inv.where(_line(body, 'children'))}: {name}.children must be a mapping of group -> group")
            for cname, cbody in children.items():
                group(cname, cbody, _line(children, cname), g)

    for top, body in doc.items():
        group(top, body, _line(doc, top), None)
    inv.check_cycles()
    return inv


def _add_host_yaml(inv: ParsedInventory, group: InvGroup, name: str, line: int | None, variables: dict, node: Any) -> None:
    if name in group.hosts and group.hosts[name] != line:
        raise InputError(f"{inv.where(line)}: host {name!r} is listed twice in group {group.name!r} (first on line {group.hosts[name]})")
    group.hosts[name] = line
    h = inv.hosts.get(name)
    if h is None:
        h = inv.hosts[name] = InvHost(name, line)
    for k, v in variables.items():
        vline = _line(node, k) or line
        if k in h.vars and h.vars[k][0] != v:
            old, old_line = h.vars[k]
            raise InputError(
                f"{inv.where(vline)}: host {name!r} sets {k}={v!r} but line {old_line} set {k}={old!r}; "
                "Ansible would silently keep only one of them"
            )
        h.vars[k] = (v, vline)


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, str):
        return str(v)
    return v


def read_text(path: str | Path) -> str:
    """A regular file of at most 1 MiB (yamlio.read_text): never a FIFO, a device or a directory."""
    return read_input_file(path)


def looks_like_yaml(text: str, path: str) -> bool:
    if path.endswith((".yaml", ".yml")):
        return True
    if path.endswith(".ini"):
        return False
    for raw in text.splitlines():
        s = raw.strip()
        if not s or s.startswith(("#", ";")):
            continue
        return s.startswith("---") or (s.endswith(":") and not s.startswith("["))
    return False


def parse_inventory(path: str | Path, notices: list | None = None) -> ParsedInventory:
    text = read_text(path)
    src = str(path)
    return parse_yaml(text, src, notices) if looks_like_yaml(text, src) else parse_ini(text, src)
