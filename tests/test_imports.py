"""No import cycle between the project's modules (tests only).

The graph is read from the source with `ast`, not by importing: an edge
A -> B means that importing A runs an import of B, i.e. A imports B at
module level (inside `if`, `try`, `with` or a class body too), not inside
a function and not under `if TYPE_CHECKING:`.  `from pkg import name` is
an edge to the submodule `pkg.name` when there is one, else to `pkg`
(the name is defined in its `__init__`).  The implicit import of a
module's parent packages is not an edge: Python always initialises the
parents first, so a package whose `__init__` imports its own submodules
is no cycle unless one of them imports a name back from that `__init__`.

A second test applies the same rule with function-level imports counted
too: the cycle issue 9 removed (lb/config/parser.py lazily imports every
keyword module, which imported `cap_str` back from the parser) only
showed there.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

from tests.support import REPO

PACKAGES = ("lb", "workers")


def project_modules(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under `packages`."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_nodes(body: list[ast.stmt], in_functions: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that run when this body runs (and, with
    `in_functions`, those of the functions it defines)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if in_functions:
                yield from import_nodes(node.body, in_functions)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from import_nodes(node.orelse, in_functions)
        else:
            for child_body in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(node, child_body, None) or ():
                    inner = child.body if isinstance(child, (ast.ExceptHandler, ast.match_case)) else [child]
                    yield from import_nodes(inner, in_functions)


def _deepest(name: str, modules: dict[str, Path]) -> str | None:
    parts = name.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts) if parts else None


def imported_modules(module: str, path: Path, modules: dict[str, Path], in_functions: bool) -> set[str]:
    """The project modules `module` imports (see the module docstring for the rule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in import_nodes(tree.body, in_functions):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for name in names:
            target = _deepest(name, modules)
            if target is not None and target != module:
                found.add(target)
    return found


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES, in_functions: bool = False) -> dict[str, set[str]]:
    modules = project_modules(root, packages)
    return {name: imported_modules(name, path, modules, in_functions) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module, as a path A -> ... -> A."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(_path_within(graph, component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _path_within(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth first)."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & component):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")


def _shown(found: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in found)


# -- the project ---------------------------------------------------------------------


def test_no_import_cycle_between_project_modules() -> None:
    graph = import_graph(REPO)
    assert len(graph) > 100 and "lb.config.parser" in graph and "workers.loop" in graph
    found = cycles(graph)
    assert not found, "import cycles (module-level imports):\n" + _shown(found)


def test_no_import_cycle_hidden_behind_a_function_level_import() -> None:
    found = cycles(import_graph(REPO, in_functions=True))
    assert not found, "import cycles (counting imports inside functions):\n" + _shown(found)


def test_keyword_modules_do_not_import_the_parser() -> None:
    # The parser imports every keyword module (lb.config.keywords); shared helpers live in lb.config.model.
    graph = import_graph(REPO, in_functions=True)
    importers = sorted(name for name, targets in graph.items() if "lb.config.parser" in targets)
    assert importers == ["lb.config"], importers


# -- the graph builder on small packages ------------------------------------------------


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_module_level_cycle_is_found_with_its_path(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "lb/__init__.py": "",
        "lb/a.py": "from lb.b import thing\n",
        "lb/b.py": "import lb.c\nthing = 1\n",
        "lb/c.py": "try:\n    from lb import a\nexcept ImportError:\n    pass\n",
        "lb/d.py": "import lb.a\n",
    })  # fmt: skip
    assert cycles(import_graph(root, ("lb",))) == [["lb.a", "lb.b", "lb.c", "lb.a"]]


def test_relative_imports_and_class_bodies_count(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "lb/__init__.py": "",
        "lb/sub/__init__.py": "from .x import X\n",
        "lb/sub/x.py": "class X:\n    from ..y import Y\n",
        "lb/y.py": "from lb.sub import X\nY = 1\n",
    })  # fmt: skip
    graph = import_graph(root, ("lb",))
    assert graph["lb.sub"] == {"lb.sub.x"} and graph["lb.sub.x"] == {"lb.y"} and graph["lb.y"] == {"lb.sub"}
    assert cycles(graph) == [["lb.sub", "lb.sub.x", "lb.y", "lb.sub"]]


def test_function_and_type_checking_imports_do_not_count_at_module_level(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "lb/__init__.py": "",
        "lb/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lb.b import B\n"
                   "else:\n    import lb.c\n",
        "lb/b.py": "def f():\n    import lb.a\n",
        "lb/c.py": "",
    })  # fmt: skip
    graph = import_graph(root, ("lb",))
    assert graph["lb.a"] == {"lb.c"} and graph["lb.b"] == set()
    assert cycles(graph) == []
    assert import_graph(root, ("lb",), in_functions=True)["lb.b"] == {"lb.a"}


def test_a_package_importing_its_submodules_is_no_cycle(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "lb/__init__.py": "",
        "lb/pkg/__init__.py": "from lb.pkg.impl import run\n",
        "lb/pkg/impl.py": "from lb.pkg import helpers\nrun = 1\n",
        "lb/pkg/helpers.py": "",
    })  # fmt: skip
    assert cycles(import_graph(root, ("lb",))) == []
    (root / "lb/pkg/impl.py").write_text("from lb.pkg import helpers, other\nrun = 1\n")  # `other` is in __init__
    assert cycles(import_graph(root, ("lb",))) == [["lb.pkg", "lb.pkg.impl", "lb.pkg"]]
