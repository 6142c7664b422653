"""The compiled OTLP decoder gives the normaliser exactly what protobuf gives it.

Both paths run on the same payloads: spans from the SDK (calls, errors, feedback), the
throughput benchmark's messages, generated requests with every attribute type, nesting,
unicode, events, links and unknown fields, generated LLM calls in every attribute shape
the normaliser reads, and mutations of all of those. The compiled decoder may decline a
payload (then protobuf decodes it), but it must never accept one that protobuf rejects,
and what it accepts must normalise to the same calls, feedback rows, skips and rejected
spans — whether the core built a call itself (``decode_calls``) or left the span to the
Python normaliser (``decode_traces``, and ``decode_calls`` for unusual spans).
"""

from __future__ import annotations

import dataclasses
import json
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

from tests.collector.otlp_payloads import answer_spans, feedback_payload, protobuf_payload
from tests.support.otlp_messages import message
from watchkeeper.collector.processors import native_decode
from watchkeeper.collector.processors.decode import RejectedPayload, decode_request
from watchkeeper.collector.processors.normalize import (
    _TYPED,
    normalize_decoded,
    normalize_request,
)
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.kinds import KINDS
from watchkeeper.sdk import attributes as attr

# Every check compares the compiled decoder with protobuf: nothing to compare without it.
pytestmark = pytest.mark.skipif(
    not native_decode.available(),
    reason="compares the compiled decoder with protobuf: needs the core (WATCHKEEPER_NATIVE=0)",
)
if native_decode.available():
    # Its decoder alone, the spans left to the Python normaliser (not used by the collector).
    from watchkeeper.native import decode_traces

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
        [dataclasses.asdict(span) for span in normalized.spans],
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
    """The compiled path's outcome (None: declined). The decoder alone, every span then
    normalised in Python, must decline the same payloads and give the same outcome."""
    groups = native_decode.decode_natively(data, "protobuf")
    spans = decode_traces(data, attr.SPAN_TYPE) if data else None
    assert (groups is None) == (spans is None)
    if groups is None or spans is None:
        return None
    if not groups:
        return ("no_spans",)
    ours = _outcome_of(normalize_decoded(groups, "test"))
    assert ours == _outcome_of(normalize_decoded(spans, "test"))
    return ours


def _built_natively(data: bytes) -> int:
    """How many of the payload's calls the core built itself."""
    groups = native_decode.decode_natively(data, "protobuf") or []
    return sum(isinstance(span, CallRecord) for _, spans in groups for span in spans)


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
    """SDK calls, errors and feedback, and the throughput benchmark's messages; the calls
    are built by the core."""
    payloads = [protobuf_payload(answer_spans(20, fail_every=3)), feedback_payload()[0]]
    payloads += [message(i, "native")[1] for i in range(200)]
    assert all(_same(p) for p in payloads)
    assert _built_natively(payloads[0]) == 20
    assert all(_built_natively(p) == 1 for p in payloads[2:])


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


# LLM calls in every attribute shape `normalize._call` reads, ordinary and odd, for the
# core's normaliser (`native/src/calls.rs`) to build or to leave to Python.

_TEXTS = [
    "",
    "hello",
    "naïve café, 数据漂移 😀",
    'a "quote", a \\ backslash / slash',
    "line\nbreak\ttab\r\x01\x1f\x7f\u2028",
    "x" * 4100,
    "é" * 4100,
]


def _text(rng: random.Random) -> str:
    return rng.choice(_TEXTS)


def _part(rng: random.Random) -> Any:  # noqa: PLR0911 - one return per shape
    kind = rng.randrange(9)
    if kind < 3:
        return {"type": "text", "content": _text(rng)}
    if kind == 3:
        return {"content": _text(rng)}  # the type defaults to text
    if kind == 4:
        return {"type": "tool_call", "id": "c1", "name": "f", "arguments": {"n": 1, "l": [True]}}
    if kind == 5:
        return {"type": "text", "content": rng.choice([None, 7, -3, True, 1.5, ["a"], {"k": 1}])}
    if kind == 6:
        return {"type": "text"}
    if kind == 7:
        return rng.choice(["a bare string", 3, {"type": 5, "content": "x"}])
    return {"type": "reasoning", "content": _text(rng)}


