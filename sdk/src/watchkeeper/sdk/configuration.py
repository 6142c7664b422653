"""``configure()``, ``flush()`` and ``shutdown()``: what is recorded, where it goes, how.

The SDK never touches the app's global ``TracerProvider``: our spans join the app's
traces through the OpenTelemetry *context* (shared by every provider in the process),
and leave the process through our own export thread.

If ``@observe`` runs before ``configure()``, the SDK configures itself from the
environment (``WATCHKEEPER_EXPORTER`` ...), defaulting to OTLP/HTTP on the local sidecar.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit, urlunsplit

from watchkeeper.sdk import attributes
from watchkeeper.sdk.internal_errors import handle_internal_error
from watchkeeper.sdk.messages import DEFAULT_CONTENT_BUDGET
from watchkeeper.sdk.redaction import Redactor, chain, redact_pii
from watchkeeper.sdk.stats import COUNTERS

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from watchkeeper.sdk.call_context import CallContext
    from watchkeeper.sdk.export_worker import ExportWorker, SpanSink
    from watchkeeper.sdk.exporters.memory import MemorySink

logger = logging.getLogger("watchkeeper.sdk")

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
_SAMPLE_SPACE: Final = 1 << 64


@dataclass(frozen=True)
class Settings:
    """What the export thread needs to know to build spans."""

    capture_content: bool = True
    redact: Redactor | None = None
    max_content_chars: int = DEFAULT_CONTENT_BUDGET
    sample_rate: float = 1.0


class Pipeline:
    """One configured path from ``@observe`` to an exporter."""

    def __init__(
        self,
        settings: Settings,
        worker: ExportWorker | None,
        memory: MemorySink | None,
        shutdown_timeout_s: float,
    ) -> None:
        self.settings = settings
        self.worker = worker
        self.memory = memory
        self.shutdown_timeout_s = shutdown_timeout_s
        self.closed = False
        # Calls whose trace id's low 64 bits fall below this are sampled; the same rule
        # as OpenTelemetry's TraceIdRatioBased, so every service agrees on a trace.
        self.sample_bound = round(settings.sample_rate * _SAMPLE_SPACE)

    def submit(self, call: CallContext) -> None:
        """Hand a finished call to the export thread (or drop it: sampled out)."""
        if not call._sampled and call._error is None:
            COUNTERS.spans_sampled_out.increment()
            return
        worker = self.worker
        if worker is not None:
            worker.submit(call)

    def close(self, timeout_s: float) -> bool:
        """Export what is queued and stop; True if that finished within ``timeout_s``."""
        self.closed = True
        return True if self.worker is None else self.worker.shutdown(timeout_s)


_pipeline: Pipeline | None = None
_lock = threading.Lock()
_atexit_registered = False


def configure(
    exporter: str | SpanExporter | None = None,
    *,
    endpoint: str | None = None,
    headers: Mapping[str, str] | None = None,
    kafka_bootstrap: str | None = None,
    topic: str = DEFAULT_TOPIC,
    service_name: str | None = None,
    sample_rate: float | None = None,
    capture_content: bool | None = None,
    redact: bool | Redactor | Sequence[Redactor] | None = None,
    max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE,
    max_export_batch_size: int = DEFAULT_MAX_EXPORT_BATCH_SIZE,
    schedule_delay_s: float = DEFAULT_SCHEDULE_DELAY_S,
    export_timeout_s: float = DEFAULT_EXPORT_TIMEOUT_S,
    shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S,
    max_content_chars: int = DEFAULT_CONTENT_BUDGET,
) -> None:
    """Choose what is recorded and where it goes. Call once at start-up; calling again
    replaces the setup.

    Args:
        exporter: ``"otlp"`` (default; OTLP/HTTP protobuf to ``endpoint``), ``"kafka"``
            (straight to topic ``topic`` on ``kafka_bootstrap``; needs the ``kafka``
            extra), ``"memory"`` (kept in memory for tests, see
            :mod:`watchkeeper.sdk.testing`), ``"none"`` (calls are traced, nothing is
            exported), or any OpenTelemetry ``SpanExporter`` instance.
        endpoint: OTLP/HTTP traces URL; a bare ``http://host:4318`` gets ``/v1/traces``.
        headers: extra HTTP headers for OTLP (e.g. authorization).
        kafka_bootstrap: ``"host:port[,host:port]"`` of the Kafka brokers.
        topic: Kafka topic.
        service_name: ``service.name`` of the spans' resource.
        sample_rate: share of traces kept, decided by trace id (deterministic, so a
            trace is kept or dropped whole); calls that raise are always kept. Each
            span carries the rate it was kept with (``watchkeeper.sample_rate``).
        capture_content: record prompts, answers, documents' text and tool arguments
            (default True); False keeps only metadata (models, tokens, ids, timings).
        redact: ``True`` for the built-in redactors (e-mails, phone numbers, payment
            cards, API keys and tokens, IP addresses), or your own ``str -> str``
            function(s); applied to all captured text before it leaves the process.
        max_queue_size: finished calls held for export; beyond it calls are dropped
            (counted in ``stats()["spans_dropped"]``).
        max_export_batch_size: spans per export.
        schedule_delay_s: how long the export thread waits to fill a batch.
        export_timeout_s: bound on one export (including retries).
        shutdown_timeout_s: bound on the final flush at exit.
        max_content_chars: text kept per message attribute; the rest is cut.

    Environment fallbacks: ``WATCHKEEPER_EXPORTER``, ``WATCHKEEPER_OTLP_ENDPOINT``,
    ``WATCHKEEPER_OTLP_HEADERS`` (``k=v,k2=v2``), ``WATCHKEEPER_KAFKA_BOOTSTRAP``,
    ``WATCHKEEPER_SERVICE_NAME``, ``WATCHKEEPER_SAMPLE_RATE``,
    ``WATCHKEEPER_CAPTURE_CONTENT``, ``WATCHKEEPER_REDACT``.

    Raises:
        ValueError: an unknown exporter name or an invalid setting (this is set-up
            time, so failing fast is right; the ``@observe`` path never raises).
        ImportError: ``exporter="kafka"`` without the ``kafka`` extra installed.

    >>> configure("none", service_name="support-bot", sample_rate=0.5, redact=True)
    """
    pipeline = _build_pipeline(
        exporter,
        endpoint=endpoint,
        headers=headers,
        kafka_bootstrap=kafka_bootstrap,
        topic=topic,
        service_name=service_name,
        sample_rate=sample_rate,
        capture_content=capture_content,
        redact=redact,
        max_queue_size=max_queue_size,
        max_export_batch_size=max_export_batch_size,
        schedule_delay_s=schedule_delay_s,
        export_timeout_s=export_timeout_s,
        shutdown_timeout_s=shutdown_timeout_s,
        max_content_chars=max_content_chars,
    )
    with _lock:
        previous = _install(pipeline)
    if previous is not None and not previous.closed:
        previous.close(previous.shutdown_timeout_s)


def current_pipeline() -> Pipeline:
    """The active pipeline, configured from the environment on first use."""
    pipeline = _pipeline
    if pipeline is None:
        pipeline = _configure_from_environment()
    return pipeline


def flush(timeout_s: float = 5.0) -> bool:
    """Export every finished call now; True if that completed within ``timeout_s``."""
    pipeline = _pipeline
    if pipeline is None or pipeline.worker is None:
        return True
    if pipeline.closed:
        return False
    return pipeline.worker.flush(timeout_s)


def shutdown(timeout_s: float | None = None) -> bool:
    """Flush and stop exporting (also runs at interpreter exit). Safe to call twice.

    Calls that end afterwards are counted as dropped. Returns True if the final flush
    finished within ``timeout_s`` (default: ``configure(shutdown_timeout_s=...)``).
    """
    with _lock:
        pipeline = _pipeline
        if pipeline is None or pipeline.closed:
            return True
        pipeline.closed = True
    return pipeline.close(pipeline.shutdown_timeout_s if timeout_s is None else timeout_s)


def queued_span_count() -> int:
    """Finished calls waiting for export right now."""
    pipeline = _pipeline
    return 0 if pipeline is None or pipeline.worker is None else pipeline.worker.queued


def memory_sink() -> MemorySink | None:
    """The in-memory sink when ``configure("memory")`` is active."""
    pipeline = _pipeline
    return None if pipeline is None else pipeline.memory


# --- building ---------------------------------------------------------------------------


def _build_pipeline(
    exporter: str | SpanExporter | None,
    *,
    endpoint: str | None = None,
    headers: Mapping[str, str] | None = None,
    kafka_bootstrap: str | None = None,
    topic: str = DEFAULT_TOPIC,
    service_name: str | None = None,
    sample_rate: float | None = None,
    capture_content: bool | None = None,
    redact: bool | Redactor | Sequence[Redactor] | None = None,
    max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE,
    max_export_batch_size: int = DEFAULT_MAX_EXPORT_BATCH_SIZE,
    schedule_delay_s: float = DEFAULT_SCHEDULE_DELAY_S,
    export_timeout_s: float = DEFAULT_EXPORT_TIMEOUT_S,
    shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S,
    max_content_chars: int = DEFAULT_CONTENT_BUDGET,
) -> Pipeline:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from watchkeeper.sdk.export_worker import ExportWorker
    from watchkeeper.sdk.otlp import Envelope
    from watchkeeper.sdk.span_builder import build_call_span

    if max_content_chars < 0:
        raise ValueError(f"max_content_chars must be >= 0, got {max_content_chars}")
    settings = Settings(
        capture_content=_capture_setting(capture_content),
        redact=_redactor(redact),
        max_content_chars=max_content_chars,
        sample_rate=_sample_rate(sample_rate),
    )
    service_name = service_name or os.environ.get(ENV_SERVICE_NAME) or None
    # Resource.create also honours OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES.
    resource = Resource.create({attributes.SERVICE_NAME: service_name} if service_name else {})
    version = _sdk_version()
    scope = InstrumentationScope(SCOPE_NAME, version)
    envelope = Envelope(dict(resource.attributes), SCOPE_NAME, version)
    sink = _sink(
        exporter,
        envelope=envelope,
        resource=resource,
        scope=scope,
        endpoint=endpoint,
        headers=headers,
        kafka_bootstrap=kafka_bootstrap,
        topic=topic,
        export_timeout_s=export_timeout_s,
    )
    worker = None
    if sink is not None:
        worker = ExportWorker(
            sink,
            build_call_span,  # type: ignore[arg-type]  # the queue holds calls and spans
            max_queue_size=max_queue_size,
            max_export_batch_size=max_export_batch_size,
            schedule_delay_s=schedule_delay_s,
        )
    from watchkeeper.sdk.exporters.memory import MemorySink

    memory = sink if isinstance(sink, MemorySink) else None
    return Pipeline(settings, worker, memory, shutdown_timeout_s)


def _sink(
    exporter: str | SpanExporter | None,
    *,
    envelope: object,
    resource: object,
    scope: object,
    endpoint: str | None,
    headers: Mapping[str, str] | None,
    kafka_bootstrap: str | None,
    topic: str,
    export_timeout_s: float,
) -> SpanSink | None:
    """Validate the exporter settings now; connections are made on the export thread."""
    from opentelemetry.sdk.trace.export import SpanExporter

    if isinstance(exporter, SpanExporter):
        from watchkeeper.sdk.exporters.otel import SpanExporterSink

        instance = exporter
        return SpanExporterSink(lambda: instance, resource, scope)  # type: ignore[arg-type]
    source = "exporter"
    if exporter is None:
        source = ENV_EXPORTER
        exporter = os.environ.get(ENV_EXPORTER) or "otlp"
    name = exporter.strip().lower()
    if name == "none":
        return None
    if name == "memory":
        from watchkeeper.sdk.exporters.memory import MemorySink

        return MemorySink(envelope, resource, scope)  # type: ignore[arg-type]
    if name == "otlp":
        from watchkeeper.sdk.exporters.otlp_http import OtlpHttpSink

        url = _traces_url(endpoint or os.environ.get(ENV_OTLP_ENDPOINT) or DEFAULT_OTLP_ENDPOINT)
        all_headers = {**_parse_headers(os.environ.get(ENV_OTLP_HEADERS, "")), **(headers or {})}
        return OtlpHttpSink(
            url,
            envelope,  # type: ignore[arg-type]
            timeout_s=export_timeout_s,
            headers=all_headers,
        )
    if name == "kafka":
        bootstrap = kafka_bootstrap or os.environ.get(ENV_KAFKA_BOOTSTRAP)
        if not bootstrap:
            raise ValueError(
                f"exporter 'kafka' needs kafka_bootstrap= or {ENV_KAFKA_BOOTSTRAP} "
                "(e.g. 'broker-1:9092,broker-2:9092')"
            )
        if find_spec("kafka") is None:
            raise ImportError(
                "exporter 'kafka' needs kafka-python: pip install 'watchkeeper-sdk[kafka]'"
            )
        from watchkeeper.sdk.exporters.kafka import KafkaProducerClient, KafkaSink

        servers = [server.strip() for server in bootstrap.split(",") if server.strip()]
        client = KafkaProducerClient(servers, topic=topic, timeout_s=export_timeout_s)
        return KafkaSink(client, envelope)  # type: ignore[arg-type]
    choices = ", ".join(repr(choice) for choice in EXPORTERS)
    raise ValueError(f"unknown exporter {exporter!r} (from {source}); valid choices: {choices}")


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


def _traces_url(endpoint: str) -> str:
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"OTLP endpoint {endpoint!r} (endpoint= or {ENV_OTLP_ENDPOINT}) must be an "
            "http(s) URL such as 'http://127.0.0.1:4318/v1/traces'"
        )
    if parts.path in ("", "/"):
        parts = parts._replace(path="/v1/traces")
    return urlunsplit(parts)


def _sdk_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("watchkeeper-sdk")
    except PackageNotFoundError:
        return "0+unknown"


def _install(pipeline: Pipeline) -> Pipeline | None:
    """Make ``pipeline`` current (caller holds ``_lock``); return the one it replaces."""
    global _pipeline, _atexit_registered  # noqa: PLW0603  # the process-wide setup is global by nature
    previous, _pipeline = _pipeline, pipeline
    if not _atexit_registered:
        atexit.register(_shutdown_at_exit)
        _atexit_registered = True
    return previous


def _configure_from_environment() -> Pipeline:
    with _lock:
        if _pipeline is not None:  # another thread got here first
            return _pipeline
        try:
            pipeline = _build_pipeline(None)
        except Exception:  # a bad env var must not break the app's calls
            handle_internal_error("configuring from the environment")
            logger.warning("watchkeeper: bad environment configuration; spans are not exported")
            pipeline = _build_pipeline("none", sample_rate=1.0, capture_content=True, redact=False)
        _install(pipeline)
        logger.info(
            "watchkeeper: configured from the environment (exporter %s)",
            os.environ.get(ENV_EXPORTER) or "otlp",
        )
        return pipeline


# --- exit and fork ----------------------------------------------------------------------


def _shutdown_at_exit() -> None:
    try:
        shutdown()
    except Exception:  # nothing may raise out of an atexit hook
        logger.debug("watchkeeper: shutdown at exit failed", exc_info=True)


def _after_fork_in_child() -> None:
    # The parent's lock may have been held by a thread that does not exist here, and
    # the parent's counts and queued calls are not this process's.
    global _lock  # noqa: PLW0603  # replacing a lock that may be held forever
    _lock = threading.Lock()
    COUNTERS.reset()
    pipeline = _pipeline
    if pipeline is not None and pipeline.worker is not None:
        pipeline.worker.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
