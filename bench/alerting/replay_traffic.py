"""Stable and drifted LLM traffic for the false-page benchmark, as pools of calls.

Calls come from ``tests/support/workload.py`` (the detector benchmark's chatterbot calls:
30% RAG, 1% errors, 1% refusals, 1% truncated, 0.5% attacks, 0.5% PII answers). A stream
draws calls from a pool with replacement, so a stable stream is stationary by
construction; a drift draws from a transformed copy of the pool. Per call the pool also
holds what the SLO and fixed-threshold rules count (errors, refusals, truncated answers,
PII answers, faithfulness below 0.5, latency, output tokens, prompt length), so those
rules cost nothing per call.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tests.support import workload
from tests.support.workload import PII_ANSWERS, REFUSAL
from watchkeeper.detectors import Call, default_detectors

Transform = Callable[[random.Random, Call], Call]
#: Per-call signals the rules count: 0/1 events and raw values.
EVENTS = ("error", "refusal", "truncated", "pii", "unfaithful", "rag")
VALUES = ("latency", "tokens", "prompt")


@dataclass
class Pool:
    """Calls to draw from, and their signals as columns."""

    calls: list[Call]
    columns: dict[str, npt.NDArray[np.float64]]


def _faithfulness(call: Call) -> float:
    detector = next(d for d in default_detectors() if d.name == "faithfulness_drift")
    detector.update(call)
    return float(detector.scores.get("faithfulness", math.nan))


def make_pool(calls: list[Call]) -> Pool:
    """A pool of ``calls`` with their signals (faithfulness scored once per call)."""
    faith = np.array([_faithfulness(c) if c.contexts else math.nan for c in calls])
    columns = {
        "error": np.array([c.is_error for c in calls], dtype=float),
        "refusal": np.array([c.output_text == REFUSAL for c in calls], dtype=float),
        "truncated": np.array([list(c.finish_reasons) == ["length"] for c in calls], dtype=float),
        "pii": np.array([c.output_text in PII_ANSWERS for c in calls], dtype=float),
        "rag": np.array([bool(c.contexts) for c in calls], dtype=float),
        "unfaithful": np.where(np.isnan(faith), 0.0, faith < 0.5),
        "latency": np.array([c.duration_s for c in calls]),
        "tokens": np.array([c.output_tokens for c in calls], dtype=float),
        "prompt": np.array([len(c.input_text) for c in calls], dtype=float),
    }
    return Pool(calls, columns)


def stable_pool(size: int, seed: int) -> Pool:
    """Production-like calls (``workload.realistic``)."""
    return make_pool(workload.realistic(size, seed=seed))


def drifted(pool: Pool, transform: Transform, share: float, seed: int) -> Pool:
    """``pool`` with ``transform`` applied to ``share`` of its calls (copies), exactly: a
    coin per call would put 39 or 61 more errors into 5,000 calls as often as 50 (a 1%
    rise that is 0.8% or 1.2%)."""
    rng = random.Random(seed)
    chosen = set(rng.sample(range(len(pool.calls)), round(share * len(pool.calls))))
    calls = [
        transform(rng, dataclasses.replace(c)) if i in chosen else c
        for i, c in enumerate(pool.calls)
    ]
    return make_pool(calls)


def _every() -> list[workload.Conversation]:
    return workload.by_topic()


def slower(factor: float) -> Transform:
    """Latency times ``factor``."""

    def apply(rng: random.Random, c: Call) -> Call:
        c.duration_s *= factor
        return c

    return apply


def longer_answers(rng: random.Random, c: Call) -> Call:
    """Answers (output tokens) 50% longer."""
    c.output_tokens = int(c.output_tokens * 1.5)
    return c


def long_prompts(rng: random.Random, c: Call) -> Call:
    """The prompt of a trivia or coding question (longer ones)."""
    other = workload.call(rng, workload.by_topic(["trivia", "coding"]))
    c.input_text, c.input_tokens = other.input_text, other.input_tokens
    return c


def error(rng: random.Random, c: Call) -> Call:
    """The call failed."""
    c.is_error = True
    return c


def refusal(rng: random.Random, c: Call) -> Call:
    """The model refused."""
    c.output_text = REFUSAL
    return c


def truncated(rng: random.Random, c: Call) -> Call:
    """The answer was cut at the token limit."""
    c.finish_reasons = ["length"]
    return c


def pii(rng: random.Random, c: Call) -> Call:
    """The answer leaks personal data."""
    c.output_text = rng.choice(PII_ANSWERS)
    return c


def ungrounded(rng: random.Random, c: Call) -> Call:
    """A RAG answer taken from another conversation (not from its passages)."""
    if c.contexts:
        c.output_text = rng.choice(_every()).answers[0]
    return c


#: The drifts: name, transform, share of calls transformed. The first of each pair is
#: the detector benchmark's labelled change; the second a change no reviewer would miss.
DRIFTS: tuple[tuple[str, Transform, float], ...] = (
    ("calls 15% slower", slower(1.15), 1.0),
    ("calls 2x slower", slower(2.0), 1.0),
    ("answers 50% longer (tokens)", longer_answers, 1.0),
    ("30% of prompts from trivia/coding", long_prompts, 0.3),
    ("errors 1% -> 2%", error, 0.01),
    ("errors 1% -> 10%", error, 0.09),
    ("refusals 1% -> 2%", refusal, 0.01),
    ("refusals 1% -> 10%", refusal, 0.09),
    ("truncated 1% -> 2%", truncated, 0.01),
    ("PII answers 0.5% -> 1.5%", pii, 0.01),
    ("25% of RAG answers ungrounded", ungrounded, 0.25),
    ("all RAG answers ungrounded", ungrounded, 1.0),
)
#: The drifts a reviewer would call an incident, to page within 10 minutes: latency
#: doubled, a bad-answer rate doubled or more, ungrounded RAG answers. The others (15%
#: slower, 50% longer answers, a shifted prompt mix) are real and worth a ticket and a
#: look at the dashboards, not a page at night.
INCIDENTS = frozenset(
    label
    for label, _, _ in DRIFTS
    if label
    not in ("calls 15% slower", "answers 50% longer (tokens)", "30% of prompts from trivia/coding")
)
