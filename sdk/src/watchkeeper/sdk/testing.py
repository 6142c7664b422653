"""Helpers for tests of code that uses ``@observe``: see the spans it recorded.

>>> from watchkeeper.sdk import configure, observe, testing
>>> configure("memory")
>>> @observe(model="m")
... def ask(prompt: str) -> str:
...     return "ok"
>>> _ = ask("hi")
>>> [span.name for span in testing.finished_spans()]
['chat m']
>>> testing.clear()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from watchkeeper.sdk.configuration import flush, memory_exporter

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def _exporter() -> InMemorySpanExporter:
    exporter = memory_exporter()
    if exporter is None:
        raise RuntimeError('call watchkeeper.sdk.configure("memory") before reading spans')
    return exporter


def finished_spans() -> tuple[ReadableSpan, ...]:
    """Every span ended so far, oldest first (flushes the export queue first)."""
    exporter = _exporter()
    flush()
    return exporter.get_finished_spans()


def clear() -> None:
    """Forget the spans recorded so far."""
    exporter = _exporter()
    flush()
    exporter.clear()