def _message(rng: random.Random, role: Any) -> Any:
    parts = [_part(rng) for _ in range(rng.choice([1, 1, 1, 0, 2, 3]))]
    kind = rng.randrange(7)
    if kind < 3:
        return {"role": role, "parts": parts}
    if kind == 3:
        return {"role": role, "parts": parts, "finish_reason": "stop"}
    if kind == 4:
        return {"role": role, "content": rng.choice([_text(rng), 5, None])}
    if kind == 5:
        return {"role": role, "parts": parts, "name": "bob"}
    return rng.choice([{"role": role, "parts": "x"}, "a bare string", 4, None])


def _json(rng: random.Random, document: Any) -> str:
    """``document`` as some producer may write it, now and then broken or odd."""
    text = json.dumps(
        document, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, None, None, 2])
    )
    odd = rng.random()
    if odd < 0.03:
        return text[:-1]  # invalid
    if odd < 0.05:
        return text.replace('"role"', '"role": "x", "role"', 1)  # a repeated key
    if odd < 0.07:
        return text.replace("[", '["\\ud800", ', 1)  # a lone surrogate
    if odd < 0.09:
        return rng.choice(["", " ", "null", "[1.5e3]", "[12345678901234567890]", "[-0]"])
    return text


def _messages(rng: random.Random, role: str) -> str:
    roles = [role, role, "system", "user", "assistant", "tool", role.upper(), 3]
    messages = [_message(rng, rng.choice(roles)) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    if rng.random() < 0.05:
        return _json(rng, rng.choice([{"role": role}, "text", 5]))
    return _json(rng, messages)


def _documents(rng: random.Random) -> str:
    shapes: list[Any] = [
        {"content": "passage"},
        {"content": _text(rng)},
        {"content": None},
        {"content": 3},
        {"content": True},
        {"content": ["a", {"b": None}]},
        {"id": "no content"},
        {"content": "scored", "score": rng.choice([0.25, -1.5e-3, 7, True, None, "0.5", "x"])},
        {"content": 1.5},
        "a bare passage",
        5,
        None,
    ]
    documents = [rng.choice(shapes) for _ in range(rng.randrange(4))]
    return _json(rng, documents if rng.random() < 0.9 else {"content": "x"})


def _string(value: str) -> AnyValue:
    return AnyValue(string_value=value)


def _strings(*values: str) -> AnyValue:
    return AnyValue(array_value=ArrayValue(values=[_string(v) for v in values]))


def _call_value(rng: random.Random, key: str) -> AnyValue:  # noqa: PLR0911, PLR0912 - one per key
    if rng.random() < 0.05:
        return _random_value(rng)  # anything, nested lists and maps included
    if key in (attr.INPUT_MESSAGES, "llm.input_messages"):
        return _string(_messages(rng, "user"))
    if key == attr.OUTPUT_MESSAGES:
        return _string(_messages(rng, "assistant"))
    if key == attr.RETRIEVAL_DOCUMENTS:
        return _string(_documents(rng))
    if key in (
        attr.USAGE_INPUT_TOKENS,
        attr.USAGE_OUTPUT_TOKENS,
        "llm.token_count.prompt",
        "llm.token_count.completion",
    ):
        return rng.choice(
            [
                AnyValue(int_value=rng.choice([0, 125, -5, 2**40, 2**63 - 1])),
                AnyValue(double_value=rng.choice([12.7, -1.0, 0.0, 1e30, float("inf")])),
                AnyValue(bool_value=True),
                AnyValue(bytes_value=b"\x01"),
                _string(rng.choice(["125", "+7", "-3", "007", "", " 12", "1_000", "12.5"])),
                _string(rng.choice(["٣", "9" * 30, "-", "12a"])),
            ]
        )
    if key == attr.SAMPLE_RATE:
        return rng.choice(
            [
                _string(rng.choice(["1.0", "0.25", ".5", "5.", "1e-1", "2.5E-1", "0", "-0.5"])),
                _string(rng.choice(["2", "abc", "", " 0.5", "0_5", "inf", "nan", "1e-400"])),
                AnyValue(double_value=rng.choice([0.3, 0.0, 1.0, 1.5, float("nan"), -0.1])),
                AnyValue(int_value=rng.choice([0, 1, 2])),
                AnyValue(bool_value=rng.random() < 0.5),
                AnyValue(bytes_value=b"\x01\x00"),
            ]
        )
    if key == attr.RESPONSE_FINISH_REASONS:
        return rng.choice(
            [
                _strings("stop"),
                _strings("stop", "length"),
                _strings(),
                _string("stop"),
                AnyValue(int_value=3),
                AnyValue(double_value=0.5),
                AnyValue(array_value=ArrayValue(values=[_string("a"), AnyValue(int_value=1)])),
            ]
        )
    if key == attr.OPERATION_NAME:
        return _string(
            rng.choice(
                [
                    *("chat", "chat", "execute_tool", "", "embeddings", "invoke_agent"),
                    *("retrieval", "rerank", "generate_content", "text_completion", "other"),
                ]
            )
        )
    if key == "watchkeeper.span.kind":
        return rng.choice([_string(rng.choice(KINDS)), _string("LLM"), AnyValue(int_value=1)])
    if key == "openinference.span.kind":
        return _string(
            rng.choice(["LLM", "llm", "Chain", "agent", "RETRIEVER", "TOOL", "cha\u0131n"])
        )
    if key.endswith(".message.role"):
        return _string(rng.choice(["user", "assistant", "system", ""]))
    if key.endswith(".document.score"):
        return rng.choice(
            [
                AnyValue(double_value=rng.choice([0.9, -0.0, float("inf"), 1e-300])),
                AnyValue(int_value=rng.choice([3, -(2**63)])),
                AnyValue(bool_value=True),
                _string(rng.choice(["0.75", "", " 1", "inf", "1e999", "abc"])),
                AnyValue(bytes_value=rng.choice([b"", b"\x12"])),
            ]
        )
    if key.startswith("x" * 100):
        return _string("y" * rng.choice([10, 5000, 20000]))
    if key.endswith((".message.content", ".document.content")):
        return _string(_text(rng))
    return rng.choice(
        [
            _string(_text(rng)),
            _string("model-x"),
            _string(""),
            AnyValue(int_value=rng.choice([0, 42, -(2**63)])),
            AnyValue(double_value=rng.choice([0.7, 1e300, 1e-7, -0.0, float("inf")])),
            AnyValue(bool_value=rng.random() < 0.5),
            AnyValue(bytes_value=rng.randbytes(rng.randrange(3))),
            _strings("a", 'b"', "ü\n"),
            AnyValue(string_value_strindex=rng.choice([0, 3])),
        ]
    )


_CALL_KEYS = [
    *sorted(_TYPED),
    attr.RETRIEVAL_DOCUMENTS,
    "openinference.span.kind",
    "watchkeeper.span.kind",
    *(
        f"llm.{side}_messages.{i}.message.{field}"
        for side in ("input", "output")
        for i in "01"
        for field in ("role", "content")
    ),
    "llm.input_messages.10.message.content",
    "llm.input_messages.00.message.role",
    "llm.input_messages.٣.message.content",
    "llm.input_messages.x.message.role",
    "llm.input_messages",
    *(f"retrieval.documents.{i}.document.content" for i in ["0", "1", "2", "01", "٣", "x", ""]),
    "retrieval.documents.0.document.id",
    *(f"retrieval.documents.{i}.document.score" for i in ["0", "1", "00"]),
    *(
        f"reranker.{side}_documents.{i}.document.{field}"
        for side in ("input", "output")
        for i in "01"
        for field in ("content", "score")
    ),
    "reranker.query",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "x" * 5000,
    "gen_ai.request.temperature",
    "gen_ai.request.stream",
    "gen_ai.tool.name",
    "custom.key",
    "ключ",
]


def _call_span(rng: random.Random, now_ns: int) -> Span:
    keys = rng.sample(_CALL_KEYS, rng.randrange(1, 14))
    if rng.random() < 0.8:
        keys += [attr.INPUT_MESSAGES, attr.OUTPUT_MESSAGES]
    attributes = [_kv(key, _call_value(rng, key)) for key in keys]
    if rng.random() < 0.15:  # a key given twice: the last set value wins, unset ones set nothing
        key = rng.choice(keys)
        attributes.append(_kv(key, rng.choice([AnyValue(), _call_value(rng, key)])))
    rng.shuffle(attributes)
    span = Span(
        trace_id=rng.choice([rng.randbytes(16)] * 9 + [rng.randbytes(3)]),
        span_id=rng.choice([rng.randbytes(8)] * 9 + [b""]),
        parent_span_id=rng.choice([b"", rng.randbytes(8)]),
        name=rng.choice(["chat model", "", "naïve"]),
        start_time_unix_nano=rng.choice([now_ns - 10**9] * 9 + [0, now_ns + 10**15]),
        end_time_unix_nano=rng.choice([now_ns, now_ns - 2 * 10**9, 0]),
        attributes=attributes,
        status=Status(code=rng.choice([0, 0, 1, 2, 5]), message=rng.choice(["", "boom"])),  # type: ignore[arg-type]
    )
    if rng.random() < 0.1:
        event = span.events.add(time_unix_nano=now_ns, name="exception")
        event.attributes.append(_kv("exception.type", _random_value(rng)))
    return span


def _call_request(rng: random.Random) -> bytes:
    import time

    now_ns = time.time_ns()
    service = rng.choice(
        [[_kv(attr.SERVICE_NAME, _string("svc"))]] * 8
        + [[], [_kv(attr.SERVICE_NAME, AnyValue(int_value=5))]]
    )
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=service),
                scope_spans=[
                    ScopeSpans(spans=[_call_span(rng, now_ns) for _ in range(rng.randrange(1, 4))])
                ],
            )
        ]
    ).SerializeToString()


