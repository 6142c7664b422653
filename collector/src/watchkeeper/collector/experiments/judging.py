"""The seam for a judge's correctness score.

A judge is any callable ``judge(input, output, expected_output, contexts) -> float | None``
giving the answer's correctness in [0, 1] (None: no verdict). ``--judge module:function``
names one; its score is stored as ``judge_correctness``. A judge that raises or returns
something else gives no score for that case, never a failed run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from watchkeeper.collector.experiments.targets import load_callable

Judge = Callable[[str, str, str, Sequence[str]], Any]


def load_judge(spec: str) -> Judge:
    """The judge callable ``module:function``."""
    return load_callable(spec)


def judge_score(
    judge: Judge, question: str, answer: str, expected: str, contexts: Sequence[str]
) -> float | None:
    """The judge's correctness, clamped to [0, 1]; None when it gives none or fails."""
    try:
        value = judge(question, answer, expected, list(contexts))
    except Exception:  # a judge's failure costs its score, not the run
        return None
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return min(1.0, max(0.0, float(value)))
