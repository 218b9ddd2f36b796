"""The package's layers, read from the source (AST, nothing imported): no import cycles, no
Textual below the UI, widgets never reach into screens, and UI modules stay small."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import k8s_tui

PKG_DIR = Path(k8s_tui.__file__).resolve().parent
PKG = PKG_DIR.name

# the layers below the UI: none of them may import Textual
NO_TEXTUAL = ("knowledge", "model", "backends", "engine", "hostprep", "lab", "session", "cli")
UI_DIRS = ("screens", "widgets")
MAX_UI_LINES = 500


@dataclass(frozen=True)
class Edge:
    target: str  # the package module imported
    line: int
    type_checking: bool  # inside `if TYPE_CHECKING:`, so never executed at run time


def _modules() -> dict[str, Path]:
    mods = {}
    for path in sorted(PKG_DIR.rglob("*.py")):
        parts = list(path.relative_to(PKG_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """Every import statement anywhere in the module (function bodies included), with whether it
    sits under `if TYPE_CHECKING:`."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, tc = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, tc
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend((child, True) for child in node.body)
            stack.extend((child, tc) for child in node.orelse)
            continue
        stack.extend((child, tc) for child in ast.iter_child_nodes(node))


def _nearest_module(name: str) -> str | None:
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in MODULES else None


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The names an import statement brings in, as dotted module paths (not yet resolved)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        package = module.split(".")
        if MODULES[module].name != "__init__.py":
            package.pop()  # a plain module's relative imports start from its package
        base = package[: len(package) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    # `from pkg import name`: name is a submodule, or something defined in pkg
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names]


def _graph() -> dict[str, list[Edge]]:
    # Edges only to the module named: importing a.b.c also runs a/__init__ and a/b/__init__, but
    # counting those would tie every package to its own submodules; the cycles that hurt are the
    # ones between the modules the statements name.
    graph: dict[str, list[Edge]] = {}
    for module, path in MODULES.items():
        edges = []
        for node, tc in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for name in _targets(module, node):
                if name.split(".")[0] != PKG:
                    continue
                target = _nearest_module(name)
                if target and target != module:
                    edges.append(Edge(target, node.lineno, tc))
        graph[module] = edges
    return graph


GRAPH = _graph()


def _external_imports(module: str) -> list[tuple[str, int]]:
    path = MODULES[module]
    out = []
    for node, _tc in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            continue
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        out.extend((n, node.lineno) for n in names)
    return out


def _under(module: str, dirs: tuple[str, ...]) -> bool:
    parts = module.split(".")
    return len(parts) > 1 and parts[1] in dirs


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """One cycle (a path that ends where it starts) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan; the package is a few hundred modules, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            connect(v)

    cycles = []
    for group in groups:
        members = set(group)
        start = group[0]
        # breadth-first from start back to start, inside the group: the shortest cycle through it
        prev: dict[str, str] = {}
        queue = [start]
        while queue:
            v = queue.pop(0)
            if start in graph[v]:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                cycles.append([*reversed(path), start])
                break
            for w in sorted(graph[v]):
                if w in members and w not in prev and w != start:
                    prev[w] = v
                    queue.append(w)
    return cycles


def test_the_walk_sees_the_package():
    assert f"{PKG}.cli" in MODULES and f"{PKG}.engine.runner" in MODULES
    assert any(e.target == f"{PKG}.engine.runner" for edges in GRAPH.values() for e in edges)


def test_find_cycles_names_the_path():
    g = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"]}
    assert find_cycles(g) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": ["b"], "b": []}) == []


def test_no_import_cycles():
    # imports inside functions count (they only defer the cycle); `if TYPE_CHECKING:` imports do
    # not, since they never run
    graph = {m: sorted({e.target for e in edges if not e.type_checking}) for m, edges in GRAPH.items()}
    cycles = find_cycles(graph)

    def show(cycle: list[str]) -> str:
        steps = []
        for a, b in zip(cycle, cycle[1:]):
            line = min(e.line for e in GRAPH[a] if e.target == b and not e.type_checking)
            steps.append(f"{a} (line {line})")
        return " -> ".join([*steps, cycle[-1]])

    assert not cycles, "import cycles:\n" + "\n".join(show(c) for c in cycles)


def test_no_textual_below_the_ui():
    bad = [
        f"{m} line {line}: imports {name}"
        for m in MODULES
        if _under(m, NO_TEXTUAL)
        for name, line in _external_imports(m)
        if name == "textual" or name.startswith("textual.")
    ]
    assert not bad, "only screens/, widgets/ and app.py may import Textual:\n" + "\n".join(bad)


def test_widgets_do_not_import_screens():
    bad = [
        f"{m} line {e.line}: imports {e.target}"
        for m, edges in GRAPH.items()
        if _under(m, ("widgets",))
        for e in edges
        if _under(e.target, ("screens",))
    ]
    assert not bad, "widgets are used by screens, never the other way round:\n" + "\n".join(bad)


def test_ui_modules_stay_small():
    big = []
    for m, path in MODULES.items():
        if _under(m, UI_DIRS):
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_UI_LINES:
                big.append(f"{path.relative_to(PKG_DIR.parent)}: {n} lines")
    assert not big, f"screens/ and widgets/ modules over {MAX_UI_LINES} lines:\n" + "\n".join(big)


def _swallows_everything(handler: ast.ExceptHandler) -> bool:
    """``except:`` / ``except Exception:`` / ``except BaseException:`` whose body only passes."""
    broad = handler.type is None or (isinstance(handler.type, ast.Name) and handler.type.id in ("Exception", "BaseException"))
    return broad and all(isinstance(b, ast.Pass) for b in handler.body)


def test_the_ui_hides_no_error():
    """A screen or widget never swallows every error: what went wrong is shown or handled by kind,
    and the UI never reaches into Textual's private state to find its thread."""
    found = []
    for module, path in sorted(_modules().items()):
        if not _under(module, ("screens", "widgets")) and module != f"{PKG}.app":
            continue
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ExceptHandler) and _swallows_everything(node):
                found.append(f"{path.relative_to(PKG_DIR)}:{node.lineno}: swallows every exception")
            if isinstance(node, ast.Attribute) and node.attr == "_thread_id":
                found.append(f"{path.relative_to(PKG_DIR)}:{node.lineno}: reads Textual's private _thread_id")
    assert not found, "\n".join(found)
