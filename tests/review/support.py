"""Real OTLP payloads for review tests: calls recorded by the SDK, and end-user feedback."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from watchkeeper.collector.record import CallRecord

_BASE_S = (int(time.time()) // 3600 - 3) * 3600


@dataclass(frozen=True)
class RecordedCall:
    """Ids of a call the SDK recorded."""

    trace_id: str
    span_id: str
    question: str


def call_payload(
    questions: Sequence[str],
    *,
    contexts: Sequence[str] = (),
    route: str = "qa/answer",
    answers: Sequence[str] = (),
) -> tuple[bytes, list[RecordedCall]]:
    """One OTLP payload with a decorated call per question (answered "answer to <question>"
    unless ``answers`` are given), and the calls' ids."""
    from watchkeeper.sdk import configure, current_call, observe, testing

    configure("memory", service_name="review-test")
    testing.clear()
    recorded: list[RecordedCall] = []

    @observe(model="test-model", provider="test", route=route)
    def answer(question: str) -> str:
        call = current_call()
        if contexts:
            call.add_documents(list(contexts))
        recorded.append(RecordedCall(call.trace_id, call.span_id, question))
        return replies.get(question, f"answer to {question}")

    replies = dict(zip(questions, answers, strict=False))
    for question in questions:
        answer(question)
    payload = testing.finished_payload()
    testing.clear()
    return payload, recorded


def feedback_payload(
    trace_id: str, span_id: str | None, *, label: str | None = None, score: float | None = None
) -> bytes:
    """One OTLP payload carrying an end user's feedback on a call."""
    from watchkeeper.sdk import configure, feedback, testing

    configure("memory", service_name="review-test")
    testing.clear()
    feedback(trace_id, score, "not what I asked", span_id=span_id, label=label)
    payload = testing.finished_payload()
    testing.clear()
    return payload


def record(
    n: int,
    *,
    hour: int = 0,
    error: bool = False,
    route: str = "qa/answer",
    text: str = "",
) -> CallRecord:
    """A call record with deterministic ids, ``n`` seconds into hour ``hour`` counted from
    the start of the hour three hours ago (recent: older rows would fall to the table TTL)."""
    start_ns = (_BASE_S + hour * 3600 + n) * 10**9
    return CallRecord(
        trace_id=f"{n + 1:032x}",
        span_id=f"{n + 1:016x}",
        timestamp_ns=start_ns,
        duration_ns=10**8,
        service_name="svc",
        route=route,
        request_model="m",
        input_text=text or f"question {n}",
        output_text=f"answer {n}",
        status_code="ERROR" if error else "OK",
    )
