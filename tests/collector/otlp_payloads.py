"""Build real OTLP payloads for collector tests: spans recorded by the SDK, then encoded."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

from watchkeeper.sdk import configure, current_call, feedback, observe, testing


def record_spans(calls: Callable[[], None]) -> tuple[ReadableSpan, ...]:
    """Spans the SDK produced while ``calls()`` ran (memory exporter)."""
    configure("memory", service_name="test-app")
    testing.clear()
    calls()
    spans = testing.finished_spans()
    testing.clear()
    return spans


def answer_spans(n: int, *, fail_every: int = 0) -> tuple[ReadableSpan, ...]:
    """Spans of ``n`` decorated calls; every ``fail_every``-th raises."""

    @observe(model="test-model", provider="test", route="qa/answer")
    def answer(question: str, fail: bool = False) -> str:
        if fail:
            raise TimeoutError("upstream timeout")
        return f"answer to {question}"

    def run() -> None:
        for i in range(n):
            with contextlib.suppress(TimeoutError):
                answer(f"question number {i}?", fail=bool(fail_every) and i % fail_every == 0)

    return record_spans(run)


def protobuf_payload(spans: tuple[ReadableSpan, ...]) -> bytes:
    """An ``ExportTraceServiceRequest`` as OTLP/HTTP and the Kafka exporter send it."""
    return encode_spans(list(spans)).SerializeToString()


def feedback_payload() -> tuple[bytes, str, str]:
    """One SDK call (service ``fb-app``) and a thumbs-down ``feedback()`` on it, exported
    together: ``(payload, trace id, span id)`` of the call."""
    configure("memory", service_name="fb-app")
    testing.clear()
    ids: dict[str, str] = {}

    @observe(model="m")
    def answer(question: str) -> str:
        ids["trace"], ids["span"] = current_call().trace_id, current_call().span_id
        return "42"

    answer("why?")
    feedback(ids["trace"], 0.0, "wrong answer", span_id=ids["span"], label="thumbs_down")
    payload = testing.finished_payload()
    testing.clear()
    return payload, ids["trace"], ids["span"]
