"""Settings: defaults < a TOML file < ``WATCHKEEPER_*`` environment < command-line options.

Users write flat keys (``kafka_bootstrap``, ``sidecar_spool_dir``); code reads one section
per component (``settings.kafka.bootstrap``, ``settings.sidecar.spool_dir``). A section is
a :class:`Section` whose fields carry their flat key as alias; a :class:`SettingsModel`
holds sections under their names and is built from flat keys. Checked once at start: an
unknown key or a bad value stops the command with one line that names it.

Leaf module: it imports nothing of the components it configures, so every module may
import it. The sidecar's settings live here, so ``watchkeeper sidecar`` loads them with
this package alone; the collector's settings add their sections in the same way.

>>> settings = load_settings(IngestSettings, environ={"WATCHKEEPER_HTTP_PORT": "9000"})
>>> settings.http.port, settings.kafka.topic
(9000, 'otlp_spans')
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "WATCHKEEPER_"
#: Variables under our prefix that are not settings of the commands: ``CONFIG`` names the
#: file; the SDK's own variables; ``NATIVE``, read by the detectors at import (``0`` runs
#: the Python code instead of the compiled core); ``ALERTS_TOKEN``, read by
#: ``grafana push``.
NOT_SETTINGS_ENV = frozenset(
    {
        "CONFIG",
        "EXPORTER",
        "OTLP_ENDPOINT",
        "OTLP_HEADERS",
        "SERVICE_NAME",
        "SAMPLE_RATE",
        "CAPTURE_CONTENT",
        "REDACT",
        "KAFKA_TOPIC_SDK",
        "NATIVE",
        "ALERTS_TOKEN",
    }
)
NOT_SETTINGS_ENV_PREFIXES = ("TEST_", "SDK_")
#: Kubernetes "service links": a Service named e.g. watchkeeper-ui puts
#: WATCHKEEPER_UI_SERVICE_HOST / _PORT / _PORT_8080_TCP... into every pod of the namespace.
_SERVICE_LINK = re.compile(
    r"^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_[A-Z]+)?)?)$"
)
#: Keys of the collector's settings (``watchkeeper.collector.settings``). A sidecar that
#: shares a config file or environment with a collector accepts and ignores them, without
#: importing the collector; tests/collector/test_settings.py keeps this list complete.
COLLECTOR_KEYS = frozenset(
    {
        "data_dir",
        "store",
        "clickhouse_url",
        "database",
        "ttl_days",
        "kafka_group",
        "kafka_session_timeout_s",
        "kafka_max_batch",
        "kafka_client",
        "dead_letter_topic",
        "state_checkpoint_s",
        "body_sample_rate",
        "body_sample_rules",
        "max_detector_keys",
        "detector_calibration",
        "detector_page_sd",
        "detector_page_rate_ratio",
        "detector_page_latency_factor",
        "detectors",
        "model_prices",
        "review_queues",
        "review_rubric",
        "review_sample_size",
        "review_window_s",
        "review_sample_max_per_window",
        "review_max_claims",
        "review_lease_s",
        "bootstrap_admin_token",
        "trace_sample_rate",
        "max_spans_per_trace",
        "max_open_traces",
        "trace_signals",
        "trace_grace_s",
        "session_idle_s",
        "judge",
        "judges",
        "judge_provider",
        "judge_base_url",
        "judge_model",
        "judge_api_key_env",
        "judge_callable",
        "judge_review_first",
        "judge_sample_rate",
        "judge_max_requests_per_hour",
        "judge_max_tokens_per_hour",
        "judge_concurrency",
        "judge_timeout_s",
        "judge_dimensions",
        "judge_agreement_floor",
        "judge_review_share",
        "judge_queue_size",
        "judge_backlog_lookback_s",
        "judge_cache_calls",
        "alerting_false_pages_per_week",
        "alerting_windows",
        "alerting_slos",
        "experiment_tolerances",
        "redteam_tolerances",
        "evalset_coverage_files",
        "evalset_coverage_threshold",
        "evalset_coverage_embedding",
    }
)


class ConfigError(ValueError):
    """A configuration key or value is wrong; the message names it and what to do."""


class Section(BaseModel):
    """The settings of one component. Each field's alias is the flat key users write."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, validate_by_alias=True, validate_by_name=True
    )


