"""Import hosts from an OpenSSH client config (default ~/.ssh/config).

Each concrete ``Host`` alias becomes a host; its settings are resolved the way ssh does: every
``Host`` block whose patterns match the alias is read in file order and the first value of each
keyword wins (so a trailing ``Host *`` gives defaults). Wildcard and negated patterns are not
hosts and are skipped with a notice; ``Match`` blocks and ``Include`` are not followed (notice).
HostName -> address, User, Port, IdentityFile (the first) -> key_file, ProxyJump (the first hop).
An ssh config says nothing about roles: ``place_hosts`` decides them against the plan they go
into (the first new host is the control plane when the plan has none, the rest workers; hosts the
plan has keep their roles) and writes the one notice that says so.
"""

from __future__ import annotations

import fnmatch
import shlex
from pathlib import Path
from typing import Any

from ...model.hosts import Host, Role
from ...yamlio import InputError
from .ansible_inventory import _split_comment, read_text
from .base import ImportResult, Notice, as_port, make_host

USED = {"hostname", "user", "port", "identityfile", "proxyjump"}
# keywords that only change how ssh behaves, not who we connect to: listed, not imported
DEFAULT_SSH_CONFIG = "~/.ssh/config"


class _Block:
    def __init__(self, patterns: list[str], line: int):
        self.patterns = patterns
        self.line = line
        self.opts: list[tuple[str, str, int]] = []  # (keyword lower, value, line)

    def matches(self, alias: str) -> bool:
        ok = False
        for p in self.patterns:
            neg = p.startswith("!")
            if fnmatch.fnmatchcase(alias, p[1:] if neg else p):
                if neg:
                    return False
                ok = True
        return ok


def _split(line: str, where: str) -> tuple[str, list[str]]:
    s = line.strip()
    # "Key value", "Key=value", "Key = value"
    key, sep, rest = s.partition("=") if ("=" in s.split(None, 1)[0]) else (None, None, None)
    if key is None:
        parts = s.split(None, 1)
        key, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        rest = rest.lstrip()
        if rest.startswith("="):
            rest = rest[1:]
    try:
        args = shlex.split(rest)
    except ValueError as e:
        raise InputError(f"{where}: cannot split {line.strip()!r}: {e}") from None
    return key.strip(), args


