"""``configure()``, ``flush()`` and ``shutdown()``: where spans go and how they get there.

The SDK builds its *own* ``TracerProvider`` rather than touching the global one: an app
that already uses OpenTelemetry keeps its provider, samplers and exporters, while our
spans still join its traces because the OTel *context* (the current span) is shared
by every provider in the process.

If ``@observe`` runs before ``configure()``, the SDK configures itself from the
environment (``WATCHKEEPER_EXPORTER`` ...), defaulting to OTLP/HTTP on the local sidecar.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit, urlunsplit

from watchkeeper.sdk import attributes
from watchkeeper.sdk.internal_errors import handle_internal_error
from watchkeeper.sdk.messages import DEFAULT_CONTENT_BUDGET
from watchkeeper.sdk.stats import COUNTERS

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Tracer

    from watchkeeper.sdk.batching import AccountedBatchSpanProcessor, ExporterFactory

logger = logging.getLogger("watchkeeper.sdk")

EXPORTERS: Final = ("otlp", "kafka", "none", "memory")
DEFAULT_OTLP_ENDPOINT: Final = "http://127.0.0.1:4318/v1/traces"
"""The local ``watchkeeper up`` / sidecar receiver."""
DEFAULT_TOPIC: Final = "otlp_spans"

ENV_EXPORTER: Final = "WATCHKEEPER_EXPORTER"
ENV_OTLP_ENDPOINT: Final = "WATCHKEEPER_OTLP_ENDPOINT"
ENV_KAFKA_BOOTSTRAP: Final = "WATCHKEEPER_KAFKA_BOOTSTRAP"
ENV_SERVICE_NAME: Final = "WATCHKEEPER_SERVICE_NAME"

TRACER_NAME: Final = "watchkeeper.sdk"

# Defaults shared by configure() and the lazy configuration from the environment.
DEFAULT_MAX_QUEUE_SIZE: Final = 2048
DEFAULT_MAX_EXPORT_BATCH_SIZE: Final = 512
DEFAULT_SCHEDULE_DELAY_S: Final = 1.0
DEFAULT_EXPORT_TIMEOUT_S: Final = 10.0
DEFAULT_SHUTDOWN_TIMEOUT_S: Final = 5.0


@dataclass
class Pipeline:
    """One configured path from our tracer to an exporter."""

    provider: TracerProvider
    tracer: Tracer
    processor: AccountedBatchSpanProcessor | None
    memory_exporter: InMemorySpanExporter | None
    max_content_chars: int
    shutdown_timeout_s: float
    closed: bool = False

    def close(self, timeout_s: float) -> bool:
        """Export what is queued and stop; True if that finished within ``timeout_s``."""
        self.closed = True
        finished = _run_with_timeout(self.provider.shutdown, timeout_s, "shutdown")
        if not finished and self.processor is not None:
            # The exporter is stuck on a dead endpoint: make it give up so the worker
            # ends soon after, instead of hanging on until the process exits.
            self.processor.abort_export()
        return finished


_pipeline: Pipeline | None = None
_lock = threading.Lock()
_atexit_registered = False


def configure(
    exporter: str | SpanExporter | None = None,
    *,
    endpoint: str | None = None,
    kafka_bootstrap: str | None = None,
    topic: str = DEFAULT_TOPIC,
    service_name: str | None = None,
    max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE,
    max_export_batch_size: int = DEFAULT_MAX_EXPORT_BATCH_SIZE,
    schedule_delay_s: float = DEFAULT_SCHEDULE_DELAY_S,
    export_timeout_s: float = DEFAULT_EXPORT_TIMEOUT_S,
    shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S,
    max_content_chars: int = DEFAULT_CONTENT_BUDGET,
) -> None:
    """Choose where spans go. Call once at start-up; calling again replaces the setup.

    Args:
        exporter: ``"otlp"`` (default; OTLP/HTTP protobuf to ``endpoint``), ``"kafka"``
            (straight to topic ``topic`` on ``kafka_bootstrap``; needs the ``kafka``
            extra), ``"memory"`` (kept in memory for tests, see
            :mod:`watchkeeper.sdk.testing`), ``"none"`` (spans are recorded, not
            exported), or any OpenTelemetry ``SpanExporter`` instance.
        endpoint: OTLP/HTTP traces URL; a bare ``http://host:4318`` gets ``/v1/traces``.
        kafka_bootstrap: ``"host:port[,host:port]"`` of the Kafka brokers.
        topic: Kafka topic.
        service_name: ``service.name`` of the spans' resource.
        max_queue_size: spans held for export; beyond it spans are dropped (counted).
        max_export_batch_size: spans per export call.
        schedule_delay_s: how long the exporter waits to fill a batch.
        export_timeout_s: bound on one export (including retries).
        shutdown_timeout_s: bound on the final flush at exit.
        max_content_chars: text kept per message attribute; the rest is cut.

    Environment fallbacks: ``WATCHKEEPER_EXPORTER``, ``WATCHKEEPER_OTLP_ENDPOINT``,
    ``WATCHKEEPER_KAFKA_BOOTSTRAP``, ``WATCHKEEPER_SERVICE_NAME``.

    Raises:
        ValueError: an unknown exporter name or an invalid setting (this is set-up
            time, so failing fast is right; the ``@observe`` path never raises).
        ImportError: ``exporter="kafka"`` without the ``kafka`` extra installed.

    >>> configure("none", service_name="support-bot")
    """
    pipeline = _build_pipeline(
        exporter,
        endpoint=endpoint,
        kafka_bootstrap=kafka_bootstrap,
        topic=topic,
        service_name=service_name,
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
    """Export every finished span now; True if that completed within ``timeout_s``."""
    pipeline = _pipeline
    if pipeline is None or pipeline.processor is None:
        return True
    if pipeline.closed:
        return False
    timeout_ms = int(timeout_s * 1000)
    return _run_with_timeout(lambda: pipeline.provider.force_flush(timeout_ms), timeout_s, "flush")


def shutdown(timeout_s: float | None = None) -> bool:
    """Flush and stop exporting (also runs at interpreter exit). Safe to call twice.

    Spans that end afterwards are counted as dropped. Returns True if the final flush
    finished within ``timeout_s`` (default: ``configure(shutdown_timeout_s=...)``).
    """
    with _lock:
        pipeline = _pipeline
        if pipeline is None or pipeline.closed:
            return True
        pipeline.closed = True
    return pipeline.close(pipeline.shutdown_timeout_s if timeout_s is None else timeout_s)


def queued_span_count() -> int:
    """Spans waiting for export right now."""
    pipeline = _pipeline
    return 0 if pipeline is None or pipeline.processor is None else pipeline.processor.queued


def memory_exporter() -> InMemorySpanExporter | None:
    """The in-memory exporter when ``configure("memory")`` is active."""
    pipeline = _pipeline
    return None if pipeline is None else pipeline.memory_exporter


# --- building ---------------------------------------------------------------------------


def _build_pipeline(
    exporter: str | SpanExporter | None,
    *,
    endpoint: str | None = None,
    kafka_bootstrap: str | None = None,
    topic: str = DEFAULT_TOPIC,
    service_name: str | None = None,
    max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE,
    max_export_batch_size: int = DEFAULT_MAX_EXPORT_BATCH_SIZE,
    schedule_delay_s: float = DEFAULT_SCHEDULE_DELAY_S,
    export_timeout_s: float = DEFAULT_EXPORT_TIMEOUT_S,
    shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S,
    max_content_chars: int = DEFAULT_CONTENT_BUDGET,
) -> Pipeline:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    from watchkeeper.sdk.batching import AccountedBatchSpanProcessor

    if max_content_chars < 0:
        raise ValueError(f"max_content_chars must be >= 0, got {max_content_chars}")
    factory, memory = _exporter_factory(
        exporter,
        endpoint=endpoint,
        kafka_bootstrap=kafka_bootstrap,
        topic=topic,
        export_timeout_s=export_timeout_s,
    )
    service_name = service_name or os.environ.get(ENV_SERVICE_NAME) or None
    # Resource.create also honours OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES.
    resource = Resource.create({attributes.SERVICE_NAME: service_name} if service_name else {})
    provider = TracerProvider(
        # Every call is recorded (sample_rate 1.0), even under an app span its own
        # sampler dropped; a parent-based default would silently lose those calls.
        sampler=ALWAYS_ON,
        resource=resource,
        # Our atexit hook shuts down with a bounded timeout; OTel's would wait 30 s.
        shutdown_on_exit=False,
    )
    processor = None
    if factory is not None:
        processor = AccountedBatchSpanProcessor(
            factory,
            max_queue_size=max_queue_size,
            max_export_batch_size=max_export_batch_size,
            schedule_delay_millis=schedule_delay_s * 1000,
        )
        provider.add_span_processor(processor)
    return Pipeline(
        provider=provider,
        tracer=provider.get_tracer(TRACER_NAME, _sdk_version()),
        processor=processor,
        memory_exporter=memory,
        max_content_chars=max_content_chars,
        shutdown_timeout_s=shutdown_timeout_s,
    )


def _exporter_factory(
    exporter: str | SpanExporter | None,
    *,
    endpoint: str | None,
    kafka_bootstrap: str | None,
    topic: str,
    export_timeout_s: float,
) -> tuple[ExporterFactory | None, InMemorySpanExporter | None]:
    """Validate the exporter settings now; build the exporter later, off the app thread."""
    from opentelemetry.sdk.trace.export import SpanExporter

    if isinstance(exporter, SpanExporter):
        instance = exporter
        return (lambda: instance), None
    source = "exporter"
    if exporter is None:
        source = ENV_EXPORTER
        exporter = os.environ.get(ENV_EXPORTER) or "otlp"
    name = exporter.strip().lower()
    if name == "none":
        return None, None
    if name == "memory":
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        memory = InMemorySpanExporter()
        return (lambda: memory), memory
    if name == "otlp":
        url = _traces_url(endpoint or os.environ.get(ENV_OTLP_ENDPOINT) or DEFAULT_OTLP_ENDPOINT)

        def build_otlp() -> SpanExporter:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            return OTLPSpanExporter(endpoint=url, timeout=export_timeout_s)

        return build_otlp, None
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
        servers = [server.strip() for server in bootstrap.split(",") if server.strip()]

        def build_kafka() -> SpanExporter:
            from watchkeeper.sdk.exporters.kafka import KafkaSpanExporter

            return KafkaSpanExporter(servers, topic=topic, timeout_s=export_timeout_s)

        return build_kafka, None
    choices = ", ".join(repr(choice) for choice in EXPORTERS)
    raise ValueError(f"unknown exporter {exporter!r} (from {source}); valid choices: {choices}")


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
            pipeline = _build_pipeline("none")
        _install(pipeline)
        logger.info(
            "watchkeeper: configured from the environment (exporter %s)",
            os.environ.get(ENV_EXPORTER) or "otlp",
        )
        return pipeline


# --- threads, exit and fork -------------------------------------------------------------


def _run_with_timeout(action: Callable[[], object], timeout_s: float, what: str) -> bool:
    """Run ``action`` on a helper thread; True if it returned truthy within the timeout.

    OTel's flush and shutdown block on the exporter (and ignore their timeout in
    current releases); a helper thread is how the caller gets its time bound back.
    """
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(action())
        except Exception:  # reported through the return value
            logger.warning("watchkeeper: %s failed", what, exc_info=True)
            outcome.append(False)

    thread = threading.Thread(target=run, name=f"watchkeeper-{what}", daemon=True)
    thread.start()
    thread.join(max(timeout_s, 0.0))
    if thread.is_alive():
        logger.warning("watchkeeper: %s did not finish within %.1f s", what, timeout_s)
        return False
    # Provider.shutdown returns None on success; only an explicit False is a failure.
    return outcome[0] is not False


def _shutdown_at_exit() -> None:
    try:
        shutdown()
    except Exception:  # nothing may raise out of an atexit hook
        logger.debug("watchkeeper: shutdown at exit failed", exc_info=True)


def _after_fork_in_child() -> None:
    # The parent's lock may have been held by a thread that does not exist here, and
    # the parent's counts and queued spans are not this process's.
    global _lock  # noqa: PLW0603  # replacing a lock that may be held forever
    _lock = threading.Lock()
    COUNTERS.reset()
    pipeline = _pipeline
    if pipeline is not None and pipeline.processor is not None:
        pipeline.processor.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
