"""No function in the shipped packages is longer than 100 lines.

A long function is a sign that several things happen in one place (a router with its
handlers nested inside, a dashboard with every panel inline); split it by what it does.
Tests and benchmarks are exempt.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The source trees of the distributions (``ingest`` once it exists).
SOURCES = ("sdk/src", "detectors/src", "collector/src", "ingest/src")
MAX_LINES = 100


def _python_files(root_dir: Path) -> Iterator[Path]:
    for tree in SOURCES:
        root = root_dir / tree
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.py")):
            parts = set(path.relative_to(root).parts)
            if parts & {"tests", "bench", "benchmarks"} or path.name.startswith("test_"):
                continue
            yield path


def long_functions(root: Path = ROOT, limit: int = MAX_LINES) -> list[str]:
    """``path:line name (N lines)`` for every function or method under ``root``'s source
    trees longer than ``limit`` lines, decorators and docstring included."""
    found = []
    for path in _python_files(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - first + 1
            if lines > limit:
                where = path.relative_to(root)
                found.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_the_checker_counts_from_the_first_decorator(tmp_path: Path) -> None:
    """A function's lines run from its first decorator to its last line; tests are skipped."""
    package = tmp_path / "sdk" / "src" / "pkg"
    package.mkdir(parents=True)
    body = "\n".join(f"    x{i} = {i}" for i in range(100))
    source = f"@staticmethod\ndef long():\n{body}\n\n\ndef short():\n    pass\n"
    (package / "long.py").write_text(source)
    (package / "test_long.py").write_text(source)
    assert long_functions(tmp_path) == ["sdk/src/pkg/long.py:2 long (102 lines)"]


def test_no_function_is_longer_than_100_lines() -> None:
    """Every function and method in sdk/, detectors/, collector/ and ingest/ sources has
    at most 100 lines."""
    found = long_functions()
    assert not found, f"{len(found)} functions over {MAX_LINES} lines:\n" + "\n".join(found)
