"""Type checkers see a decorated function's own signature (mypy, strict)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_decorated_signatures_survive_for_mypy() -> None:
    """mypy --strict accepts typing_examples.py, whose assert_type lines pin return types
    and whose `type: ignore` lines must stay needed (strict warns on unused ignores), so
    a decorator that erased signatures to Callable[..., Any] fails this test."""
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if mypy is None:
        pytest.fail("mypy is not installed in this environment")
    result = subprocess.run(
        [mypy, "--strict", str(Path(__file__).parent / "typing_examples.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
