"""OTel's ``BatchSpanProcessor`` with the accounting it lacks: dropped and exported spans.

The queue, worker thread, batching, flush/shutdown and fork handling are OpenTelemetry's
own (reused, not rewritten). What it does not do is *tell* anyone when its bounded queue
overflows: it evicts the oldest span with at most a log line. We keep a shadow
occupancy count next to it, using public behaviour only (a span goes in on ``on_end``,
comes out when the exporter is handed its batch), so a full queue is counted in
``stats()["spans_dropped"]`` on any OTel version.

The count is exact except for a window of one batch: between the worker taking spans
off its queue and handing them to the exporter, a span ending on another thread may be
counted as dropped although it fitted.
"""

from __future__ import annotations

import collections
import inspect
import logging
import os
import threading
from collections.abc import Callable, Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from watchkeeper.sdk.stats import COUNTERS

logger = logging.getLogger("watchkeeper.sdk")

ExporterFactory = Callable[[], SpanExporter]
"""Builds the real exporter; called on the export thread, again in a forked child."""


class AccountedBatchSpanProcessor(SpanProcessor):
    """A ``BatchSpanProcessor`` whose drops, exports and failures land in ``stats()``."""

    def __init__(
        self,
        exporter_factory: ExporterFactory,
        *,
        max_queue_size: int,
        max_export_batch_size: int,
        schedule_delay_millis: float,
    ) -> None:
        # One marker per span waiting in OTel's queue; same bound, same eviction rule.
        self._occupancy: collections.deque[None] = collections.deque(maxlen=max_queue_size)
        self._exporter = AccountingSpanExporter(exporter_factory, self._occupancy)
        self._batch = BatchSpanProcessor(
            self._exporter,
            max_queue_size=max_queue_size,
            max_export_batch_size=max_export_batch_size,
            schedule_delay_millis=schedule_delay_millis,
        )
        self._closed = False

    @property
    def queued(self) -> int:
        """Spans waiting in the queue for export."""
        return len(self._occupancy)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Queue the span for export, counting it as dropped if the queue is full."""
        if self._closed:
            COUNTERS.spans_dropped.increment()
            return
        if not (span.context and span.context.trace_flags.sampled):
            return  # BatchSpanProcessor skips these too; keep the shadow in step
        occupancy = self._occupancy
        if len(occupancy) == occupancy.maxlen:
            COUNTERS.spans_dropped.increment()
        occupancy.append(None)
        self._batch.on_end(span)

    def shutdown(self) -> None:
        """Export what is queued, stop the worker, count whatever could not be sent."""
        self._closed = True
        self._batch.shutdown()  # type: ignore[no-untyped-call]  # unannotated in OTel
        if leftover := len(self._occupancy):
            # The worker gave up (timeout): these spans will never leave the process.
            COUNTERS.spans_dropped.add(leftover)
            self._occupancy.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export everything queued now; blocks until the exporter returns."""
        return self._batch.force_flush(timeout_millis)

    def abort_export(self) -> None:
        """Make an export stuck on a dead endpoint give up (used when a timeout expires)."""
        self._exporter.shutdown(timeout_millis=0)

    def after_fork_in_child(self) -> None:
        """OTel empties its queue in a forked child; mirror that and rebuild the exporter."""
        self._occupancy.clear()
        self._exporter.after_fork_in_child()


class AccountingSpanExporter(SpanExporter):
    """Wraps the real exporter: counts results, never raises, rebuilds after fork."""

    def __init__(
        self, factory: ExporterFactory, occupancy: collections.deque[None] | None = None
    ) -> None:
        self._factory = factory
        self._occupancy = occupancy
        self._exporter: SpanExporter | None = None
        self._pid = os.getpid()
        self._shut_down = False
        self._failing = False
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Hand the batch to the real exporter and count the outcome."""
        count = len(spans)
        if self._occupancy is not None:
            for _ in range(count):
                try:
                    self._occupancy.pop()
                except IndexError:  # a fork or clear() raced us; nothing left to release
                    break
        try:
            result = self._real_exporter().export(spans)
        except Exception as error:  # an exporter bug must not kill the worker
            self._note_failure(f"{type(error).__qualname__}: {error}")
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            COUNTERS.spans_exported.add(count)
            if self._failing:
                self._failing = False
                logger.info("watchkeeper: span export recovered")
        else:
            COUNTERS.export_failures.increment()
            COUNTERS.spans_export_failed.add(count)
            self._note_failure("the exporter reported a failure")
        return result

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the real exporter's own buffer, if it has one."""
        exporter = self._exporter
        return True if exporter is None else exporter.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        """Shut the real exporter down once (also interrupts its retries)."""
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
            exporter = self._exporter
        if exporter is None:
            return
        # Pass the remaining time on when the exporter accepts it (ours does, OTLP doesn't).
        if "timeout_millis" in inspect.signature(exporter.shutdown).parameters:
            exporter.shutdown(timeout_millis=timeout_millis)  # type: ignore[call-arg]
        else:
            exporter.shutdown()

    def after_fork_in_child(self) -> None:
        """Forget the parent's exporter: its sockets and threads belong to the parent."""
        self._lock = threading.Lock()
        self._exporter = None
        self._pid = os.getpid()

    def _real_exporter(self) -> SpanExporter:
        if self._shut_down:
            raise RuntimeError("exporter already shut down")
        exporter = self._exporter
        if exporter is None or self._pid != os.getpid():
            # Built here, on the export thread, so its imports (requests, protobuf, the
            # Kafka client) and any connection set-up never run on the app's thread.
            exporter = self._exporter = self._factory()
            self._pid = os.getpid()
        return exporter

    def _note_failure(self, reason: str) -> None:
        # Log the first failure of an outage, not every batch of it; stats() counts them all.
        if not self._failing:
            self._failing = True
            logger.warning(
                "watchkeeper: span export failed (%s); counting failures in stats()", reason
            )