def test_generated_calls_are_normalised_identically() -> None:
    """Messages JSON of one or several messages and parts of every type, OpenInference's
    flattened keys, retrieval documents, unicode, empty strings, token counts and sample
    rates of every type, status and error type, repeated keys: the core builds most of these
    calls itself, the rest Python finishes, and the records are the same."""
    rng = random.Random(20260517)
    payloads = [_call_request(rng) for _ in range(2000)]
    assert all(_same(p) for p in payloads)
    calls = sum(
        len(normalize_decoded(decode_traces(p, attr.SPAN_TYPE) or [], "t").calls) for p in payloads
    )
    built = sum(map(_built_natively, payloads))
    # Most generated spans hold at least one odd value on purpose: a third is plenty.
    assert built > calls / 3 > 500
    # The spans that are not calls (agents, tools, retrievers ...): their rows too.
    rows = sum(
        len(normalize_decoded(decode_traces(p, attr.SPAN_TYPE) or [], "t").spans) for p in payloads
    )
    built_rows = sum(
        isinstance(span, TraceSpan)
        for p in payloads
        for _, spans in native_decode.decode_natively(p, "protobuf") or []
        for span in spans
    )
    assert built_rows > rows / 3 > 100


def _call_payload(attributes: dict[str, AnyValue], status: int = 0) -> bytes:
    import time

    now_ns = time.time_ns()
    span = Span(
        trace_id=bytes(range(16)),
        span_id=bytes(range(8)),
        parent_span_id=bytes(range(8, 16)),
        name="chat m",
        start_time_unix_nano=now_ns - 10**9,
        end_time_unix_nano=now_ns,
        attributes=[_kv(key, value) for key, value in attributes.items()],
        status=Status(code=status, message="status message"),  # type: ignore[arg-type]
    )
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=[_kv(attr.SERVICE_NAME, _string("svc"))]),
                scope_spans=[ScopeSpans(spans=[span])],
            )
        ]
    ).SerializeToString()


