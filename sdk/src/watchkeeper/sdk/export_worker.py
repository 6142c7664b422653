"""The export thread: a bounded queue of finished calls, built into spans and exported.

The calling thread only appends a finished call's record to a deque (and, once per
batch, wakes the worker). Everything else happens here: building spans, encoding,
redaction, network I/O. A full queue drops the newest record and counts it; flush and
shutdown have time bounds; a forked child starts with an empty queue and its own thread.

Why not OpenTelemetry's ``BatchSpanProcessor``: it queues SDK ``Span`` objects, and
building those on the calling thread is most of the cost this SDK exists to avoid.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from opentelemetry import context as otel_context

# The key OTel's own exporters set so that HTTP instrumentation skips their requests.
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY as _SUPPRESS_KEY

from watchkeeper.sdk import internal_errors
from watchkeeper.sdk.counters import COUNTERS
from watchkeeper.sdk.span_data import SpanData

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger("watchkeeper.sdk")


class SpanSink(Protocol):
    """Where built spans go: OTLP/HTTP, Kafka, memory, an OTel ``SpanExporter``."""

    def export(self, spans: Sequence[SpanData]) -> bool:
        """Deliver ``spans``; True on success. May raise (counted as a failure)."""

    def shutdown(self) -> None:
        """Release connections; called once, on the export thread's way out."""

    def abort(self) -> None:
        """Make an export in progress give up soon (a time bound expired)."""

    def after_fork(self) -> None:
        """Forget connections inherited from the parent process."""


class ExportWorker:
    """A bounded queue and the daemon thread that empties it into a :class:`SpanSink`."""

    def __init__(
        self,
        sink: SpanSink,
        build: Callable[[object], SpanData],
        *,
        max_queue_size: int,
        max_export_batch_size: int,
        schedule_delay_s: float,
    ) -> None:
        if max_queue_size < 1 or max_export_batch_size < 1 or schedule_delay_s <= 0:
            raise ValueError(
                "max_queue_size and max_export_batch_size must be >= 1, "
                f"schedule_delay_s > 0 (got {max_queue_size}, {max_export_batch_size}, "
                f"{schedule_delay_s})"
            )
        self.sink = sink
        self._build = build
        self.max_queue_size = max_queue_size
        self.batch_size = max_export_batch_size
        self._delay_s = schedule_delay_s
        self.queue: collections.deque[object] = collections.deque()
        self.closed = False
        self._failing = False
        self._reset_threading()

    def _reset_threading(self) -> None:
        self.wake = threading.Event()
        self._lock = threading.Lock()
        self._flush_waiters: list[threading.Event] = []
        self._stopping = False
        self._pending_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="watchkeeper-export", daemon=True)
        self._thread.start()

    @property
    def queued(self) -> int:
        """Records waiting for export."""
        return len(self.queue)

    def submit(self, item: object) -> None:
        """Queue a finished call (the hot path: never blocks, never does I/O)."""
        queue = self.queue
        if self.closed or len(queue) >= self.max_queue_size:
            COUNTERS.spans_dropped.increment()
            return
        queue.append(item)
        if len(queue) == self.batch_size:
            self.wake.set()

    def flush(self, timeout_s: float) -> bool:
        """Export everything queued now; True if that finished within ``timeout_s``."""
        if self.closed:
            return False
        done = threading.Event()
        with self._lock:
            self._flush_waiters.append(done)
        self.wake.set()
        finished = done.wait(max(timeout_s, 0.0))
        self._raise_pending_error()
        return finished

    def shutdown(self, timeout_s: float) -> bool:
        """Export what is queued and stop; count what could not be sent as dropped."""
        with self._lock:
            if self._stopping:
                return True
            self._stopping = True
            self.closed = True
        self.wake.set()
        self._thread.join(max(timeout_s, 0.0))
        finished = not self._thread.is_alive()
        if not finished:
            logger.warning("watchkeeper: export did not finish within %.1f s", timeout_s)
            self.sink.abort()  # a dead endpoint must not hold the thread much longer
        if leftover := len(self.queue):
            self.queue.clear()
            COUNTERS.spans_dropped.add(leftover)
        return finished

    def after_fork_in_child(self) -> None:
        """The parent's thread does not exist here and its queue is not ours to export."""
        self.queue.clear()
        self.sink.after_fork()
        if not self.closed:
            self._reset_threading()

    # --- the export thread --------------------------------------------------------------

    def _run(self) -> None:
        # Instrumentation of HTTP clients must not trace our own exports.
        otel_context.attach(otel_context.set_value(_SUPPRESS_KEY, True))
        while True:
            self.wake.wait(self._delay_s)
            self.wake.clear()
            with self._lock:
                waiters, self._flush_waiters = self._flush_waiters, []
                stopping = self._stopping
            self._export_queued()
            for done in waiters:
                done.set()
            if stopping:
                break
        try:
            self.sink.shutdown()
        except Exception:  # the thread is ending anyway; say why
            logger.debug("watchkeeper: closing the exporter failed", exc_info=True)

    def _export_queued(self) -> None:
        queue = self.queue
        while queue:
            count = min(self.batch_size, len(queue))
            batch = [queue.popleft() for _ in range(count)]
            self._export(batch)

    def _export(self, items: list[object]) -> None:
        spans: list[SpanData] = []
        for item in items:
            try:
                spans.append(item if isinstance(item, SpanData) else self._build(item))
            except Exception as error:  # one bad record must not cost the batch
                self._internal_error(error)
        if not spans:
            return
        try:
            delivered = self.sink.export(spans)
        except Exception as error:  # an exporter bug must not kill the thread
            delivered = False
            reason = f"{type(error).__qualname__}: {error}"
        else:
            reason = "the exporter reported a failure"
        if delivered:
            COUNTERS.spans_exported.add(len(spans))
            if self._failing:
                self._failing = False
                logger.info("watchkeeper: span export recovered")
            return
        COUNTERS.export_failures.increment()
        COUNTERS.spans_export_failed.add(len(spans))
        if not self._failing:  # once per outage, not once per batch
            self._failing = True
            logger.warning(
                "watchkeeper: span export failed (%s); counting failures in stats()", reason
            )

    def _internal_error(self, error: Exception) -> None:
        COUNTERS.internal_errors.increment()
        if internal_errors.reraise_internal_errors():
            self._pending_error = error  # raised by the next flush(), in the test's thread
            return
        logger.warning("watchkeeper internal error building a span", exc_info=error)

    def _raise_pending_error(self) -> None:
        error, self._pending_error = self._pending_error, None
        if error is not None:
            raise error
