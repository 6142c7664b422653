"""Prometheus' own ``promtool``, from the Debian package ``prometheus`` (`make debian-tools`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def promtool() -> str:
    """Path of ``promtool``; fails the test with the fix when it is missing."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not installed: run `make debian-tools` (Debian package prometheus)",
            pytrace=False,
        )
    return path


def check_metrics(exposition: bytes) -> subprocess.CompletedProcess[str]:
    """``promtool check metrics`` on a /metrics body (naming and help-text lint)."""
    return subprocess.run(
        [promtool(), "check", "metrics"],
        input=exposition.decode(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def check_rules(path: Path) -> subprocess.CompletedProcess[str]:
    """``promtool check rules`` on a rule file (syntax, PromQL, duplicate groups)."""
    return subprocess.run(
        [promtool(), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
