"""A judge from the collector's settings (``[watchkeeper.judges.<name>]``) as an
experiment's correctness judge.

The judge is asked one question per case on the dimension ``correctness``: how far the
answer agrees with the case's reference answer, given to it as the first context (on
1..5, stored as 0..1). Its endpoint, retries and hourly budget are the judge's own (see
docs/judges.md); a case the judge gives up on, or the budget cannot pay for, gets no
``judge_correctness``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from watchkeeper.collector.experiments.judging import Judge
from watchkeeper.collector.judge.endpoint import open_endpoint
from watchkeeper.collector.judge.metrics import JudgeMetrics
from watchkeeper.collector.judge.prompt import DimensionPrompt, JudgeInput
from watchkeeper.collector.judge.scorer import Judge as ScoringJudge
from watchkeeper.collector.judge.scorer import Spent
from watchkeeper.collector.judge.start import check_keys
from watchkeeper.collector.settings import Settings
from watchkeeper.collector.settings.rubric import RubricDimension

CORRECTNESS = DimensionPrompt(
    "correctness",
    RubricDimension(
        kind="score",
        min=1,
        max=5,
        description="How far the answer states what the reference answer (the first "
        "context) states: 5 the same facts, 3 partly, 1 contradicts or misses them.",
    ),
)


def settings_judge(settings: Settings, name: str) -> ScoringJudge:
    """The judge ``name`` of ``settings`` (its endpoint, retries and budget)."""
    configured = settings.judge.configured()
    if name not in configured:
        known = ", ".join(configured) or "none"
        raise ValueError(f"no judge {name!r} in the settings (configured: {known})")
    check_keys(settings)
    config = configured[name]
    return ScoringJudge(
        name, config, open_endpoint(config, dict(os.environ)), JudgeMetrics(CollectorRegistry())
    )


def configured_judge(settings: Settings, name: str) -> Judge:
    """The judge ``name`` of ``settings`` as ``judge(input, output, expected, contexts)``."""
    scorer = settings_judge(settings, name)
    scale = CORRECTNESS.rubric

    def correctness(
        question: str, answer: str, expected: str, contexts: Sequence[str]
    ) -> float | None:
        if not expected:
            return None
        seen = JudgeInput(question, answer, (f"Reference answer: {expected}", *contexts))
        verdict = scorer.verdict(CORRECTNESS, seen, Spent())
        if verdict is None:
            return None
        return (verdict.score - scale.min) / (scale.max - scale.min)

    return correctness
