"""Any OpenTelemetry ``SpanExporter`` as a sink (spans become SDK ``ReadableSpan``\\ s)."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from watchkeeper.sdk.span_data import SpanData, to_readable_span

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope


class SpanExporterSink:
    """Feeds an OTel ``SpanExporter``, built lazily on the export thread."""

    def __init__(
        self,
        factory: Callable[[], SpanExporter],
        resource: Resource,
        scope: InstrumentationScope,
    ) -> None:
        self._factory = factory
        self._resource = resource
        self._scope = scope
        self._exporter: SpanExporter | None = None
        self._pid = os.getpid()

    def _get(self) -> SpanExporter:
        if self._exporter is None or self._pid != os.getpid():
            self._exporter = self._factory()
            self._pid = os.getpid()
        return self._exporter

    def export(self, spans: Sequence[SpanData]) -> bool:
        """Convert and hand over; True if the exporter reported success."""
        from opentelemetry.sdk.trace.export import SpanExportResult

        readable = [to_readable_span(span, self._resource, self._scope) for span in spans]
        return self._get().export(readable) is SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Shut the exporter down."""
        if self._exporter is not None:
            self._exporter.shutdown()

    def abort(self) -> None:
        """Ask the exporter to give up (those that accept a timeout get zero)."""
        exporter = self._exporter
        if exporter is None:
            return
        if "timeout_millis" in inspect.signature(exporter.shutdown).parameters:
            exporter.shutdown(timeout_millis=0)  # type: ignore[call-arg]
        else:
            exporter.shutdown()

    def after_fork(self) -> None:
        """Rebuild the exporter in the child on next use."""
        self._exporter = None
