"""Helpers for tests of code that uses ``@observe``: see the spans it recorded.

>>> from watchkeeper.sdk import configure, observe, testing
>>> configure("memory")
>>> @observe(model="m")
... def ask(prompt: str) -> str:
...     return "ok"
>>> _ = ask("hi")
>>> [span.name for span in testing.finished_spans()]
['chat m']
>>> testing.finished_payload()[:1]  # the OTLP bytes the exporters would send
b'\\n'
>>> testing.clear()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from watchkeeper.sdk.configuration import flush, memory_sink

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from watchkeeper.sdk.exporters.memory import MemorySink


def _sink() -> MemorySink:
    sink = memory_sink()
    if sink is None:
        raise RuntimeError('call watchkeeper.sdk.configure("memory") before reading spans')
    return sink


def finished_spans() -> tuple[ReadableSpan, ...]:
    """Every span exported so far as OTel ``ReadableSpan``\\ s, oldest first (flushes first)."""
    sink = _sink()
    flush()
    return sink.readable_spans()


def finished_payload() -> bytes:
    """Every span exported so far as one OTLP ``ExportTraceServiceRequest`` (flushes
    first): byte for byte what the OTLP/HTTP exporter would send."""
    sink = _sink()
    flush()
    return sink.payload()


def clear() -> None:
    """Forget the spans recorded so far."""
    sink = _sink()
    flush()
    sink.clear()
