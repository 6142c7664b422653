"""Evalset cases as an experiment reads them, with every unusable line reported.

The file is JSON Lines as ``watchkeeper evalset export`` writes it (``id``, ``input``,
``expected_output``, ``retrieval_context`` ...). Only ``id`` and ``input`` are required;
``expected_output`` (string) and ``retrieval_context`` (list of strings) are read when
present, and the Ragas names ``user_input``/``reference``/``retrieved_contexts`` are
accepted as well. A line that is not JSON, lacks a field, has a field of the wrong type or
repeats an id already seen is reported with its line number and skipped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class EvalsetError(RuntimeError):
    """The evalset cannot be used at all (unreadable, or no usable case); says why."""


class BadCaseError(ValueError):
    """One line is no usable case; the message says why."""


@dataclass(frozen=True)
class Case:
    """One test case: what the target is asked, and what a good answer looks like."""

    id: str
    input: str
    expected_output: str = ""
    contexts: tuple[str, ...] = ()
    #: Free-form labels carried to the results (``category`` for red-team attempts).
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """What the stored result of this case depends on (a changed input is rerun)."""
        text = "\x00".join([self.input, self.expected_output, *self.contexts])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Problem:
    """One skipped line."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Evalset:
    """The usable cases of a file, in file order, and the lines that were skipped."""

    cases: list[Case]
    problems: list[Problem]


def read_evalset(path: Path) -> Evalset:
    """The cases of ``path``; raises :class:`EvalsetError` when none is usable."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EvalsetError(f"cannot read evalset {path}: {exc.strerror or exc}") from None
    evalset = parse_evalset(raw.decode("utf-8", errors="replace").splitlines())
    if not evalset.cases:
        shown = "; ".join(str(p) for p in evalset.problems[:5]) or "the file is empty"
        raise EvalsetError(f"evalset {path} has no usable case ({shown})")
    return evalset


def parse_evalset(lines: list[str]) -> Evalset:
    """Cases from JSON lines (1-based line numbers in the problems).

    >>> result = parse_evalset(['{"id": "a", "input": "hi"}', "oops", '{"id": "a", "input": "x"}'])
    >>> [c.id for c in result.cases], [str(p) for p in result.problems]
    (['a'], ['line 2: not valid JSON', 'line 3: duplicate id "a" (first on line 1)'])
    """
    cases: list[Case] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            case = parse_case(line)
        except BadCaseError as exc:
            problems.append(Problem(number, str(exc)))
            continue
        if case.id in first_line:
            reason = f'duplicate id "{case.id}" (first on line {first_line[case.id]})'
            problems.append(Problem(number, reason))
            continue
        first_line[case.id] = number
        cases.append(case)
    return Evalset(cases, problems)


def parse_case(line: str) -> Case:
    """One case from one JSON line; raises :class:`BadCaseError` saying what is wrong."""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        raise BadCaseError("not valid JSON") from None
    if not isinstance(data, dict):
        raise BadCaseError(f"expected a JSON object, got {type(data).__name__}")
    case_id = data.get("id")
    if case_id is None:
        raise BadCaseError('"id" is missing')
    if isinstance(case_id, bool) or not isinstance(case_id, (str, int)):
        raise BadCaseError(f'"id" must be a string, got {type(case_id).__name__}')
    contexts = _first(data, ("retrieval_context", "retrieved_contexts", "contexts"), [])
    if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
        raise BadCaseError('"retrieval_context" must be a list of strings')
    tags = data.get("tags") or {}
    if not isinstance(tags, dict):
        raise BadCaseError('"tags" must be an object')
    return Case(
        id=str(case_id),
        input=_text(data, ("input", "user_input"), required=True),
        expected_output=_text(data, ("expected_output", "reference")),
        contexts=tuple(contexts),
        tags={str(k): str(v) for k, v in tags.items()},
    )


def _first(data: dict[str, Any], keys: tuple[str, ...], default: Any) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return default


def _text(data: dict[str, Any], keys: tuple[str, ...], *, required: bool = False) -> str:
    value = _first(data, keys, None)
    if value is None:
        if required:
            raise BadCaseError(f'"{keys[0]}" is missing')
        return ""
    if not isinstance(value, str):
        raise BadCaseError(f'"{keys[0]}" must be a string, got {type(value).__name__}')
    return value
