"""What ``configure()`` accepts, its defaults, and the ``WATCHKEEPER_*`` environment.

Every other module may read these; this module imports none of the modules it
configures. Values are validated here, at set-up time, with an error that names the
argument or environment variable at fault.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from watchkeeper.sdk import attributes
from watchkeeper.sdk.messages import DEFAULT_CONTENT_BUDGET
from watchkeeper.sdk.redaction import Redactor, chain, redact_pii

EXPORTERS: Final = ("otlp", "kafka", "none", "memory")
DEFAULT_OTLP_ENDPOINT: Final = "http://127.0.0.1:4318/v1/traces"
"""The local ``watchkeeper up`` / sidecar receiver."""
DEFAULT_TOPIC: Final = "otlp_spans"

ENV_EXPORTER: Final = "WATCHKEEPER_EXPORTER"
ENV_OTLP_ENDPOINT: Final = "WATCHKEEPER_OTLP_ENDPOINT"
ENV_OTLP_HEADERS: Final = "WATCHKEEPER_OTLP_HEADERS"
ENV_KAFKA_BOOTSTRAP: Final = "WATCHKEEPER_KAFKA_BOOTSTRAP"
ENV_SERVICE_NAME: Final = "WATCHKEEPER_SERVICE_NAME"
ENV_SAMPLE_RATE: Final = "WATCHKEEPER_SAMPLE_RATE"
ENV_CAPTURE_CONTENT: Final = "WATCHKEEPER_CAPTURE_CONTENT"
ENV_REDACT: Final = "WATCHKEEPER_REDACT"

SCOPE_NAME: Final = "watchkeeper.sdk"

# Defaults shared by configure() and the lazy configuration from the environment.
DEFAULT_MAX_QUEUE_SIZE: Final = 2048
DEFAULT_MAX_EXPORT_BATCH_SIZE: Final = 512
DEFAULT_SCHEDULE_DELAY_S: Final = 1.0
DEFAULT_EXPORT_TIMEOUT_S: Final = 10.0
DEFAULT_SHUTDOWN_TIMEOUT_S: Final = 5.0

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Settings:
    """What the export thread needs to know to build spans."""

    capture_content: bool = True
    redact: Redactor | None = None
    max_content_chars: int = DEFAULT_CONTENT_BUDGET
    sample_rate: float = 1.0
    session_attributes: Mapping[str, str] = field(default_factory=dict)
    """``configure(session_id=..., user_id=...)`` as span attributes, on every call."""


def resolve_settings(
    *,
    capture_content: bool | None,
    redact: bool | Redactor | Sequence[Redactor] | None,
    max_content_chars: int,
    sample_rate: float | None,
    session_id: str | None = None,
    user_id: str | None = None,
) -> Settings:
    """:class:`Settings` from ``configure()``'s arguments, the environment filling in
    what is None; raises ValueError naming a bad argument or variable."""
    if max_content_chars < 0:
        raise ValueError(f"max_content_chars must be >= 0, got {max_content_chars}")
    return Settings(
        capture_content=_capture_setting(capture_content),
        redact=_redactor(redact),
        max_content_chars=max_content_chars,
        sample_rate=_sample_rate(sample_rate),
        session_attributes=session_attributes_of(session_id, user_id),
    )


#: W3C baggage entries ``session()`` sets, so other services' calls join the session.
BAGGAGE_SESSION: Final = "session.id"
BAGGAGE_USER: Final = "user.id"


def session_from_baggage(entries: Mapping[str, object]) -> dict[str, str] | None:
    """The session attributes carried by W3C baggage (None when it carries neither id)."""
    session_id, user_id = entries.get(BAGGAGE_SESSION), entries.get(BAGGAGE_USER)
    if session_id is None and user_id is None:
        return None
    return session_attributes_of(
        session_id if isinstance(session_id, str) else None,
        user_id if isinstance(user_id, str) else None,
    )


def session_attributes_of(session_id: str | None, user_id: str | None) -> dict[str, str]:
    """The span attributes that say which session and user a call belongs to."""
    found: dict[str, str] = {}
    if session_id:
        found[attributes.CONVERSATION_ID] = found[attributes.SESSION_ID] = str(session_id)
    if user_id:
        found[attributes.USER_ID] = str(user_id)
    return found


def exporter_choice(exporter: str | None) -> tuple[str, str]:
    """The exporter asked for (``WATCHKEEPER_EXPORTER``, then "otlp", when None) and
    where that came from, for error messages."""
    if exporter is None:
        return os.environ.get(ENV_EXPORTER) or "otlp", ENV_EXPORTER
    return exporter, "exporter"


def service_name_setting(service_name: str | None) -> str | None:
    """``service_name``, else ``WATCHKEEPER_SERVICE_NAME``, else None (OpenTelemetry's
    resource detection then applies ``OTEL_SERVICE_NAME``)."""
    return service_name or os.environ.get(ENV_SERVICE_NAME) or None


def otlp_url(endpoint: str | None) -> str:
    """The OTLP/HTTP traces URL: ``endpoint``, else ``WATCHKEEPER_OTLP_ENDPOINT``, else
    the local receiver (see :func:`traces_url`)."""
    return traces_url(endpoint or os.environ.get(ENV_OTLP_ENDPOINT) or DEFAULT_OTLP_ENDPOINT)


def otlp_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """``WATCHKEEPER_OTLP_HEADERS`` (``k=v,k2=v2``) with ``headers`` on top."""
    return {**_parse_headers(os.environ.get(ENV_OTLP_HEADERS, "")), **(headers or {})}


def kafka_servers(kafka_bootstrap: str | None) -> list[str]:
    """The Kafka bootstrap servers from ``kafka_bootstrap`` or the environment."""
    bootstrap = kafka_bootstrap or os.environ.get(ENV_KAFKA_BOOTSTRAP)
    if not bootstrap:
        raise ValueError(
            f"exporter 'kafka' needs kafka_bootstrap= or {ENV_KAFKA_BOOTSTRAP} "
            "(e.g. 'broker-1:9092,broker-2:9092')"
        )
    return [server.strip() for server in bootstrap.split(",") if server.strip()]


def traces_url(endpoint: str) -> str:
    """``endpoint`` checked to be an http(s) URL; a bare base URL gets ``/v1/traces``.

    >>> traces_url("http://collector:4318")
    'http://collector:4318/v1/traces'
    """
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"OTLP endpoint {endpoint!r} (endpoint= or {ENV_OTLP_ENDPOINT}) must be an "
            "http(s) URL such as 'http://127.0.0.1:4318/v1/traces'"
        )
    if parts.path in ("", "/"):
        parts = parts._replace(path="/v1/traces")
    return urlunsplit(parts)


def _sample_rate(value: float | None) -> float:
    source = "sample_rate"
    if value is None:
        raw = os.environ.get(ENV_SAMPLE_RATE)
        if raw is None or not raw.strip():
            return 1.0
        source = ENV_SAMPLE_RATE
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{ENV_SAMPLE_RATE}={raw!r} is not a number in (0, 1]") from None
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{source} must be in (0, 1], got {value!r}")
    return float(value)


def _env_flag(name: str) -> bool | None:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ValueError(f"{name}={raw!r} must be true or false")


def _capture_setting(value: bool | None) -> bool:
    if value is not None:
        return value
    from_env = _env_flag(ENV_CAPTURE_CONTENT)
    return True if from_env is None else from_env


def _redactor(value: bool | Redactor | Sequence[Redactor] | None) -> Redactor | None:
    if value is None:
        value = bool(_env_flag(ENV_REDACT))
    if value is True:
        return redact_pii
    if value is False:
        return None
    if callable(value):
        return value
    redactors = list(value)
    if not all(callable(redactor) for redactor in redactors):
        raise ValueError("redact= takes True/False, a str -> str function, or a list of them")
    return chain(redactors) if redactors else None


def _parse_headers(raw: str) -> dict[str, str]:
    headers = {}
    for item in raw.split(","):
        key, separator, value = item.partition("=")
        if separator and key.strip():
            headers[key.strip()] = value.strip()
    return headers
