"""The pipeline is a list of stages over whole batches, in the order its docs give."""

from __future__ import annotations

from tests.collector.otlp_payloads import answer_spans, feedback_payload, protobuf_payload
from watchkeeper.collector.pipeline import Payload, Pipeline, PreparedBatch
from watchkeeper.collector.processors.decode import RejectedPayload
from watchkeeper.collector.processors.decode_payloads import (
    DecodedPayload,
    DecodedRun,
    decode_payloads,
)
from watchkeeper.collector.store.store import Store


def test_stages_run_in_the_documented_order(store: Store) -> None:
    """decode -> normalize (outside the lock) -> detect -> route -> sample -> keep traces
    (one batch at a time) -> write -> route late feedback (the batch is acknowledged after
    them)."""
    pipeline = Pipeline(store)
    names = [
        [type(stage).__name__ for stage in stages]
        for stages in (pipeline.decode_stages, pipeline.call_stages, pipeline.store_stages)
    ]
    assert names == [
        ["Decode", "Normalize"],
        ["Detect", "Route", "Sample", "KeepTraces"],
        ["Write", "RouteLateFeedback"],
    ]


def test_an_added_stage_sees_what_the_stages_before_it_left(store: Store) -> None:
    """A stage is a callable on the batch in flight: one added after detect sees the calls
    and their scores, and rows it adds are stored with the batch."""
    pipeline = Pipeline(store)
    seen: list[tuple[int, int]] = []

    def watch(prepared: PreparedBatch) -> None:
        seen.append((len(prepared.calls), len(prepared.detection.by_score.calls)))

    pipeline.call_stages = (*pipeline.call_stages[:1], watch, *pipeline.call_stages[1:])
    result = pipeline.process([Payload(protobuf_payload(answer_spans(3)), "test")])
    assert seen == [(3, 3)]
    assert result.calls == 3
    assert store.count_calls() == 3


def test_decode_and_normalize_take_every_payload_in_order(store: Store) -> None:
    """One decode entry point: plain protobuf (the core's runs when it is there), feedback,
    OTLP/JSON and garbage come out in input order; the garbage is rejected with its reason,
    and it and an empty request become dead letters; the rest becomes calls and feedback."""
    plain = protobuf_payload(answer_spans(2))
    feedback, _, _ = feedback_payload()
    payloads = [
        Payload(plain, "kafka"),
        Payload(feedback, "kafka"),
        Payload(b'{"resourceSpans": []}', "http", "json"),
        Payload(b"\xff\x00 not otlp", "kafka", None, "t/0/3"),
        Payload(plain, "http"),
    ]
    decoded = list(decode_payloads(payloads))
    rejected = [
        (item.payload.origin, item.request.reason)
        for item in decoded
        if isinstance(item, DecodedPayload) and isinstance(item.request, RejectedPayload)
    ]
    assert [origin for origin, _ in rejected] == ["t/0/3"]
    assert not isinstance(decoded[-1], DecodedRun) or decoded[-1].source == "http"

    prepared = Pipeline(store).prepare(payloads)
    sources = [call.source for call in prepared.calls]
    assert set(sources[:-2]) == {"kafka"}  # the plain payload's calls, the feedback's call
    assert sources[-2:] == ["http", "http"]
    assert len(prepared.batch.feedback) == 1
    # The JSON request holds no span: a payload that decodes to nothing is no_spans.
    assert [(d.origin, d.reason) for d in prepared.batch.dead_letters] == [
        ("", "no_spans"),
        *rejected,
    ]