class SettingsModel(BaseModel):
    """Sections under their names, built from flat keys (or from sections).

    Subclasses declare one field per section, each with a default, e.g.
    ``http: HttpSettings = Field(default_factory=HttpSettings)``.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @classmethod
    def flat_keys(cls) -> dict[str, tuple[str, str]]:
        """Every flat key and where it lives: ``{"http_port": ("http", "port"), ...}``."""
        keys: dict[str, tuple[str, str]] = {}
        for section_name, field in cls.model_fields.items():
            section = field.annotation
            if not (isinstance(section, type) and issubclass(section, Section)):
                raise TypeError(f"{cls.__name__}.{section_name} is not a Section")
            for name, inner in section.model_fields.items():
                keys[inner.alias or name] = (section_name, name)
        return keys

    @model_validator(mode="before")
    @classmethod
    def _sections_from_flat_keys(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        keys = cls.flat_keys()
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in keys:
                section, _ = keys[key]
                given = out.setdefault(section, {})
                if isinstance(given, dict):
                    given[key] = value
                    continue
            out[key] = value  # a whole section, or an unknown key for extra="forbid"
        return out


#: OTLP/gRPC's registered port.
GRPC_PORT = 4317


class HttpSettings(Section):
    """The HTTP server every command that serves runs (OTLP/HTTP, API, UI, /metrics)."""

    host: str = Field(
        default="127.0.0.1", alias="http_host", description="Address the server binds."
    )
    port: int = Field(
        default=4318,
        ge=0,
        le=65535,
        alias="http_port",
        description="OTLP/HTTP, review API, UI and /metrics port.",
    )
    max_inflight_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        alias="max_inflight_bytes",
        description="OTLP/HTTP bodies in flight before 429.",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        alias="http_header_timeout_s",
        description="Seconds a request's headers may take to arrive; then the connection closes.",
    )
    body_timeout_s: float = Field(
        default=60.0,
        gt=0,
        alias="http_body_timeout_s",
        description="Seconds a request's body may take after its headers; then the connection "
        "closes.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        alias="http_max_connections",
        description="Open connections served at once; more are closed as they open.",
    )
    grpc_port: int | None = Field(
        default=GRPC_PORT,
        ge=0,
        le=65535,
        alias="grpc_port",
        description="OTLP/gRPC port (0 = any free port; off = no gRPC receiver). Unset while "
        "http_port is 0, it takes any free port too.",
    )

    @field_validator("grpc_port", mode="before")
    @classmethod
    def _grpc_off(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("off", "none", ""):
            return None
        return value

    @property
    def grpc_listen_port(self) -> int | None:
        """The port the gRPC receiver binds, None for none.

        ``--port 0`` asks for any free port so that instances can run side by side; a
        fixed 4317 beside it would make the second instance fail, so an unset
        ``grpc_port`` follows it.
        """
        if self.port == 0 and "grpc_port" not in self.model_fields_set:
            return 0
        return self.grpc_port


class KafkaSettings(Section):
    """Where spans travel: the brokers and the topic (the sidecar's target)."""

    bootstrap: str = Field(
        default="127.0.0.1:9092", alias="kafka_bootstrap", description="Kafka bootstrap servers."
    )
    topic: str = Field(default="otlp_spans", min_length=1, alias="kafka_topic")


class SidecarSettings(Section):
    """``watchkeeper sidecar``: its spool (its HTTP and Kafka sides are in http and kafka)."""

    spool_dir: Path = Field(
        default=Path(".watchkeeper/spool"),
        alias="sidecar_spool_dir",
        description="Where the sidecar keeps spans until Kafka acknowledged them.",
    )
    spool_max_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024 * 1024,
        alias="sidecar_spool_max_bytes",
        description="Disk bound of the spool; when full, new OTLP requests get 503 and "
        "Retry-After (clients keep and retry them).",
    )
    fsync: bool = Field(
        default=True,
        alias="sidecar_fsync",
        description="fsync each request before answering 200 (survives power loss; "
        "off: survives a crash of the process only).",
    )
    drain_timeout_s: float = Field(
        default=5.0,
        ge=0.0,
        le=300.0,
        alias="sidecar_drain_timeout_s",
        description="On SIGTERM, how long the sidecar keeps forwarding before it exits "
        "(the rest stays in the spool).",
    )


class IngestSettings(SettingsModel):
    """What the commands of this package read (``watchkeeper sidecar``); the collector's
    settings extend it."""

    http: HttpSettings = Field(default_factory=HttpSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    sidecar: SidecarSettings = Field(default_factory=SidecarSettings)


Model = TypeVar("Model", bound=SettingsModel)


def load_settings(
    model: type[Model],
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    ignored: Collection[str] = (),
) -> Model:
    """Defaults < config file < environment < explicit overrides (command-line flags).

    ``overrides`` and the file and environment use flat keys; an override of None is no
    override. Keys in ``ignored`` are accepted from the file and the environment and
    dropped (another component's settings).
    """
    keys = model.flat_keys()
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    if config_file is None and env.get(ENV_PREFIX + "CONFIG"):
        config_file = Path(env[ENV_PREFIX + "CONFIG"])
    if config_file is not None:
        for key, value in _read_file(config_file, keys, ignored).items():
            values[key] = value
            source[key] = str(config_file)
    for name, raw in env.items():
        env_key = _env_key(name, keys, ignored)
        if env_key is not None:
            values[env_key] = raw
            source[env_key] = f"environment variable {name}"
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
            source[key] = f"option --{key.replace('_', '-')}"
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source, model)) from None


def _env_key(name: str, keys: Collection[str], ignored: Collection[str]) -> str | None:
    """The flat key an environment variable sets; None when it is not a setting of ours."""
    if not name.startswith(ENV_PREFIX):
        return None
    key = name[len(ENV_PREFIX) :].lower()
    upper = key.upper()
    if upper in NOT_SETTINGS_ENV or upper.startswith(NOT_SETTINGS_ENV_PREFIXES):
        return None
    if key in keys:
        return key
    if key in ignored or _SERVICE_LINK.match(name):
        return None
    raise ConfigError(
        f"unknown setting {name} in the environment; valid: "
        + ", ".join(ENV_PREFIX + k.upper() for k in keys)
    )


def _read_file(path: Path, keys: Collection[str], ignored: Collection[str]) -> dict[str, Any]:
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
    unknown = sorted(set(section) - set(keys) - set(ignored))
    if unknown:
        raise ConfigError(
            f"unknown setting {unknown[0]!r} in {path}; valid keys: " + ", ".join(keys)
        )
    return {key: value for key, value in section.items() if key in keys}


def _explain(exc: ValidationError, source: Mapping[str, str], model: type[SettingsModel]) -> str:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    if loc and loc[0] in model.model_fields:
        loc = loc[1:]  # the section: users know the flat key only
    key = loc[0] if loc else "?"
    where = source.get(key, "defaults")
    # Nested values (review_queues ...) are named by their full path.
    return f"invalid setting {'.'.join(loc) or '?'!r} (from {where}): {error['msg']}"
