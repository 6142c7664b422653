"""No import cycles among the modules of a watchkeeper package.

An import cycle works only as long as the modules happen to be imported in a lucky
order, and it ties modules together that should be readable (and testable) alone. The
graph is read statically with :mod:`ast`, so it sees every import: at module level,
inside functions (a deferred import still needs the other module at run time), names
imported from a package that are its submodules (``from watchkeeper.sdk import
attributes``), relative imports, and ``importlib.import_module("...")`` with a literal
name.

What does not count: the package ``__init__`` a submodule import runs implicitly
(``import a.b.c`` runs ``a/b/__init__``, which may re-export ``a.b.c`` itself; a
package re-exporting its own modules is fine). A module that imports a *name* from its
package's ``__init__`` does depend on it, and that edge counts.

Imports under ``if TYPE_CHECKING:`` never run; :func:`import_cycles` leaves them out
unless asked (``type_checking=True``), so a package can be held to either rule.

To cover another package, add it to ``PACKAGES`` (runtime imports) or
``PACKAGES_WITHOUT_TYPE_ONLY_CYCLES`` (runtime and type-checking imports).
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGES = [
    "watchkeeper.sdk",
    "watchkeeper.detectors",
    "watchkeeper.ingest",
    "watchkeeper.collector",
]
"""Packages with no runtime import cycle."""

PACKAGES_WITHOUT_TYPE_ONLY_CYCLES = [
    "watchkeeper.sdk",
    "watchkeeper.detectors",
    "watchkeeper.ingest",
    "watchkeeper.collector",
]
"""Packages with no import cycle even counting imports under ``if TYPE_CHECKING:``."""

LAYERS = {
    "watchkeeper.detectors": ("watchkeeper.collector", "watchkeeper.ingest"),
    "watchkeeper.detectors.native_core": ("watchkeeper.detectors.",),
    "watchkeeper.ingest": ("watchkeeper.collector", "watchkeeper.detectors"),
    "watchkeeper.collector.settings": (
        "watchkeeper.collector.",  # any other module of the collector
    ),
    "watchkeeper.collector.store": (
        "watchkeeper.collector.review",
        "watchkeeper.collector.pipeline",
        "watchkeeper.collector.processors",
    ),
}
"""Modules under a key must not import (at run time) modules starting with its values:
the detectors know nothing of the collector, and the seam to their compiled core nothing
of the detectors; the sidecar's package knows only OTLP, its spool and Kafka; the
settings configure the components without importing them; the store knows nothing of
review or the pipeline."""


def package_modules(package: str) -> dict[str, Path]:
    """Every module of ``package`` (itself and its subpackages included) and its file."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{package!r} is not an importable package")
    modules: dict[str, Path] = {}
    for location in spec.submodule_search_locations:
        root = Path(location)
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def _is_type_checking_guard(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST, *, type_checking: bool) -> Iterator[ast.AST]:
    """Every import statement and ``import_module("...")`` call anywhere in ``tree``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking_guard(node) and not type_checking:
            stack.extend(node.orelse)  # the body never runs; an else branch does
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.Call):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else None
            if isinstance(function, ast.Name):
                name = function.id
            if name == "import_module" and node.args:
                yield node
        stack.extend(ast.iter_child_nodes(node))


def _imported(
    node: ast.AST, module: str, is_package: bool, known: dict[str, Path]
) -> Iterator[str]:
    """The modules of ``known`` that one import node makes ``module`` depend on."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    if isinstance(node, ast.Call):
        argument = node.args[0]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            yield argument.value
        return
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        # Relative to the package holding `module` (to `module` itself for an __init__).
        anchor = module.split(".")
        if not is_package:
            anchor.pop()
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        # `from pkg import name`: the submodule when `name` is one, else the package.
        yield submodule if submodule in known else base


