"""The default review rubric: what reviewers score, and on which scale."""

from __future__ import annotations

from typing import Final

#: Dimension -> inclusive score range. 1-5 Likert scales; safety too, 5 meaning safe.
DEFAULT_RUBRIC: Final[dict[str, tuple[int, int]]] = {
    "factual_accuracy": (1, 5),
    "helpfulness": (1, 5),
    "tone": (1, 5),
    "safety": (1, 5),
}
VERDICTS: Final = ("pass", "fail")


def validate_scores(scores: dict[str, int], rubric: dict[str, tuple[int, int]]) -> list[str]:
    """Problems with ``scores`` against ``rubric``; an empty list means valid.

    >>> validate_scores({"tone": 9, "speed": 1}, DEFAULT_RUBRIC)
    ["unknown dimension 'speed'", 'tone must be between 1 and 5, got 9']
    """
    problems = []
    for name, value in sorted(scores.items()):
        if name not in rubric:
            problems.append(f"unknown dimension {name!r}")
            continue
        low, high = rubric[name]
        if not low <= value <= high:
            problems.append(f"{name} must be between {low} and {high}, got {value}")
    return problems
