"""The compiled OTLP decoder gives the normaliser exactly what protobuf gives it.

Both paths run on the same payloads: spans from the SDK (calls, errors, feedback), the
throughput benchmark's messages, generated requests with every attribute type, nesting,
unicode, events, links and unknown fields, and mutations of all of those. The compiled
decoder may decline a payload (then protobuf decodes it), but it must never accept one
that protobuf rejects, and what it accepts must normalise to the same calls, feedback
rows, skips and rejected spans.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    EntityRef,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from tests.bench.collector.bench_throughput import message
from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from watchkeeper.collector.processors import native_decode
from watchkeeper.collector.processors.decode import RejectedPayload, decode_request
from watchkeeper.collector.processors.normalize import normalize_decoded, normalize_request
from watchkeeper.native import decode_traces
from watchkeeper.sdk import attributes as attr

Outcome = tuple[Any, ...]


def _outcome_of(normalized: Any) -> Outcome:
    rejected = []
    for reason, detail, raw in normalized.rejected:
        rejected.append((reason, detail, Span.FromString(raw)))
    return (
        "ok",
        [dataclasses.asdict(call) for call in normalized.calls],
        normalized.feedback,
        normalized.skipped,
        rejected,
    )


def _reference(data: bytes) -> Outcome:
    try:
        request = decode_request(data, "protobuf")
    except RejectedPayload as exc:
        return ("rejected", exc.reason)
    if not request.resource_spans:
        return ("no_spans",)
    normalized = normalize_request(request, "test")
    # The protobuf path serialises rejected spans again; compare them as messages.
    for i, (reason, detail, _) in enumerate(normalized.rejected):
        normalized.rejected[i] = (reason, detail, normalized.rejected[i][2])
    return _outcome_of(normalized)


def _native(data: bytes) -> Outcome | None:
    groups = native_decode.decode_natively(data, "protobuf")
    if groups is None:
        return None
    if not groups:
        return ("no_spans",)
    return _outcome_of(normalize_decoded(groups, "test"))


def _same(data: bytes) -> bool:
    """True when the compiled decoder took the payload (and gave the same outcome)."""
    ours = _native(data)
    if ours is None:
        return False
    expected = _reference(data)
    assert expected[0] != "rejected", f"accepted a payload protobuf rejects: {expected}"
    # received_at-like fields do not exist: records depend only on the payload
    assert ours == expected
    return True


def _kv(key: str, value: AnyValue) -> KeyValue:
    return KeyValue(key=key, value=value)


def _random_value(rng: random.Random, depth: int = 0) -> AnyValue:  # noqa: PLR0911 - one per kind
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return AnyValue(string_value=_random_text(rng))
    if kind == 1:
        return AnyValue(int_value=rng.choice([0, 1, -1, 2**63 - 1, -(2**63), rng.getrandbits(40)]))
    if kind == 2:
        return AnyValue(double_value=rng.choice([0.0, -0.0, 1.5, 1e308, float("inf"), 3.25]))
    if kind == 3:
        return AnyValue(bool_value=rng.random() < 0.5)
    if kind == 4:
        return AnyValue(bytes_value=rng.randbytes(rng.randrange(0, 12)))
    if kind == 5:
        return AnyValue()  # unset
    if kind == 6:
        return AnyValue(
            array_value=ArrayValue(
                values=[_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
            )
        )
    if kind == 7:
        return AnyValue(
            kvlist_value=KeyValueList(
                values=[
                    _kv(rng.choice(["a", "b", "ключ", ""]), _random_value(rng, depth + 1))
                    for _ in range(rng.randrange(4))
                ]
            )
        )
    return AnyValue(string_value_strindex=rng.choice([0, 7, -5]))


def _random_text(rng: random.Random) -> str:
    pieces = ["hello", "数据漂移", "naïve café", "😀", "", "\x00", "a" * 300, '{"x": 1}', "\n"]
    return "".join(rng.choice(pieces) for _ in range(rng.randrange(4)))


_KEYS = [
    attr.OPERATION_NAME,
    attr.REQUEST_MODEL,
    attr.PROVIDER_NAME,
    attr.USAGE_INPUT_TOKENS,
    attr.INPUT_MESSAGES,
    attr.OUTPUT_MESSAGES,
    attr.RESPONSE_FINISH_REASONS,
    attr.RETRIEVAL_DOCUMENTS,
    attr.SAMPLE_RATE,
    attr.ERROR_TYPE,
    attr.SPAN_TYPE,
    attr.USER_ID,
    "input.value",
    "openinference.span.kind",
    "llm.input_messages.0.message.role",
    "llm.input_messages.0.message.content",
    "retrieval.documents.1.document.content",
    "custom.key",
]


def _random_span(rng: random.Random) -> Span:
    attributes = [_kv(rng.choice(_KEYS), _random_value(rng)) for _ in range(rng.randrange(1, 10))]
    if rng.random() < 0.7:
        attributes.append(_kv(attr.OPERATION_NAME, AnyValue(string_value="chat")))
    if rng.random() < 0.1:
        attributes.insert(0, _kv(attr.SPAN_TYPE, AnyValue(string_value="feedback")))
    span = Span(
        trace_id=rng.choice([rng.randbytes(16), b"", rng.randbytes(3)]),
        span_id=rng.choice([rng.randbytes(8), rng.randbytes(8), b""]),
        parent_span_id=rng.choice([b"", rng.randbytes(8)]),
        name=_random_text(rng),
        trace_state=rng.choice(["", "k=v"]),
        kind=rng.randrange(6),  # type: ignore[arg-type]
        start_time_unix_nano=rng.choice(
            [1_700_000_000_000_000_000, 0, 2**64 - 1, 1_800_000_000_000_000_000]
        ),
        end_time_unix_nano=rng.choice([1_700_000_000_500_000_000, 0]),
        attributes=attributes,
        flags=rng.choice([0, 257]),
        status=Status(
            code=rng.choice([0, 1, 2, 7, -1]),  # type: ignore[arg-type]
            message=_random_text(rng),
        ),
    )
    for _ in range(rng.randrange(3)):
        event = span.events.add(time_unix_nano=rng.choice([0, 1_700_000_000_100_000_000]))
        event.name = rng.choice([attr.EVALUATION_RESULT_EVENT, "exception", ""])
        event.attributes.extend(
            [
                _kv(attr.EVALUATION_SCORE_VALUE, _random_value(rng)),
                _kv(attr.EVALUATION_NAME, AnyValue(string_value="helpful")),
            ]
        )
    if rng.random() < 0.2:
        link = span.links.add(trace_id=rng.randbytes(16), span_id=rng.randbytes(8))
        link.attributes.append(_kv("why", _random_value(rng)))
    return span


def _random_request(rng: random.Random) -> bytes:
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(
                    attributes=[
                        _kv(
                            attr.SERVICE_NAME,
                            rng.choice([AnyValue(string_value="svc"), _random_value(rng)]),
                        )
                    ],
                    entity_refs=[EntityRef(type="service", id_keys=["service.name"])]
                    if rng.random() < 0.3
                    else [],
                ),
                scope_spans=[
                    ScopeSpans(
                        scope=InstrumentationScope(name="watchkeeper", version="0.1"),
                        spans=[_random_span(rng) for _ in range(rng.randrange(4))],
                        schema_url="https://opentelemetry.io/schemas/1.26.0",
                    )
                    for _ in range(rng.randrange(1, 3))
                ],
            )
            for _ in range(rng.randrange(0, 3))
        ]
    )
    data = request.SerializeToString()
    if rng.random() < 0.2:  # an unknown field of a newer OTLP at the top level
        data += b"\xa0\x06\x05"
    return data


def test_sdk_payloads_decode_natively_and_identically() -> None:
    from watchkeeper.sdk import configure, current_call, feedback, observe, testing

    payloads = [protobuf_payload(answer_spans(20, fail_every=3))]
    configure("memory", service_name="fb-app")
    testing.clear()
    ids: dict[str, str] = {}

    @observe(model="m")
    def answer(question: str) -> str:
        ids["trace"], ids["span"] = current_call().trace_id, current_call().span_id
        return "42"

    answer("why?")
    feedback(ids["trace"], 0.0, "wrong answer", span_id=ids["span"], label="thumbs_down")
    payloads.append(testing.finished_payload())
    testing.clear()
    payloads += [message(i, "native")[1] for i in range(200)]
    assert all(_same(p) for p in payloads)


def test_generated_requests_decode_identically() -> None:
    """Every attribute type, nesting, unicode, events, links, unknown fields."""
    rng = random.Random(20261126)
    payloads = [_random_request(rng) for _ in range(1500)]
    taken = sum(map(_same, payloads))
    # Generated requests are well-formed: the compiled decoder takes every one but the
    # empty ones (no resource spans: zero bytes, which protobuf's path rejects first).
    assert taken == sum(1 for p in payloads if p) > 1000


def _mutate(rng: random.Random, data: bytes) -> bytes:
    kind = rng.randrange(5)
    if kind == 0 and data:
        return data[: rng.randrange(len(data))]
    if kind == 1 and data:
        flipped = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        return bytes(flipped)
    if kind == 2:
        return data + data  # protobuf merges: repeated fields append
    if kind == 3:
        return rng.randbytes(rng.randrange(1, 200))
    return data + rng.randbytes(rng.randrange(1, 8))


def test_mutated_payloads_are_declined_or_decoded_identically() -> None:
    """Corrupt input is never accepted where protobuf rejects it, nor decoded differently."""
    rng = random.Random(7)
    valid = [protobuf_payload(answer_spans(3))] + [_random_request(rng) for _ in range(50)]
    taken = sum(_same(_mutate(rng, rng.choice(valid))) for _ in range(3000))
    assert taken > 300  # doubled payloads and harmless flips still go the fast way


def test_pipeline_uses_the_compiled_decoder_and_protobuf_for_the_rest() -> None:
    assert native_decode.available()
    data = message(1, "x")[1]
    assert native_decode.decode_natively(data, None) is not None
    assert native_decode.decode_natively(b"", None) is None  # empty: protobuf's verdict
    assert native_decode.decode_natively(b'{"resourceSpans": []}', None) is None  # JSON
    assert native_decode.decode_natively(b"\x0b", "protobuf") is None  # a group: declined


@pytest.mark.parametrize(
    "data",
    [
        b"\x0a\x04\x0a\x00\x0a\x00",  # a resource given twice: protobuf merges them
        b"\x0a\x03\x12\x01\x0b",  # a group in a scope
        b"\x0a\x08\x12\x06\x12\x04\x2a\x02\xff\xfe",  # a span name in bad UTF-8
        b"\x0a\x06\x12\x04\x12\x02\x28\x01",  # a span name as a number
    ],
)
def test_unusual_wire_input_is_declined(data: bytes) -> None:
    assert decode_traces(data, attr.SPAN_TYPE) is None
