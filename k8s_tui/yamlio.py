"""YAML in and out, with errors that name the file, the line and the field.

ruamel.yaml keeps line numbers on every mapping it loads, so a pydantic error on
``hosts.2.port`` can be reported as "plan.yaml line 14: hosts[2].port ...".
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError


class InputError(Exception):
    """Bad input from a file or the user: printed as it is, never as a traceback."""


def _yaml(typ: str = "rt") -> YAML:
    y = YAML(typ=typ)
    y.default_flow_style = False
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load_yaml_text(text: str, source: str = "<text>") -> Any:
    try:
        return _yaml().load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise InputError(f"{source}{where}: broken YAML: {e.problem or e.context}") from None
    except YAMLError as e:
        raise InputError(f"{source}: broken YAML: {e}") from None


def _read_text(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: cannot read: {e}") from None


def load_yaml_fast(path: str | Path) -> Any:
    """Plain data, parsed by the C loader where ruamel.yaml.clib is installed (about 7x faster than
    the round-trip loader); no line numbers. Callers re-read with ``load_yaml`` to report one."""
    p = Path(path)
    text = _read_text(p)
    try:
        return YAML(typ="safe").load(text)
    except YAMLError:
        return load_yaml_text(text, str(p))  # the round-trip loader words the error with its line


def load_yaml(path: str | Path) -> Any:
    p = Path(path)
    return load_yaml_text(_read_text(p), str(p))


def line_of(doc: Any, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the value at ``loc`` (a pydantic error location) in a loaded document."""
    node, line = doc, None
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            try:
                line = node.lc.key(part)[0] + 1
            except (KeyError, TypeError):
                pass
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            try:
                line = node.lc.item(part)[0] + 1
            except (KeyError, TypeError):
                pass
            node = node[part]
        else:
            break
    return line


def plain(obj: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (for pydantic)."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    return obj


def dump_yaml(data: Any) -> str:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()