_ONE = json.dumps(
    [{"role": "user", "parts": [{"type": "text", "content": "Qu'est-ce que c'est ?"}]}]
)
_CONVERSATION = json.dumps(
    [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {
            "role": "user",
            "parts": [{"type": "text", "content": "数据"}, {"type": "image", "uri": "x"}],
        },
    ],
    ensure_ascii=False,
)
_ANSWER = json.dumps(
    [{"role": "assistant", "parts": [{"type": "text", "content": "😀\n"}], "finish_reason": "stop"}]
)


@pytest.mark.parametrize(
    "attributes",
    [
        {attr.INPUT_MESSAGES: _string(_ONE), attr.OUTPUT_MESSAGES: _string(_ANSWER)},
        {attr.INPUT_MESSAGES: _string(_CONVERSATION), attr.OUTPUT_MESSAGES: _string("")},
        {attr.INPUT_MESSAGES: _string(_ONE.replace("user", "assistant")), "x": _string("")},
        {
            "openinference.span.kind": _string("LLM"),
            "llm.input_messages.0.message.role": _string("system"),
            "llm.input_messages.0.message.content": _string('say "hi"'),
            "llm.input_messages.1.message.role": _string("user"),
            "llm.input_messages.1.message.content": _string("hi"),
            "llm.output_messages.0.message.role": _string("assistant"),
            "llm.output_messages.0.message.content": _string("hello"),
            "llm.model_name": _string("m"),
            "llm.token_count.prompt": AnyValue(int_value=3),
            "session.id": _string("s"),
            "retrieval.documents.1.document.content": _string("second"),
            "retrieval.documents.0.document.content": _string("first"),
        },
        {
            attr.OPERATION_NAME: _string("chat"),
            attr.RETRIEVAL_DOCUMENTS: _string(json.dumps([{"content": "a"}, "b", {"content": 3}])),
            attr.USAGE_INPUT_TOKENS: _string("125"),
            attr.USAGE_OUTPUT_TOKENS: AnyValue(int_value=2**40),
            attr.SAMPLE_RATE: _string("0.25"),
            attr.RESPONSE_FINISH_REASONS: _strings("stop", "length"),
            attr.ERROR_TYPE: _string("TimeoutError"),
            "gen_ai.request.temperature": AnyValue(double_value=0.7),
            "gen_ai.request.stream": AnyValue(bool_value=True),
            "big": _string("é" * 5000),
        },
    ],
)
def test_common_shapes_are_built_by_the_core(attributes: dict[str, AnyValue]) -> None:
    """These calls never need Python's normaliser (and give the same records)."""
    data = _call_payload(attributes)
    assert _same(data)
    assert _built_natively(data) == 1


