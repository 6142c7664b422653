"""Review queues as configuration (``review_queues``): which calls go where, how urgently,
how many.

``review_queues`` maps a queue name to its rules. A rule (``when``) matches one kind of
signal; a queue takes a call when any of its rules matches::

    [watchkeeper.review_queues.faithfulness]
    priority = 60
    cap_per_hour = 60
    when = [{ score = "faithfulness_drift.faithfulness", below = 0.5 }]

Signals: ``alarm`` (a detector flagged the call; ``"*"`` for any detector), ``score`` (a
per-call score ``<detector>.<score>``, or a judge's ``judge.<judge>.<dimension>``,
``below``/``at_least`` a threshold; judge scores are routed when the verdict arrives),
``error`` (the call failed), ``feedback`` (an end user's thumbs-down: a feedback label in
``labels`` or a score at most ``score_at_most``), ``sample`` (the per-window random sample)
and ``feed`` (a component that fills the queue itself: ``versions``, the calls of a
regressed candidate version; ``coverage``, production inputs the evalsets do not cover;
``trajectories``, whole traces whose trajectory or RAG signals fired; ``conversations``,
sessions that ended abandoned or with a rephrased question). ``route``, ``model`` and
``service`` narrow a rule to matching calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from watchkeeper.collector.settings.json_value import from_json

QUEUE_NAME_PATTERN: Final = r"^[a-z][a-z0-9_-]{0,63}$"
_SIGNALS: Final = ("alarm", "score", "error", "feedback", "sample", "feed")
#: Components that put items in a queue with a ``feed`` rule.
FEEDS: Final = ("versions", "coverage", "trajectories", "conversations")
#: Feedback labels that mean "this answer was bad", as the SDK's ``feedback(label=...)``
#: and common widgets send them.
NEGATIVE_FEEDBACK_LABELS: Final = (
    "thumbs_down",
    "thumbsdown",
    "negative",
    "bad",
    "wrong",
    "unhelpful",
    "-1",
)


class RouteRule(BaseModel):
    """One condition under which a call goes to a queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alarm: str | None = Field(default=None, description="detector name, or '*' for any")
    score: str | None = Field(
        default=None,
        pattern=r"^(?:[a-z0-9_]+|judge\.[a-z][a-z0-9_]{0,39})\.[a-z0-9_]+$",
        description="<detector>.<score>, or judge.<judge>.<dimension>",
    )
    below: float | None = None
    at_least: float | None = None
    error: bool | None = None
    feedback: bool | None = None
    labels: tuple[str, ...] = NEGATIVE_FEEDBACK_LABELS
    score_at_most: float | None = 0.0
    sample: bool | None = None
    feed: str | None = Field(default=None, pattern="^(" + "|".join(FEEDS) + ")$")
    route: str | None = None
    model: str | None = None
    service: str | None = None
    priority: int | None = Field(
        default=None, ge=-1000, le=1000, description="overrides the queue's"
    )

    @model_validator(mode="after")
    def _one_signal(self) -> RouteRule:
        given = [name for name in _SIGNALS if getattr(self, name) not in (None, False)]
        if len(given) != 1:
            raise ValueError(
                "a rule needs exactly one of alarm, score, error, feedback, sample, feed; got "
                + (", ".join(given) or "none")
            )
        if self.score is not None and self.below is None and self.at_least is None:
            raise ValueError(f"score rule {self.score!r} needs below or at_least")
        if self.score is None and (self.below is not None or self.at_least is not None):
            raise ValueError("below/at_least only apply to a score rule")
        return self

    @property
    def signal(self) -> str:
        """Which signal the rule reads: alarm, score, error, feedback or sample."""
        return next(name for name in _SIGNALS if getattr(self, name) not in (None, False))

    @property
    def reason(self) -> str:
        """The reason stored with items this rule routes (shown to reviewers)."""
        if self.alarm is not None:
            return "alarm" if self.alarm == "*" else f"alarm:{self.alarm}"
        if self.score is not None:
            parts = []
            if self.below is not None:
                parts.append(f"<{self.below:g}")
            if self.at_least is not None:
                parts.append(f">={self.at_least:g}")
            return f"score:{self.score}{''.join(parts)}"
        if self.error:
            return "error"
        if self.feedback:
            return "feedback"
        if self.feed is not None:
            return self.feed
        return "random_sample"

    def applies_to(self, route: str, model: str, service: str) -> bool:
        """Whether the route/model/service filters let a call through."""
        return (
            (self.route is None or self.route == route)
            and (self.model is None or self.model == model)
            and (self.service is None or self.service == service)
        )

    def score_mask(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Whether each per-call score value meets this rule's thresholds (NaN, no score,
        meets none)."""
        mask = ~np.isnan(values)
        if self.below is not None:
            mask &= values < self.below
        if self.at_least is not None:
            mask &= values >= self.at_least
        return mask

    def is_negative_feedback(self, label: str, score: float | None) -> bool:
        """Whether one feedback record is a thumbs-down under this rule."""
        if label and label.strip().lower() in self.labels:
            return True
        return score is not None and self.score_at_most is not None and score <= self.score_at_most


class ReviewQueue(BaseModel):
    """A named queue: its rules, priority, cap and reviewers per item."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(default="", max_length=500)
    priority: int = Field(default=0, ge=-1000, le=1000, description="higher is reviewed first")
    cap_per_hour: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="items routed per hour of call time; none = no cap",
    )
    reviewers: int = Field(default=1, ge=1, le=10, description="labels wanted per item")
    when: tuple[RouteRule, ...] = ()
    enabled: bool = True

    @model_validator(mode="after")
    def _has_rules(self) -> ReviewQueue:
        if self.enabled and not self.when:
            raise ValueError("an enabled queue needs at least one rule in 'when'")
        return self


