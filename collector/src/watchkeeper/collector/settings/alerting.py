"""The alerting section: the false-page budget, burn-rate windows and quality SLOs.

In a config file the SLOs are an array of tables::

    [watchkeeper]
    alerting_false_pages_per_week = 1

    [[watchkeeper.alerting_slos]]
    name = "chat_faithful"
    route = "/chat"
    score = "faithfulness_drift.faithfulness"
    good = "at_least"
    threshold = 0.5
    objective = 0.99

    [[watchkeeper.alerting_slos]]
    name = "triage_pass_rate"
    review_queue = "random"
    objective = 0.9

In the environment, ``WATCHKEEPER_ALERTING_SLOS`` and ``WATCHKEEPER_ALERTING_WINDOWS``
are JSON arrays of the same objects.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper.collector.settings.json_value import from_json
from watchkeeper.ingest.settings import Section

#: A Prometheus duration of one unit, as the burn-rate windows are written.
DURATION_PATTERN = r"^[1-9]\d*[smhd]$"
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def duration_s(text: str) -> int:
    """Seconds of a duration such as ``5m`` or ``6h``."""
    return int(text[:-1]) * _UNIT_S[text[-1]]


class BurnWindow(BaseModel):
    """A long and a short window and the burn rate both must exceed to page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    long: str = Field(pattern=DURATION_PATTERN)
    short: str = Field(pattern=DURATION_PATTERN)
    burn: float = Field(gt=1.0)

    @model_validator(mode="after")
    def _short_within_long(self) -> Self:
        if duration_s(self.short) >= duration_s(self.long):
            raise ValueError(f"short window {self.short} must be shorter than long {self.long}")
        return self


#: The SRE workbook's pages: 2% of a 30-day budget in an hour, 5% in six hours.
DEFAULT_WINDOWS = (
    BurnWindow(long="1h", short="5m", burn=14.4),
    BurnWindow(long="6h", short="30m", burn=6.0),
)


class QualitySlo(BaseModel):
    """One quality objective: the share of a route's calls whose score is on the good
    side of a threshold, or a review queue's pass rate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    #: The route the objective covers; ``*`` for every route.
    route: str = Field(default="*", min_length=1, max_length=512)
    #: The service (``service.name``) it covers; ``*`` for every service.
    service: str = Field(default="*", min_length=1, max_length=512)
    #: ``<detector>.<score name>``, as the calls' scores are named.
    score: str | None = Field(default=None, pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$")
    #: ``at_least``: a call is good when its score is >= threshold; ``at_most``: <=.
    good: Literal["at_least", "at_most"] | None = None
    threshold: float | None = Field(default=None, allow_inf_nan=False)
    #: A reviewer pass-rate objective over this queue's overall verdicts, instead of a score.
    review_queue: str | None = Field(default=None, pattern=r"^[a-z0-9_-]+$")
    objective: float = Field(gt=0.0, lt=1.0)
    severity: Literal["critical", "warning"] = "critical"

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.score is None) == (self.review_queue is None):
            raise ValueError("give either score (with good and threshold) or review_queue")
        if self.score is not None and (self.good is None or self.threshold is None):
            raise ValueError(f"score {self.score} needs good (at_least/at_most) and threshold")
        if self.review_queue is not None:
            given = [k for k in ("good", "threshold") if getattr(self, k) is not None]
            if given or self.route != "*" or self.service != "*":
                raise ValueError(
                    "a review_queue objective counts the queue's verdicts: "
                    "drop good, threshold, route and service"
                )
        return self

    @property
    def min_calls(self) -> int:
        """Calls a window needs before one bad call matters at the objective."""
        return math.ceil(round(1.0 / (1.0 - self.objective), 9))


def _from_json(value: Any) -> Any:
    # From the environment the lists arrive as a JSON array in a string.
    return from_json(value, "array")


class AlertingSettings(Section):
    """What pages on-call: the false-page budget and the quality objectives."""

    false_pages_per_week: float = Field(
        default=1.0,
        gt=0.0,
        le=10_000.0,
        alias="alerting_false_pages_per_week",
        description="False pages a service may cost per week, split over its detector-keys.",
    )
    windows: tuple[BurnWindow, ...] = Field(
        default=DEFAULT_WINDOWS,
        min_length=1,
        max_length=6,
        alias="alerting_windows",
        description="Burn-rate window pairs of the SLO alerts: [{long, short, burn}, ...] "
        "(default: 1h/5m at 14.4x and 6h/30m at 6x); env: JSON.",
    )
    slos: tuple[QualitySlo, ...] = Field(
        default=(),
        max_length=200,
        alias="alerting_slos",
        description="Quality objectives: [[watchkeeper.alerting_slos]] tables with name, "
        "route, service, score, good, threshold, objective (or review_queue, objective); "
        "env: JSON.",
    )

    @field_validator("windows", "slos", mode="before")
    @classmethod
    def _lists_from_json(cls, value: Any) -> Any:
        return _from_json(value)

    @field_validator("slos")
    @classmethod
    def _unique_names(cls, value: tuple[QualitySlo, ...]) -> tuple[QualitySlo, ...]:
        names = [slo.name for slo in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"SLO names must be unique; given twice: {', '.join(twice)}")
        return value
