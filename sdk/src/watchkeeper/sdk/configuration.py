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
from importlib.util import find_spec
from typing import TYPE_CHECKING

from watchkeeper.sdk import attributes
from watchkeeper.sdk.counters import COUNTERS
from watchkeeper.sdk.internal_errors import handle_internal_error
from watchkeeper.sdk.messages import DEFAULT_CONTENT_BUDGET
from watchkeeper.sdk.pipeline import Pipeline
from watchkeeper.sdk.settings import (
    DEFAULT_EXPORT_TIMEOUT_S,
    DEFAULT_MAX_EXPORT_BATCH_SIZE,
    DEFAULT_MAX_QUEUE_SIZE,
    DEFAULT_SCHEDULE_DELAY_S,
    DEFAULT_SHUTDOWN_TIMEOUT_S,
    DEFAULT_TOPIC,
    ENV_EXPORTER,
    EXPORTERS,
    SCOPE_NAME,
    exporter_choice,
    kafka_servers,
    otlp_headers,
    otlp_url,
    resolve_settings,
    service_name_setting,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from watchkeeper.sdk.export_worker import SpanSink
    from watchkeeper.sdk.exporters.memory import MemorySink
    from watchkeeper.sdk.otlp import Envelope
    from watchkeeper.sdk.redaction import Redactor

logger = logging.getLogger("watchkeeper.sdk")

active_pipeline: Pipeline | None = None
"""The pipeline ``@observe`` uses; None until ``configure()`` or the first call.

Read it (the per-call path does, instead of calling :func:`current_pipeline`); only
this module sets it.
"""
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
    session_id: str | None = None,
    user_id: str | None = None,
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
        session_id, user_id: the session and end user of every call of this process
            (a CLI, a batch job); per request, use :func:`watchkeeper.sdk.session`.

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
        session_id=session_id,
        user_id=user_id,
    )
    with _lock:
        previous = _install(pipeline)
    if previous is not None and not previous.closed:
        previous.close(previous.shutdown_timeout_s)


def current_pipeline() -> Pipeline:
    """The active pipeline, configured from the environment on first use."""
    pipeline = active_pipeline
    if pipeline is None:
        pipeline = _configure_from_environment()
    return pipeline


def flush(timeout_s: float = 5.0) -> bool:
    """Export every finished call now; True if that completed within ``timeout_s``."""
    pipeline = active_pipeline
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
        pipeline = active_pipeline
        if pipeline is None or pipeline.closed:
            return True
        pipeline.closed = True
    return pipeline.close(pipeline.shutdown_timeout_s if timeout_s is None else timeout_s)


def queued_span_count() -> int:
    """Finished calls waiting for export right now."""
    pipeline = active_pipeline
    return 0 if pipeline is None or pipeline.worker is None else pipeline.worker.queued


def memory_sink() -> MemorySink | None:
    """The in-memory sink when ``configure("memory")`` is active."""
    pipeline = active_pipeline
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
    session_id: str | None = None,
    user_id: str | None = None,
) -> Pipeline:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from watchkeeper.sdk.export_worker import ExportWorker
    from watchkeeper.sdk.otlp import Envelope
    from watchkeeper.sdk.span_builder import build_call_span

    settings = resolve_settings(
        capture_content=capture_content,
        redact=redact,
        max_content_chars=max_content_chars,
        sample_rate=sample_rate,
        session_id=session_id,
        user_id=user_id,
    )
    service_name = service_name_setting(service_name)
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
    envelope: Envelope,
    resource: Resource,
    scope: InstrumentationScope,
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
        return SpanExporterSink(lambda: instance, resource, scope)
    given, source = exporter_choice(exporter)
    name = given.strip().lower()
    if name == "none":
        return None
    if name == "memory":
        from watchkeeper.sdk.exporters.memory import MemorySink

        return MemorySink(envelope, resource, scope)
    if name == "otlp":
        from watchkeeper.sdk.exporters.otlp_http import OtlpHttpSink

        return OtlpHttpSink(
            otlp_url(endpoint),
            envelope,
            timeout_s=export_timeout_s,
            headers=otlp_headers(headers),
        )
    if name == "kafka":
        servers = kafka_servers(kafka_bootstrap)
        if find_spec("kafka") is None:
            raise ImportError(
                "exporter 'kafka' needs kafka-python: pip install 'watchkeeper-sdk[kafka]'"
            )
        from watchkeeper.sdk.exporters.kafka import KafkaProducerClient, KafkaSink

        client = KafkaProducerClient(servers, topic=topic, timeout_s=export_timeout_s)
        return KafkaSink(client, envelope)
    choices = ", ".join(repr(choice) for choice in EXPORTERS)
    raise ValueError(f"unknown exporter {given!r} (from {source}); valid choices: {choices}")


def _sdk_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("watchkeeper-sdk")
    except PackageNotFoundError:
        return "0+unknown"


def _install(pipeline: Pipeline) -> Pipeline | None:
    """Make ``pipeline`` current (caller holds ``_lock``); return the one it replaces."""
    global active_pipeline, _atexit_registered  # noqa: PLW0603  # the process-wide setup is global by nature
    previous, active_pipeline = active_pipeline, pipeline
    if not _atexit_registered:
        atexit.register(_shutdown_at_exit)
        _atexit_registered = True
    return previous


def _configure_from_environment() -> Pipeline:
    with _lock:
        if active_pipeline is not None:  # another thread got here first
            return active_pipeline
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
    pipeline = active_pipeline
    if pipeline is not None and pipeline.worker is not None:
        pipeline.worker.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
