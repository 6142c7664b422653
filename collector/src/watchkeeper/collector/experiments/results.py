"""Experiment results as JSON Lines: one object per case.

::

    {"case_id": "c1", "target": "python:app:answer", "fingerprint": "…", "ok": true,
     "output": "Paris.", "error": null, "latency_s": 0.41,
     "metrics": {"success": 1.0, "exact_match": 1.0, "token_f1": 1.0, "refusal": 0.0, …}}

A run appends each case's line as soon as its answer is in, so an interrupted run keeps
what it did; a rerun with the same file and target skips the cases already answered
(same case id, target identity and case content) and, when done, rewrites the file in
evalset order with the detectors' scores of every answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any


class ResultsError(RuntimeError):
    """A results file cannot be read or written; says why."""


@dataclass
class CaseResult:
    """What one case gave with one target."""

    case_id: str
    target: str
    fingerprint: str
    ok: bool
    output: str | None
    error: str | None
    latency_s: float
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """The result's line (no newline)."""
        return json.dumps(asdict(self), ensure_ascii=False)


def read_results(path: Path, *, missing_ok: bool = False) -> list[CaseResult]:
    """The results in ``path``; unreadable lines (a line cut by an interruption) are skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        if missing_ok:
            return []
        raise ResultsError(f"no results file {path}") from None
    except OSError as exc:
        raise ResultsError(f"cannot read results {path}: {exc.strerror or exc}") from None
    results = []
    for line in text.splitlines():
        parsed = _parse(line)
        if parsed is not None:
            results.append(parsed)
    return results


def _parse(line: str) -> CaseResult | None:
    try:
        data: Any = json.loads(line)
        metrics = {str(k): float(v) for k, v in (data.get("metrics") or {}).items()}
        return CaseResult(
            case_id=str(data["case_id"]),
            target=str(data.get("target", "")),
            fingerprint=str(data.get("fingerprint", "")),
            ok=bool(data["ok"]),
            output=data.get("output") if isinstance(data.get("output"), str) else None,
            error=data.get("error") if isinstance(data.get("error"), str) else None,
            latency_s=float(data.get("latency_s") or 0.0),
            metrics=metrics,
            tags={str(k): str(v) for k, v in (data.get("tags") or {}).items()},
        )
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


class ResultsWriter:
    """Appends result lines to a file, flushed at once (what an interruption keeps)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[str] = path.open("a", encoding="utf-8")
            # A line cut by a kill would glue onto the next one: start on a fresh line.
            if path.stat().st_size and not path.read_bytes().endswith(b"\n"):
                self._file.write("\n")
        except OSError as exc:
            raise ResultsError(f"cannot write results {path}: {exc.strerror or exc}") from None

    def append(self, result: CaseResult) -> None:
        """Add one result line."""
        self._file.write(result.to_json() + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def rewrite_results(path: Path, results: Iterable[CaseResult]) -> None:
    """Replace ``path`` with ``results`` atomically (a crash leaves the old file whole)."""
    descriptor, scratch = tempfile.mkstemp(prefix=".results-", dir=path.parent or Path("."))
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            for result in results:
                out.write(result.to_json() + "\n")
        os.replace(scratch, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(scratch)
        raise ResultsError(f"cannot write results {path}: {exc.strerror or exc}") from None
