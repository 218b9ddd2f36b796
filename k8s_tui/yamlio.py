"""YAML in and out, with errors that name the file, the line and the field.

ruamel.yaml keeps line numbers on every mapping it loads, so a pydantic error on
``hosts.2.port`` can be reported as "plan.yaml line 14: hosts[2].port ...".

Every file we read is input from someone else, so reading and parsing are bounded before any
heavy work: only regular files (never a FIFO, a device such as /dev/zero, or a directory), at
most ``MAX_FILE_BYTES``; while composing, at most ``MAX_DEPTH`` levels of nesting and
``MAX_NODES`` values counting every alias as the copy it stands for (a "billion laughs" file is
refused at its first expensive alias, not after expanding it), no alias to a node that contains
it, and no number longer than ``MAX_NUMBER_DIGITS``. Each refusal is one ``InputError`` line
naming the file (and the line and field where known).
"""

from __future__ import annotations

import io
import os
import re
import stat
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, ScalarNode

# A plan of 500 hosts is about 50 KiB; the pure-Python parser needs about a second per MiB
MAX_FILE_BYTES = 1 << 20
# plans nest 4 levels, Ansible inventories and group_vars rarely 10
MAX_DEPTH = 64
# a plan of 1,000 hosts has about 15,000 values; the parser composes about 10,000 a second
MAX_NODES = 20_000
# sysctl values are at most 20 digits (u64); Python refuses int() of over 4,300
MAX_NUMBER_DIGITS = 100


class InputError(Exception):
    """Bad input from a file or the user: printed as it is, never as a traceback."""


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n} bytes"


class _Refused(MarkedYAMLError):
    """A document over one of the limits above (worded as the rule, not as broken YAML)."""