def import_graph(package: str, *, type_checking: bool = False) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (see the module docstring)."""
    known = package_modules(package)
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = {
            target
            for node in _import_nodes(tree, type_checking=type_checking)
            for target in _imported(node, module, is_package, known)
            if target in known and target != module
        }
        graph[module] = edges
    return graph


def import_cycles(package: str, *, type_checking: bool = False) -> list[list[str]]:
    """Import cycles among the modules of ``package``, each as ``[a, b, ..., a]``.

    For every group of modules that import one another (directly or not), the shortest
    cycle through each of its modules, so every module caught in a cycle is named.
    """
    graph = import_graph(package, type_checking=type_checking)
    cycles: list[list[str]] = []
    seen: set[frozenset[tuple[str, str]]] = set()
    for group in _strongly_connected(graph):
        if len(group) < 2:  # a lone module is no cycle (self-imports are skipped)
            continue
        for start in group:
            cycle = _shortest_cycle(start, set(group), graph)
            edges = frozenset(itertools.pairwise(cycle))
            if edges not in seen:
                seen.add(edges)
                cycles.append(cycle)
    return cycles


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; groups in a deterministic order."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = lowlink[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = lowlink[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    lowlink[node] = min(lowlink[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(sorted(group))
    return sorted(groups)


def _shortest_cycle(start: str, members: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through ``start`` within a strongly connected group ``members``."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:  # back at the start: walk the path back to it
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(members)}")


def _describe(cycles: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_runtime_import_cycles(package: str) -> None:
    """No module of the package imports, directly or through others, a module that
    imports it back, counting imports inside functions."""
    cycles = import_cycles(package)
    assert not cycles, f"import cycles in {package}:\n{_describe(cycles)}"


@pytest.mark.parametrize("package", PACKAGES_WITHOUT_TYPE_ONLY_CYCLES)
def test_no_import_cycles_even_for_type_checking(package: str) -> None:
    """Not even the imports only type checkers run (``if TYPE_CHECKING:``) close a cycle."""
    cycles = import_cycles(package, type_checking=True)
    assert not cycles, f"import cycles in {package} (type checking):\n{_describe(cycles)}"


def test_the_checker_sees_every_kind_of_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle closed by an in-function import, a relative import, a submodule imported
    by name from its package, or a TYPE_CHECKING import (when asked) is found; a
    package ``__init__`` re-exporting its modules is not a cycle."""
    package = tmp_path / "cyclepkg"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from cyclepkg.a import A\nfrom cyclepkg.b import B\n",
        "a.py": "A = 1\ndef f():\n    from cyclepkg import b\n",
        "b.py": "from .sub import c\nB = 2\n",
        "sub/__init__.py": "",
        "sub/c.py": "import cyclepkg.a\n",
        "d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cyclepkg import e\n",
        "e.py": "import importlib\nimportlib.import_module('cyclepkg.d')\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("cyclepkg") == [
        ["cyclepkg.a", "cyclepkg.b", "cyclepkg.sub.c", "cyclepkg.a"]
    ]
    assert import_cycles("cyclepkg", type_checking=True) == [
        ["cyclepkg.a", "cyclepkg.b", "cyclepkg.sub.c", "cyclepkg.a"],
        ["cyclepkg.d", "cyclepkg.e", "cyclepkg.d"],
    ]


def _runtime_imports(package: str) -> Iterator[tuple[str, str]]:
    """(module, imported module) for every run-time import in ``package``'s modules."""
    for module, path in package_modules(package).items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _import_nodes(tree, type_checking=False):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # relative: inside the package, which the cycle tests cover
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            yield from ((module, name) for name in names)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_layers_import_only_downwards(layer: str) -> None:
    """The modules of a layer import none of the modules it must not know (``LAYERS``)."""
    package = layer.rsplit(".", 1)[0] if layer.count(".") > 1 else layer
    forbidden = LAYERS[layer]
    found = [
        f"{module} imports {name}"
        for module, name in _runtime_imports(package)
        if (module == layer or module.startswith(layer + "."))
        and name.startswith(forbidden)
        and not (name == layer or name.startswith(layer + "."))
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_private_names_of_another(package: str) -> None:
    """``from watchkeeper.x import _name`` reaches into another module's insides: what
    other modules need is public."""
    found = []
    for module, path in package_modules(package).items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _import_nodes(tree, type_checking=True):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("watchkeeper"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                found += [f"{module}: from {node.module} import {name}" for name in private]
    assert not found, "\n".join(found)