#: The built-in queues, highest priority first. Thresholds are starting points: calibrate
#: them against reviewers (``GET /api/calibration``).
DEFAULT_QUEUES: Final[dict[str, dict[str, Any]]] = {
    "safety": {
        "description": "Prompt-injection attempts and answers that may leak personal data.",
        "priority": 90,
        "cap_per_hour": 200,
        "when": [
            {"score": "prompt_injection.safety", "at_least": 0.5},
            {"score": "pii_leak.safety", "at_least": 0.5},
        ],
    },
    "feedback": {
        "description": "Calls an end user gave a thumbs-down.",
        "priority": 80,
        "when": [{"feedback": True}],
    },
    "alarms": {
        "description": "Calls on which a detector raised a drift alarm.",
        "priority": 70,
        "when": [{"alarm": "*"}],
    },
    "faithfulness": {
        "description": "RAG answers poorly grounded in their retrieved contexts.",
        "priority": 60,
        "cap_per_hour": 60,
        "when": [{"score": "faithfulness_drift.faithfulness", "below": 0.5}],
    },
    "trajectories": {
        "description": "Whole agent/RAG traces where a tool failed or looped, arguments "
        "broke a tool's schema, a retrieval came back empty, no answer came, or a trace "
        "signal alarmed: reviewed as one trajectory.",
        "priority": 65,
        "cap_per_hour": 60,
        "when": [{"feed": "trajectories"}],
    },
    "conversations": {
        "description": "Conversations that ended abandoned or where the user asked the "
        "same question again: reviewed turn by turn.",
        "priority": 58,
        "cap_per_hour": 30,
        "when": [{"feed": "conversations"}],
    },
    "versions": {
        "description": "Calls of a model or prompt version that regressed against the one "
        "before it, worst first (the live version comparison).",
        "priority": 55,
        "when": [{"feed": "versions"}],
    },
    "consistency": {
        "description": "Answers that contradict earlier answers to the same question.",
        "priority": 50,
        "cap_per_hour": 60,
        "when": [{"score": "consistency_drift.consistency", "below": 0.5}],
    },
    "errors": {
        "description": "Calls that failed.",
        "priority": 40,
        "cap_per_hour": 120,
        "when": [{"error": True}],
    },
    "coverage": {
        "description": "Production inputs least like any case of the evalsets "
        "(evalset_coverage_files): what the evalsets are missing.",
        "priority": 5,
        "when": [{"feed": "coverage"}],
    },
    "random": {
        "description": "A uniform sample of ordinary calls (review_sample_size per route "
        "and window): the baseline of quality.",
        "priority": 0,
        "when": [{"sample": True}],
    },
}


def default_queues() -> dict[str, ReviewQueue]:
    """The built-in queues, validated."""
    return {name: ReviewQueue.model_validate(raw) for name, raw in DEFAULT_QUEUES.items()}


def merge_queues(value: Any) -> Any:
    """Configured queues over the built-in ones: same name replaces, ``enabled = false`` drops.

    Accepts a mapping or (from an environment variable) a JSON object in a string.

    >>> merged = merge_queues({"random": {"enabled": False}, "vip": {"when": [{"error": True}]}})
    >>> "random" in merged, "vip" in merged, len(merged)
    (False, True, 11)
    """
    value = from_json(value)
    if not isinstance(value, Mapping):
        raise ValueError("must be a table of queue name -> queue")  # noqa: TRY004 - pydantic
    merged: dict[str, Any] = dict(DEFAULT_QUEUES)
    for name, queue in value.items():
        if not isinstance(name, str) or not re.match(QUEUE_NAME_PATTERN, name):
            raise ValueError(
                f"queue name {name!r} must be lowercase letters, digits, '_' or '-' "
                "(it appears in URLs and metric labels)"
            )
        merged[name] = queue
    return {
        name: queue
        for name, queue in merged.items()
        if not (isinstance(queue, Mapping) and queue.get("enabled") is False)
        and not (isinstance(queue, ReviewQueue) and not queue.enabled)
    }
