"""stats(): every started, exported, dropped and failed span is counted."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from tests.sdk.stats_delta import StatsDelta
from watchkeeper.sdk import configure, flush, observe, shutdown, stats, testing


@observe
def answer(prompt: str) -> str:
    return "ok"


class BlockingExporter(SpanExporter):
    """Holds its first export until released, so the queue behind it fills up."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.exported: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.entered.set()
        self.release.wait(10)
        self.exported.extend(spans)
        return SpanExportResult.SUCCESS


class FailingExporter(SpanExporter):
    def __init__(self, *, raise_error: bool) -> None:
        self.raise_error = raise_error

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.raise_error:
            raise ConnectionError("collector went away")
        return SpanExportResult.FAILURE


def test_stats_has_the_documented_keys() -> None:
    """stats() reports the counters operators rely on."""
    assert set(stats()) >= {
        "spans_started",
        "spans_ended",
        "spans_exported",
        "spans_dropped",
        "export_failures",
        "internal_errors",
    }


def test_started_ended_and_exported_are_counted(stats_delta: StatsDelta) -> None:
    """Each call starts and ends one span; after flush() all of them are exported."""
    for _ in range(5):
        answer("hi")
    assert flush()
    assert stats_delta["spans_started"] == 5
    assert stats_delta["spans_ended"] == 5
    assert stats_delta["spans_exported"] == 5
    assert stats_delta["spans_dropped"] == 0
    assert stats()["spans_queued"] == 0
    assert len(testing.finished_spans()) == 5


def test_full_queue_drops_are_counted(stats_delta: StatsDelta) -> None:
    """With the exporter stuck and the bounded queue full, every extra span is counted as
    dropped, and the calls themselves still return at once."""
    exporter = BlockingExporter()
    configure(exporter, max_queue_size=2, max_export_batch_size=1, schedule_delay_s=0.01)

    answer("first")  # taken by the worker, which then blocks in export
    assert exporter.entered.wait(5)
    for _ in range(5):  # two fit in the queue, three are dropped
        answer("more")
    assert stats_delta["spans_dropped"] == 3
    assert stats()["spans_queued"] == 2

    exporter.release.set()
    assert flush()
    assert stats_delta["spans_exported"] == 3
    assert len(exporter.exported) == 3


@pytest.mark.parametrize("raise_error", [False, True], ids=["returns-failure", "raises"])
def test_export_failures_are_counted_and_contained(
    stats_delta: StatsDelta, raise_error: bool
) -> None:
    """An exporter that fails (or even raises) is counted, never reaches the app."""
    configure(FailingExporter(raise_error=raise_error), schedule_delay_s=60)
    for _ in range(3):
        answer("hi")
    flush()
    assert stats_delta["export_failures"] == 1
    assert stats_delta["spans_export_failed"] == 3
    assert stats_delta["spans_exported"] == 0


def test_spans_after_shutdown_are_counted_as_dropped(stats_delta: StatsDelta) -> None:
    """After shutdown() calls still work; their spans are counted as dropped."""
    assert shutdown()
    assert shutdown()  # idempotent
    assert answer("late") == "ok"
    assert stats_delta["spans_dropped"] == 1
    assert not flush()