def import_ssh_config(src: str | Path | None = None, only: list[str] | None = None) -> ImportResult:
    path = Path(src if src else DEFAULT_SSH_CONFIG).expanduser()
    text = read_text(path)
    source = str(path)
    res = ImportResult(source=source, tool=None, hosts=[], roles_known=False)
    blocks: list[_Block] = [_Block(["*"], 0)]  # options before the first Host apply to all
    aliases: list[tuple[str, int]] = []
    skipping = False  # inside a Match block
    for lineno, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s:
            continue
        where = f"{source}:{lineno}"
        if s.startswith("#"):
            res.note(source, lineno, "comment", s[1:].strip())
            continue
        code, comment = _split_comment(s)
        if comment is not None:
            res.note(source, lineno, "comment", comment)
        key, args = _split(code, where)
        k = key.lower()
        if k == "host":
            if not args:
                raise InputError(f"{where}: 'Host' needs at least one name or pattern")
            skipping = False
            blocks.append(_Block(args, lineno))
            for a in args:
                if a.startswith("!") or any(c in a for c in "*?"):
                    res.note(source, lineno, "skipped", f"Host pattern {a!r} is a wildcard, not a host; its settings apply as defaults")
                elif a not in [x for x, _ in aliases]:
                    lower = a.lower()
                    clash = next(((x, n) for x, n in aliases if x.lower() == lower), None)
                    if clash:
                        raise InputError(f"{where}: Host {a!r} and {clash[0]!r} (line {clash[1]}) would both be node {lower!r}; node names must be unique")
                    aliases.append((a, lineno))
            continue
        if k == "match":
            skipping = True
            res.note(source, lineno, "skipped", f"Match block ({' '.join(args)}) is not followed; its settings are not imported")
            continue
        if skipping:
            res.note(source, lineno, "skipped", f"{key} inside a Match block: not imported")
            continue
        if k == "include":
            res.note(source, lineno, "skipped", f"Include {' '.join(args)} is not followed; import those files on their own")
            continue
        if not args:
            raise InputError(f"{where}: {key} has no value")
        blocks[-1].opts.append((k, " ".join(args) if k != "identityfile" else args[0], lineno))
        if k not in USED:
            res.note(source, lineno, "unknown", f"{key} is an ssh option a plan does not carry (ssh itself still uses it)")

    if only:
        names = [a for a, _ in aliases]
        missing = [o for o in only if o not in names]
        if missing:
            raise InputError(f"{source}: no Host {', '.join(missing)} in this file (it has: {', '.join(names) or 'none'})")
        aliases = [(a, n) for a, n in aliases if a in only]
    if not aliases:
        raise InputError(f"{source}: no concrete Host entries (only wildcards or nothing)")

    resolved: list[tuple[str, int, dict[str, tuple[str, int]]]] = []
    for alias, lineno in aliases:
        opts: dict[str, tuple[str, int]] = {}
        for b in blocks:
            if b.matches(alias):
                for k, v, ln in b.opts:
                    if k in opts:
                        if k in USED and opts[k][0] != v and b.patterns != ["*"] and not any(c in "*?!" for p in b.patterns for c in p):
                            res.note(source, ln, "skipped", f"{alias}: {k} {v!r} is ignored: line {opts[k][1]} set it first (ssh takes the first value)")
                        continue
                    opts[k] = (v, ln)
        resolved.append((alias, lineno, opts))

    # a host the others jump through is a bastion, not a node
    jumps = set()
    for _, _, opts in resolved:
        if "proxyjump" in opts and opts["proxyjump"][0].lower() != "none":
            for hop in opts["proxyjump"][0].split(","):
                jumps.add(hop.rpartition("@")[2].split(":")[0])
    nodes = []
    for alias, lineno, opts in resolved:
        target = opts.get("hostname", (alias,))[0]
        if (alias in jumps or target in jumps) and not (only and alias in only):
            res.note(source, lineno, "skipped", f"Host {alias} is the jump host of others, not a node; not imported (--only {alias} takes it)")
        else:
            nodes.append((alias, lineno, opts))
    if not nodes:
        raise InputError(f"{source}: no Host entries left to import")

    for i, (alias, lineno, opts) in enumerate(nodes):
        where = f"{source}:{lineno}"
        kw: dict[str, Any] = {"name": alias.lower(), "address": alias}
        if alias.lower() != alias:
            res.note(source, lineno, "info", f"Host {alias!r} is named {alias.lower()!r} (node names are lower-case)")
        if "hostname" in opts:
            kw["address"] = opts["hostname"][0]
            if "%" in kw["address"]:
                raise InputError(f"{source}:{opts['hostname'][1]}: HostName {kw['address']!r} uses a % token k8s-tui cannot expand")
        if "user" in opts:
            kw["user"] = opts["user"][0]
        else:
            res.note(source, lineno, "default", f"{alias}: no User; the plan uses root")
        if "port" in opts:
            kw["port"] = as_port(opts["port"][0], f"{source}:{opts['port'][1]}")
        if "identityfile" in opts:
            key, ln = opts["identityfile"]
            if "%" in key:
                res.note(source, ln, "unmapped", f"{alias}: IdentityFile {key!r} uses a % token; not imported")
            else:
                kw["key_file"] = key
        if "proxyjump" in opts:
            jump, ln = opts["proxyjump"]
            hops = jump.split(",")
            if jump.lower() != "none":
                if jump.startswith("ssh://"):
                    raise InputError(f"{source}:{ln}: ProxyJump {jump!r}: the ssh:// form is not supported; write [user@]host[:port]")
                kw["proxy_jump"] = hops[0]
                if len(hops) > 1:
                    res.note(source, ln, "unmapped", f"{alias}: ProxyJump has {len(hops)} hops; only the first ({hops[0]}) is kept")
        kw["roles"] = [Role.control_plane] if i == 0 else [Role.worker]
        try:
            res.hosts.append(make_host(where, **kw))
        except InputError as e:
            raise InputError(f"{e} (import a subset with --only ALIAS,...)") from None
    # into an empty plan; to_plan places them again against the plan it merges into
    res.hosts = place_hosts(res, [])
    return res


ROLE_NOTICE = "an ssh config has no roles: "


def _names(names: list[str]) -> str:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def place_hosts(res: ImportResult, base: list[Host]) -> list[Host]:
    """The roles of an ssh config's hosts merged into ``base``, and the one notice that says what
    they are: the preview's lines and the notice come from this one decision.

    A host already in ``base`` keeps its roles (the merge keeps them). Of the new ones, the first
    becomes the control plane when ``base`` has none, the rest are workers."""
    known = {h.name for h in base}
    cps = [h.name for h in base if h.is_control_plane]
    out: list[Host] = []
    for h in res.hosts:
        if h.name in known:
            out.append(h)
            continue
        role = Role.worker if cps else Role.control_plane
        if role is Role.control_plane:
            cps.append(h.name)
        out.append(h.model_copy(update={"roles": [role]}))
    new = [h for h in out if h.name not in known]
    kept = [h.name for h in out if h.name in known]
    parts: list[str] = []
    if new:
        first_cp = [h.name for h in new if h.is_control_plane]
        workers = [h.name for h in new if not h.is_control_plane]
        if first_cp:
            parts.append(f"{first_cp[0]} becomes the control plane")
        elif base:
            parts.append(f"the plan already has a control plane ({_names([n for n in cps])})")
        if workers:
            parts.append(f"{_names(workers)} come in as workers" if len(workers) > 1 else f"{workers[0]} comes in as a worker")
        elif first_cp:
            parts.append("there are no workers")
    if kept:
        parts.append(f"{_names(kept)} {'keep their' if len(kept) > 1 else 'keeps its'} roles from the plan")
    message = ROLE_NOTICE + "; ".join(parts) + "; change them in the plan or the wizard"
    res.notices[:] = [n for n in res.notices if not (n.kind == "default" and n.message.startswith(ROLE_NOTICE))]
    if parts:
        res.note(res.source, None, "default", message)
    return out


__all__ = ["import_ssh_config", "place_hosts", "Notice", "DEFAULT_SSH_CONFIG"]
