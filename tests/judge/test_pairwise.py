"""Pairwise comparisons asked in both orders: order sensitivity as the flip rate, against
the stand-in endpoint through the official openai client."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from tests.judge.harness import judge_settings
from tests.judge.standin import StandIn
from watchkeeper.collector.judge.endpoint import open_endpoint
from watchkeeper.collector.judge.metrics import JudgeMetrics
from watchkeeper.collector.judge.pairwise import PairVerdict, compare, flip_rate
from watchkeeper.collector.judge.scorer import Judge

PAIRS = [
    ("capital of France?", "correct: Paris", "Lyon"),
    ("capital of Italy?", "Milan", "correct: Rome"),
    ("capital of Spain?", "Madrid", "Madrid"),
]


def _judge(standin: StandIn) -> Judge:
    config = judge_settings(standin).judge.configured()["default"]
    return Judge("default", config, open_endpoint(config, {}), JudgeMetrics(CollectorRegistry()))


def test_a_judge_that_prefers_the_first_answer_flips_on_every_pair(standin: StandIn) -> None:
    """The stand-in always prefers the answer shown first: each pair's winner changes with
    the order, so every comparison is a tie and the flip rate is 1.0; two requests each."""
    standin.prefer_first = True
    verdicts = [compare(_judge(standin), q, a, b) for q, a, b in PAIRS]
    assert verdicts == [PairVerdict("A", "B")] * 3
    assert [v.winner for v in verdicts if v] == ["tie", "tie", "tie"]
    assert flip_rate([v for v in verdicts if v]) == 1.0
    assert len(standin.requests) == 6


def test_a_judge_that_reads_the_answers_does_not_flip(standin: StandIn) -> None:
    """The stand-in preferring the answer that says "correct" picks A, then B, then a
    tie, whichever order it sees them in: flip rate 0."""
    verdicts = [compare(_judge(standin), q, a, b) for q, a, b in PAIRS]
    assert [v.winner for v in verdicts if v] == ["A", "B", "tie"]
    assert flip_rate([v for v in verdicts if v]) == 0.0
