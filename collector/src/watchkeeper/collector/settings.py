"""One validated settings model: defaults, then a TOML file, then ``WATCHKEEPER_*`` env vars.

Checked once at start; a bad key or value stops the command with one line that names it.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from watchkeeper.collector.review.queues import ReviewQueue, default_queues, merge_queues
from watchkeeper.collector.review.rubric import DIMENSION_PATTERN, RubricDimension, default_rubric
from watchkeeper.collector.review.tokens import TOKEN_PREFIX

ENV_PREFIX = "WATCHKEEPER_"
#: Env vars under our prefix that belong to the SDK or to tooling, not to this model.
_FOREIGN_ENV = {
    "CONFIG",
    "EXPORTER",
    "OTLP_ENDPOINT",
    "SERVICE_NAME",
    "SAMPLE_RATE",
    "CAPTURE_CONTENT",
    "KAFKA_TOPIC_SDK",
}
_FOREIGN_ENV_PREFIXES = ("TEST_", "SDK_")
#: Kubernetes "service links": a Service named e.g. watchkeeper-ui puts
#: WATCHKEEPER_UI_SERVICE_HOST / _PORT / _PORT_8080_TCP... into every pod of the namespace.
_SERVICE_LINK = re.compile(
    r"^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_[A-Z]+)?)?)$"
)


class ConfigError(ValueError):
    """A configuration key or value is wrong; the message names it and what to do."""


class Settings(BaseModel):
    """Everything the collector, ``watchkeeper up`` and ``watchkeeper demo`` can be told."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    data_dir: Path = Field(Path(".watchkeeper"), description="Where chDB keeps its tables.")
    store: Literal["chdb", "clickhouse"] = Field(
        "chdb", description="chdb (embedded, default) or clickhouse (a server at clickhouse_url)."
    )
    clickhouse_url: str | None = Field(
        None, description="clickhouse-connect DSN, e.g. http://user:pass@host:8123/."
    )
    database: str = Field("watchkeeper", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    ttl_days: int = Field(30, ge=1, le=3650, description="Days rows are kept.")
    http_host: str = Field("127.0.0.1", description="Address the HTTP server binds.")
    http_port: int = Field(
        4318, ge=0, le=65535, description="OTLP/HTTP, review API, UI and /metrics port."
    )
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers.")
    kafka_topic: str = Field("otlp_spans", min_length=1)
    kafka_group: str = Field("watchkeeper-collector", min_length=1)
    kafka_session_timeout_s: float = Field(
        10.0,
        ge=6.0,
        le=300.0,
        description="Consumer session timeout: how long a crashed collector's partitions "
        "wait before the group hands them to another member.",
    )
    # ClickHouse writes a part per insert and table (milliseconds of fixed work each): it
    # asks for inserts of 10,000 rows or more. Smaller batches cost CPU per call; under
    # light traffic a poll returns what is there, so batches are smaller anyway.
    kafka_max_batch: int = Field(10_000, ge=1, le=100_000, description="Records per store batch.")
    kafka_client: Literal["auto", "confluent", "kafka-python"] = Field(
        "auto",
        description="Kafka consumer library: confluent (librdkafka, C; the fast one), "
        "kafka-python (pure Python), or auto (confluent when installed).",
    )
    body_sample_rate: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="Share of call bodies (texts) stored; errors and "
        "flagged calls are always kept.",
    )
    body_sample_rules: dict[str, float] = Field(
        default_factory=dict,
        description='Per route/model/service body rates, e.g. {"route:checkout": 0.5}.',
    )
    review_sample_size: int = Field(
        10, ge=0, le=10_000, description="Calls per route and window for the 'random' queue."
    )
    review_window_s: float = Field(
        300.0, gt=0, le=86_400, description="Window of the review reservoir, in seconds."
    )
    dead_letter_topic: str | None = Field(
        None, description="Kafka topic that also receives dead letters (collect only)."
    )
    max_inflight_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="OTLP/HTTP bodies in flight before 429."
    )
    state_checkpoint_s: float = Field(
        60.0, gt=0, le=86_400, description="How often detector state is checkpointed."
    )
    max_detector_keys: int = Field(1000, ge=1, description="Bound on per-key detector state.")
    # `watchkeeper sidecar` (its HTTP address is http_host/http_port, its Kafka target
    # kafka_bootstrap/kafka_topic).
    sidecar_spool_dir: Path = Field(
        Path(".watchkeeper/spool"),
        description="Where the sidecar keeps spans until Kafka acknowledged them.",
    )
    sidecar_spool_max_bytes: int = Field(
        256 * 1024 * 1024,
        ge=1024 * 1024,
        description="Disk bound of the spool; when full, new OTLP requests get 503 and "
        "Retry-After (clients keep and retry them).",
    )
    sidecar_fsync: bool = Field(
        True,
        description="fsync each request before answering 200 (survives power loss; "
        "off: survives a crash of the process only).",
    )
    sidecar_drain_timeout_s: float = Field(
        5.0,
        ge=0.0,
        le=300.0,
        description="On SIGTERM, how long the sidecar keeps forwarding before it exits "
        "(the rest stays in the spool).",
    )

    # Review workflow: queues and their routing rules, the rubric, claim leases, and the
    # first admin token (see README "Review and evalsets").
    review_queues: dict[str, ReviewQueue] = Field(
        default_factory=default_queues,
        description="Review queues and their routing rules, merged over the built-in queues "
        "by name (enabled = false drops one); env: a JSON object.",
    )
    review_rubric: dict[str, RubricDimension] = Field(
        default_factory=default_rubric,
        description="Rubric dimensions reviewers judge (replaces the default); env: JSON.",
    )
    review_lease_s: float = Field(
        900.0, ge=10.0, le=86_400.0, description="How long a claimed item stays reserved."
    )
    bootstrap_admin_token: SecretStr | None = Field(
        None,
        description="An admin API token registered at start (e.g. from a Kubernetes Secret); "
        "without it a first admin token is written to <data_dir>/admin-token.",
    )

    @field_validator("body_sample_rules", mode="before")
    @classmethod
    def _rules_from_json(cls, value: Any) -> Any:
        # From the environment the rules arrive as a JSON object in a string.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a JSON object: {exc}") from None
        return value

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

    @field_validator("review_queues", mode="before")
    @classmethod
    def _queues_merged(cls, value: Any) -> Any:
        return merge_queues(value)

    @field_validator("review_rubric", mode="before")
    @classmethod
    def _rubric_from_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a JSON object: {exc}") from None
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

    @field_validator("clickhouse_url")
    @classmethod
    def _url_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://", "clickhouse://")):
            raise ValueError("must start with http://, https:// or clickhouse://")
        return value


