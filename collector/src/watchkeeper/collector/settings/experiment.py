"""Tolerances of ``watchkeeper experiment run`` and ``watchkeeper redteam run``
(docs/experiments.md), so a project keeps its release gate in its settings file.

``experiment_tolerances`` maps a metric to the largest drop of its mean that passes
(merged over the built-in defaults); ``redteam_tolerances`` maps an attack category (or
``*`` for all) to the highest success rate that passes. ``--tolerance`` options override
both. From the environment: JSON objects.

>>> ExperimentSettings(experiment_tolerances='{"token_f1": 0.02}').tolerances
{'token_f1': 0.02}
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, field_validator

from watchkeeper.collector.settings.json_value import from_json
from watchkeeper.ingest.settings import Section


class ExperimentSettings(Section):
    """The release gates' tolerances."""

    tolerances: dict[str, float] = Field(
        default_factory=dict,
        alias="experiment_tolerances",
        description="Metric -> largest tolerated drop of its mean (over the defaults).",
    )
    redteam_tolerances: dict[str, float] = Field(
        default_factory=dict,
        alias="redteam_tolerances",
        description="Attack category (or '*') -> highest tolerated success rate (default 0).",
    )

    @field_validator("tolerances", "redteam_tolerances", mode="before")
    @classmethod
    def _from_json(cls, value: Any) -> Any:
        return from_json(value)

    @field_validator("tolerances", "redteam_tolerances")
    @classmethod
    def _in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for name, tolerance in value.items():
            if not math.isfinite(tolerance) or not 0 <= tolerance <= 1:
                raise ValueError(f"{name}: must be between 0 and 1, got {tolerance}")
        return value
