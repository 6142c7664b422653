"""Keep spans in memory, for tests: see :mod:`watchkeeper.sdk.testing`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from watchkeeper.sdk.otlp import Envelope, encode_request
from watchkeeper.sdk.span_data import SpanData, to_readable_span

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope


class MemorySink:
    """Holds every exported span until :meth:`clear`."""

    def __init__(self, envelope: Envelope, resource: Resource, scope: InstrumentationScope) -> None:
        self._envelope = envelope
        self._resource = resource
        self._scope = scope
        self._spans: list[SpanData] = []
        self._lock = threading.Lock()

    def export(self, spans: Sequence[SpanData]) -> bool:
        """Keep ``spans``."""
        with self._lock:
            self._spans.extend(spans)
        return True

    def span_data(self) -> tuple[SpanData, ...]:
        """The spans kept so far, oldest first."""
        with self._lock:
            return tuple(self._spans)

    def readable_spans(self) -> tuple[ReadableSpan, ...]:
        """The spans kept so far as OpenTelemetry SDK ``ReadableSpan``\\ s."""
        return tuple(to_readable_span(s, self._resource, self._scope) for s in self.span_data())

    def payload(self) -> bytes:
        """The spans kept so far as one OTLP ``ExportTraceServiceRequest`` (bytes)."""
        return encode_request(self._envelope, self.span_data())

    def clear(self) -> None:
        """Forget the spans kept so far."""
        with self._lock:
            self._spans.clear()

    def shutdown(self) -> None:
        """Nothing to release."""

    def abort(self) -> None:
        """Nothing to interrupt."""

    def after_fork(self) -> None:
        """A forked child starts with no spans."""
        self._lock = threading.Lock()
        self._spans = []