def load_settings(
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Defaults < config file < environment < explicit overrides (command-line flags)."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    if config_file is None and env.get(ENV_PREFIX + "CONFIG"):
        config_file = Path(env[ENV_PREFIX + "CONFIG"])
    if config_file is not None:
        values.update(_read_file(config_file))
        source.update({key: str(config_file) for key in values})
    fields = Settings.model_fields
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key.upper() in _FOREIGN_ENV or key.upper().startswith(_FOREIGN_ENV_PREFIXES):
            continue
        if key not in fields and _SERVICE_LINK.match(name):
            continue
        if key not in fields:
            raise ConfigError(
                f"unknown setting {name} in the environment; valid: "
                + ", ".join(ENV_PREFIX + f.upper() for f in fields)
            )
        values[key] = raw
        source[key] = f"environment variable {name}"
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
            source[key] = f"option --{key.replace('_', '-')}"
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source)) from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    section = data.get("watchkeeper", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [watchkeeper] must be a table")
    unknown = sorted(set(section) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(
            f"unknown setting {unknown[0]!r} in {path}; valid keys: "
            + ", ".join(Settings.model_fields)
        )
    return dict(section)


def _explain(exc: ValidationError, source: dict[str, str]) -> str:
    error = exc.errors()[0]
    key = str(error["loc"][0]) if error["loc"] else "?"
    where = source.get(key, "defaults")
    # Nested settings (review_queues ...) name the full path to the bad value.
    key = ".".join(str(part) for part in error["loc"]) or "?"
    return f"invalid setting {key!r} (from {where}): {error['msg']}"