@pytest.mark.parametrize(
    "attributes",
    [
        {attr.USAGE_INPUT_TOKENS: _string("1_000")},  # int() reads underscores
        {attr.OPERATION_NAME: _string("chat"), attr.SAMPLE_RATE: _string(" 0.5")},  # and spaces
        {attr.INPUT_MESSAGES: _string("not JSON")},  # orjson's verdict
        # a float written as text (Python's repr)
        {attr.INPUT_MESSAGES: _string('[{"role": "user", "parts": [{"content": 1.5}]}]')},
        {attr.INPUT_MESSAGES: _string('["\\udc00"]')},  # a lone surrogate
        {attr.REQUEST_MODEL: AnyValue(kvlist_value=KeyValueList())},  # a map
        {"openinference.span.kind": _string("cha\u0131n")},  # dotless i: upper() gives "I"
    ],
)
def test_doubtful_values_are_left_to_python(attributes: dict[str, AnyValue]) -> None:
    """Where exact reproduction is doubtful the core hands the span to Python."""
    data = _call_payload(attributes)
    assert _same(data)
    assert _built_natively(data) == 0


def test_core_fills_every_field_of_the_record() -> None:
    """Distinct values in every field: a field filled out of order would show."""
    data = _call_payload(
        {
            attr.OPERATION_NAME: _string("op"),
            attr.PROVIDER_NAME: _string("prov"),
            attr.REQUEST_MODEL: _string("req"),
            attr.RESPONSE_MODEL: _string("resp"),
            attr.INPUT_MESSAGES: _string(_CONVERSATION),
            attr.OUTPUT_MESSAGES: _string(_ANSWER.replace('"stop"}', '"stop", "x": 1}')),
            attr.USAGE_INPUT_TOKENS: AnyValue(int_value=11),
            attr.USAGE_OUTPUT_TOKENS: AnyValue(int_value=12),
            attr.RESPONSE_FINISH_REASONS: _strings("fin"),
            attr.ERROR_TYPE: _string("err"),
            attr.USER_ID: _string("user"),
            attr.CONVERSATION_ID: _string("conv"),
            attr.SAMPLE_RATE: AnyValue(double_value=0.5),
            attr.ROUTE: _string("route"),
            attr.RETRIEVAL_DOCUMENTS: _string('["ctx"]'),
            "extra": _string("x"),
        },
        status=2,
    )
    assert _same(data)
    groups = native_decode.decode_natively(data, "protobuf")
    assert groups is not None
    record = groups[0][1][0]
    assert isinstance(record, CallRecord)
    values = [v for v in dataclasses.astuple(record) if v not in ("", [], {})]
    assert len(values) == len({repr(v) for v in values}) == len(dataclasses.fields(record)) - 1
