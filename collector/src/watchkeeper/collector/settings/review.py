"""The review section: queues and their routing rules, the rubric, the random sample,
claim leases and the first admin token (see docs/review.md)."""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import Field, SecretStr, field_validator

from watchkeeper.collector.settings.json_value import from_json
from watchkeeper.collector.settings.review_queues import ReviewQueue, default_queues, merge_queues
from watchkeeper.collector.settings.rubric import (
    DIMENSION_PATTERN,
    RubricDimension,
    default_rubric,
)
from watchkeeper.ingest.settings import Section

#: How every API token starts (review/tokens.py makes them).
TOKEN_PREFIX: Final = "wk_"


class ReviewSettings(Section):
    """The review workflow."""

    queues: dict[str, ReviewQueue] = Field(
        default_factory=default_queues,
        alias="review_queues",
        description="Review queues and their routing rules, merged over the built-in queues "
        "by name (enabled = false drops one); env: a JSON object.",
    )
    rubric: dict[str, RubricDimension] = Field(
        default_factory=default_rubric,
        alias="review_rubric",
        description="Rubric dimensions reviewers judge (replaces the default); env: JSON.",
    )
    sample_size: int = Field(
        default=10,
        ge=0,
        le=10_000,
        alias="review_sample_size",
        description="Calls per route and window for the 'random' queue.",
    )
    window_s: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        alias="review_window_s",
        description="Window of the review reservoir, in seconds.",
    )
    sample_max_per_window: int = Field(
        default=100,
        ge=0,
        le=1_000_000,
        alias="review_sample_max_per_window",
        description="Calls per window for the 'random' queue over all routes (many routes, or "
        "junk route names, cannot flood it).",
    )
    max_claims: int = Field(
        default=20,
        ge=1,
        le=10_000,
        alias="review_max_claims",
        description="Items one reviewer may hold (claimed, not yet labelled) in a queue.",
    )
    lease_s: float = Field(
        default=900.0,
        ge=10.0,
        le=86_400.0,
        alias="review_lease_s",
        description="How long a claimed item stays reserved.",
    )
    bootstrap_admin_token: SecretStr | None = Field(
        default=None,
        alias="bootstrap_admin_token",
        description="An admin API token registered at start (e.g. from a Kubernetes Secret); "
        "without it a first admin token is written to <data_dir>/admin-token.",
    )

    @field_validator("queues", mode="before")
    @classmethod
    def _queues_merged(cls, value: Any) -> Any:
        return merge_queues(value)

    @field_validator("rubric", mode="before")
    @classmethod
    def _rubric_from_json(cls, value: Any) -> Any:
        value = from_json(value)
        if isinstance(value, dict):
            for name in value:
                if not re.match(DIMENSION_PATTERN, str(name)):
                    raise ValueError(
                        f"dimension name {name!r} must be lowercase letters, digits, _"
                    )
            if not value:
                raise ValueError("the rubric needs at least one dimension")
        return value

    @field_validator("bootstrap_admin_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            text = value.get_secret_value()
            if not text.startswith(TOKEN_PREFIX) or len(text) < 35:
                raise ValueError(
                    f"must start with {TOKEN_PREFIX!r} and be at least 35 characters; "
                    "make one with `watchkeeper tokens generate`"
                )
        return value
