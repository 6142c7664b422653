"""The judges: LLMs that score calls on the review rubric, beside the pipeline (see
docs/judges.md).

The default judge is the ``[watchkeeper.judge]`` table, or its flat keys
(``judge_base_url``, ``WATCHKEEPER_JUDGE_MODEL`` ...), which win over the table; more
judges are tables under ``[watchkeeper.judges.<name>]``. No judge is configured until a
``base_url`` (or a ``callable``) is given.

>>> JudgeSettings(judge_base_url="http://127.0.0.1:8000/v1", judge_model="m").configured()
{'default': JudgeConfig(provider='openai', base_url='http://127.0.0.1:8000/v1', model='m', ...)}
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper.collector.settings.json_value import from_json
from watchkeeper.ingest.settings import Section

#: The name the default judge's scores carry: ``judge.default.<dimension>``.
DEFAULT_JUDGE: Final = "default"
JUDGE_NAME_PATTERN: Final = r"^[a-z][a-z0-9_]{0,39}$"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
_CALLABLE = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"


class JudgeRule(BaseModel):
    """Judge calls that match: a route, a model, or a detector's flag (all given must match)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    route: str | None = None
    model: str | None = None
    flagged_by: str | None = Field(
        default=None, description="A detector name: calls it flagged in this batch."
    )
    rate: float = Field(default=1.0, ge=0.0, le=1.0)


class JudgeConfig(BaseModel):
    """One judge: where it runs, what it samples, what it may spend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["openai", "anthropic", "callable"] = "openai"
    base_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    model: str = Field(default="", max_length=200)
    api_key_env: str | None = Field(default=None, pattern=_ENV_NAME)
    callable: str | None = Field(default=None, pattern=_CALLABLE)
    review_first: bool = True
    rules: tuple[JudgeRule, ...] = ()
    sample_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    max_requests_per_hour: int = Field(default=1000, ge=0, le=10_000_000)
    max_tokens_per_hour: int = Field(default=2_000_000, ge=0, le=10_000_000_000)
    concurrency: int = Field(default=2, ge=1, le=64)
    timeout_s: float = Field(default=30.0, gt=0.0, le=600.0)
    max_retries: int = Field(default=3, ge=0, le=10)
    dimensions: tuple[str, ...] = Field(
        default=(), description="Rubric dimensions to judge (empty: all, and faithfulness)."
    )
    agreement_floor: float = Field(default=0.4, ge=-1.0, le=1.0)
    review_share: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Share of judged calls sent to the review queue 'judge' (fresh agreement).",
    )

    @model_validator(mode="after")
    def _complete(self) -> JudgeConfig:
        if self.provider == "callable":
            if not self.callable:
                raise ValueError("provider 'callable' needs callable = 'module:function'")
        elif not self.base_url:
            raise ValueError(f"provider {self.provider!r} needs base_url")
        elif not self.model:
            raise ValueError(f"provider {self.provider!r} needs model")
        return self

    @field_validator("dimensions", mode="before")
    @classmethod
    def _dimensions_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


#: The default judge's fields that have a flat key ``judge_<field>``.
FLAT_FIELDS: Final = (
    "provider",
    "base_url",
    "model",
    "api_key_env",
    "callable",
    "review_first",
    "sample_rate",
    "max_requests_per_hour",
    "max_tokens_per_hour",
    "concurrency",
    "timeout_s",
    "dimensions",
    "agreement_floor",
    "review_share",
)


class JudgeSettings(Section):
    """The judges and their shared queue."""

    table: JudgeConfig | None = Field(
        default=None, alias="judge", description="The default judge, as a table."
    )
    judges: dict[str, JudgeConfig] = Field(
        default_factory=dict,
        alias="judges",
        description="More judges by name; env: a JSON object.",
    )
    provider: str | None = Field(default=None, alias="judge_provider")
    base_url: str | None = Field(
        default=None,
        alias="judge_base_url",
        description="OpenAI-compatible chat completions endpoint of the default judge.",
    )
    model: str | None = Field(default=None, alias="judge_model")
    api_key_env: str | None = Field(
        default=None,
        alias="judge_api_key_env",
        description="Name of the environment variable that holds the judge's API key.",
    )
    callable: str | None = Field(default=None, alias="judge_callable")
    review_first: bool | None = Field(default=None, alias="judge_review_first")
    sample_rate: float | None = Field(default=None, alias="judge_sample_rate")
    max_requests_per_hour: int | None = Field(default=None, alias="judge_max_requests_per_hour")
    max_tokens_per_hour: int | None = Field(default=None, alias="judge_max_tokens_per_hour")
    concurrency: int | None = Field(default=None, alias="judge_concurrency")
    timeout_s: float | None = Field(default=None, alias="judge_timeout_s")
    dimensions: str | list[str] | None = Field(default=None, alias="judge_dimensions")
    agreement_floor: float | None = Field(default=None, alias="judge_agreement_floor")
    review_share: float | None = Field(default=None, alias="judge_review_share")
    queue_size: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        alias="judge_queue_size",
        description="Calls waiting for judges; more are dropped and counted.",
    )
    backlog_lookback_s: float = Field(
        default=3600.0,
        ge=0.0,
        le=7 * 86_400.0,
        alias="judge_backlog_lookback_s",
        description="At start, stored calls this recent that were due a judge and have no "
        "verdict are judged.",
    )
    cache_calls: int = Field(
        default=10_000,
        ge=0,
        le=1_000_000,
        alias="judge_cache_calls",
        description="Calls whose verdicts each judge holds in memory (its cache and what it "
        "judged), filled from the store at start.",
    )

    @field_validator("judges", mode="before")
    @classmethod
    def _judges_from_json(cls, value: Any) -> Any:
        value = from_json(value)
        if isinstance(value, dict):
            for name in value:
                if not re.match(JUDGE_NAME_PATTERN, str(name)) or name == DEFAULT_JUDGE:
                    raise ValueError(
                        f"judge name {name!r} must be lowercase letters, digits, _ "
                        f"(and not {DEFAULT_JUDGE!r})"
                    )
        return value

    @model_validator(mode="before")
    @classmethod
    def _flat_keys_into_table(cls, data: Any) -> Any:
        # The flat keys win over the table's; validated together, so an error names
        # judge.<field> whichever way it was given.
        if not isinstance(data, dict):
            return data
        table = data.get("judge", data.get("table"))
        merged: dict[str, Any] = dict(table) if isinstance(table, dict) else {}
        for name in FLAT_FIELDS:
            value = data.get(f"judge_{name}", data.get(name))
            if value is not None:
                merged[name] = value
        if merged or table is not None:
            data = {**data, "judge": merged if isinstance(table, dict | None) else table}
            data.pop("table", None)
        return data

    def default_judge(self) -> JudgeConfig | None:
        """The default judge (the table and the flat keys); None when not configured."""
        return self.table

    def configured(self) -> dict[str, JudgeConfig]:
        """Every configured judge by name (the default one as ``default``)."""
        default = self.default_judge()
        out = {DEFAULT_JUDGE: default} if default is not None else {}
        out.update(self.judges)
        return out
