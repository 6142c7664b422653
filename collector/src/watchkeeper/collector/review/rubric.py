"""The review rubric: which dimensions reviewers judge, on which scale, and what passes.

A rubric is configuration (``review_rubric``; its models live with the settings, in
:mod:`watchkeeper.collector.settings.rubric`); the default judges factual accuracy,
helpfulness and tone on 1-5 and safety as pass/fail. Every label also carries an overall
pass/fail verdict. Scores are stored as small integers (pass/fail as 1/0), so the store,
agreement and export treat every dimension alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from watchkeeper.collector.settings.rubric import (
    DIMENSION_PATTERN,
    VERDICTS,
    RubricDimension,
    default_rubric,
)

__all__ = [
    "DIMENSION_PATTERN",
    "VERDICTS",
    "VERDICT_DIMENSION",
    "Rubric",
    "RubricDimension",
    "default_rubric",
]

#: The overall verdict, reported beside the rubric dimensions (metrics, agreement).
VERDICT_DIMENSION: Final = "verdict"


class Rubric:
    """A validated set of dimensions; turns submitted scores into stored ones.

    >>> rubric = Rubric(default_rubric())
    >>> rubric.parse_scores({"tone": 4, "safety": "pass"})
    ({'tone': 4, 'safety': 1}, [])
    >>> rubric.parse_scores({"tone": 9, "speed": 1})[1]
    ["unknown dimension 'speed'", 'tone must be between 1 and 5, got 9']
    """

    def __init__(self, dimensions: Mapping[str, RubricDimension] | None = None) -> None:
        self.dimensions: dict[str, RubricDimension] = dict(
            dimensions if dimensions is not None else default_rubric()
        )

    def parse_scores(self, scores: Mapping[str, object]) -> tuple[dict[str, int], list[str]]:
        """Stored values and the problems found (an empty list means valid)."""
        stored: dict[str, int] = {}
        problems: list[str] = []
        for name in sorted(set(scores) - set(self.dimensions)):
            problems.append(f"unknown dimension {name!r}")
        for name, dimension in self.dimensions.items():
            if name not in scores:
                if dimension.required:
                    problems.append(f"{name} is required")
                continue
            try:
                stored[name] = dimension.parse(scores[name])
            except ValueError as exc:
                problems.append(f"{name} {exc}")
        return stored, problems

    def describe(self) -> dict[str, Any]:
        """The rubric as the API publishes it."""
        return {
            "verdicts": list(VERDICTS),
            "dimensions": {
                name: {
                    "kind": d.kind,
                    "min": 0 if d.kind == "pass_fail" else d.min,
                    "max": 1 if d.kind == "pass_fail" else d.max,
                    "pass_at": d.threshold,
                    "required": d.required,
                    "description": d.description,
                }
                for name, d in self.dimensions.items()
            },
        }