class _BoundedComposer(Composer):
    """ruamel's composer with the limits above, checked as each node is composed."""

    def compose_document(self: Any) -> Any:
        self._depth = 0
        self._nodes = 0
        self._aliased = False
        self._path: list[str] = []
        self._open: dict[Any, bool] = {}  # anchor -> its node is still being composed
        self._sizes: dict[Any, int] = {}  # anchor -> values in its node, aliases expanded
        return super().compose_document()

    def _field(self) -> str:
        return ".".join(self._path) or "(top level)"

    def _count(self, n: int, mark: Any) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            how = ", counting each alias as the copy it stands for" if self._aliased else ""
            raise _Refused(None, None, f"more than {MAX_NODES} values{how} (the limit for an input file); refused",
                           mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            if self._open.get(event.anchor):
                raise _Refused(None, None, f"{self._field()}: alias *{event.anchor} refers to a node that contains it "
                               "(a recursive structure); refused", event.start_mark)
            self._aliased = True
            self._count(self._sizes.get(event.anchor, 1), event.start_mark)
            return super().compose_node(parent, index)
        if isinstance(parent, MappingNode):
            self._path.append(str(index.value) if isinstance(index, ScalarNode) else "(key)" if index is None else "?")
        elif parent is not None:
            self._path.append(str(index))
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(None, None, f"nested more than {MAX_DEPTH} levels deep (the limit for an input file); "
                           "refused", event.start_mark)
        self._count(1, event.start_mark)
        anchor, before = event.anchor, self._nodes - 1
        if anchor is not None:
            self._open[anchor] = True
        node = super().compose_node(parent, index)
        if anchor is not None:
            self._open[anchor] = False
            self._sizes[anchor] = self._nodes - before
        self._depth -= 1
        if parent is not None:
            self._path.pop()
        return node

    def compose_scalar_node(self, anchor: Any) -> Any:
        node = super().compose_scalar_node(anchor)
        tag = str(node.tag)
        if tag.endswith((":int", ":float")) and isinstance(node.value, str):
            digits = sum(c.isdigit() for c in node.value)
            if digits > MAX_NUMBER_DIGITS:
                raise _Refused(None, None, f"{self._field()}: a number of {digits} digits; a number here has at most "
                               f"{MAX_NUMBER_DIGITS}", node.start_mark)
        return node


class _Constructor(RoundTripConstructor):
    """A value the constructor cannot make (a timestamp on the 45th, ``!!int xyz``) is an error
    at that value's line, not a bare ValueError."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except YAMLError:
            raise
        except (ValueError, TypeError, OverflowError, ArithmeticError, AttributeError, KeyError, IndexError) as e:
            # AttributeError and the rest: ruamel's own constructors on a tag used where it makes no
            # sense (``!!set`` on a scalar); still the file's fault, at that value
            value = node.value if isinstance(node, ScalarNode) else ""
            shown = f" {value[:40]!r}" if isinstance(value, str) and value else ""
            raise ConstructorError(None, None, f"cannot read the value{shown}: {e}", node.start_mark) from None


def _yaml(typ: str = "rt") -> YAML:
    y = YAML(typ=typ)
    y.default_flow_style = False
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _loader() -> YAML:
    y = _yaml()
    y.Composer = _BoundedComposer
    y.Constructor = _Constructor
    return y


_FLOW_CHARS = re.compile(r"[\[\]{}\n]")


def _flow_run(text: str) -> int | None:
    """The line of a run of more than MAX_DEPTH ``[``/``{`` with no closing bracket between them.

    The composer refuses such nesting too, but ruamel's scanner looks ahead over every possible
    simple key on a line (up to 1024 characters, each against all the others), which costs a
    second before the composer sees the first level; this finds it at once."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    run = 0
    for m in _FLOW_CHARS.finditer(text):
        c = m.group()
        if c in "[{":
            run += 1
            if run > MAX_DEPTH:
                return text.count("\n", 0, m.start()) + 1
        else:
            run = 0
    return None


def load_yaml_text(text: str, source: str = "<text>") -> Any:
    if len(text) > MAX_FILE_BYTES:
        raise InputError(f"{source}: {len(text)} characters, over the {_size(MAX_FILE_BYTES)} limit for an input file; "
                         "not read")
    deep = _flow_run(text)
    if deep is not None:
        raise InputError(f"{source} line {deep}: nested more than {MAX_DEPTH} levels deep (the limit for an input file); "
                         "refused")
    try:
        return _loader().load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        what = "" if isinstance(e, _Refused) else "broken YAML: "
        raise InputError(f"{source}{where}: {what}{e.problem or e.context}") from None
    except YAMLError as e:
        raise InputError(f"{source}: broken YAML: {e}") from None
    except RecursionError:  # the depth limit keeps the composer well away from this; a last guard
        raise InputError(f"{source}: nested too deeply to read; refused") from None
    except (ValueError, TypeError, OverflowError, ArithmeticError, AttributeError, KeyError, IndexError) as e:
        # a constructor that failed outside construct_object (a generator finishing later)
        raise InputError(f"{source}: cannot read a value: {e}") from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_text(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """A small regular file's text (UTF-8). Refused before reading: anything but a regular file,
    and a file over ``max_bytes``; a FIFO is opened without waiting for a writer."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except OSError as e:
        raise InputError(f"{p}: cannot read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _kind(st.st_mode)
            raise InputError(f"{p}: {kind}, not a regular file; only regular files are read")
        if st.st_size > max_bytes:
            raise InputError(f"{p}: {_size(st.st_size)}, over the {_size(max_bytes)} limit for an input file "
                             "(plans, presets and inventories are small); not read")
        chunks, total = [], 0
        while total <= max_bytes:  # a file that grows while we read stops at the limit too
            chunk = os.read(fd, max_bytes + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise InputError(f"{p}: over the {_size(max_bytes)} limit for an input file; not read")
    except OSError as e:
        raise InputError(f"{p}: cannot read: {e.strerror or e}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(f"{p} line {line}: not UTF-8 text (byte 0x{data[e.start]:02x}); refused") from None


_read_text = read_text


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
