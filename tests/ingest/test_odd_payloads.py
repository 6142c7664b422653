"""OTLP payloads with odd text or odd shapes: one bad string never costs a request's other
spans, and hostile shapes are refused as bad input, never a crash."""

from __future__ import annotations

import json
import random

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from watchkeeper.ingest.otlp.decode import RejectedPayload, decode_request
from watchkeeper.ingest.otlp.utf8_repair import repair_utf8
from watchkeeper.ingest.text_repair import repair_strings, repair_text


def _request(texts: list[str]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add()
    for index, text in enumerate(texts):
        span = spans.spans.add()
        span.name = "chat"
        span.trace_id = bytes([index + 1]) * 16
        span.span_id = bytes([index + 1]) * 8
        attribute = span.attributes.add()
        attribute.key = "gen_ai.input.messages"
        attribute.value.string_value = text
    return request


def test_a_lone_surrogate_in_one_span_keeps_the_other_spans() -> None:
    """Invalid UTF-8 in one string field (a lone surrogate's bytes) is replaced by U+FFFD;
    all ten spans of the request decode, ids and other text unchanged."""
    good = _request([f"MARK{i} é 東京" for i in range(10)]).SerializeToString()
    bad = good.replace(b"MARK3", b"\xed\xa0\x80M3", 1)
    with pytest.raises(Exception, match=r"(?i)utf-?8|parse|decode"):
        ExportTraceServiceRequest().ParseFromString(bad)
    spans = decode_request(bad, "protobuf").resource_spans[0].scope_spans[0].spans
    texts = [s.attributes[0].value.string_value for s in spans]
    assert len(texts) == 10
    assert texts[3] == "\ufffd\ufffd\ufffdM3 é 東京"
    assert texts[:3] + texts[4:] == [f"MARK{i} é 東京" for i in range(10) if i != 3]
    assert [s.span_id for s in spans] == [bytes([i + 1]) * 8 for i in range(10)]


def test_repair_leaves_valid_payloads_byte_for_byte() -> None:
    """A valid payload comes out of the repair unchanged."""
    payload = _request(["plain", "é", "🚀" * 50, ""]).SerializeToString()
    assert repair_utf8(payload, ExportTraceServiceRequest.DESCRIPTOR) == payload


@pytest.mark.parametrize("seed", range(20))
def test_random_corruption_is_repaired_or_refused_never_raised(seed: int) -> None:
    """Random bytes flipped in a payload: the decoder returns a request or raises
    RejectedPayload, nothing else."""
    rng = random.Random(seed)
    payload = bytearray(_request([f"text {i}" for i in range(5)]).SerializeToString())
    for _ in range(rng.randint(1, 8)):
        payload[rng.randrange(len(payload))] = rng.randrange(256)
    reasons = []
    try:
        decode_request(bytes(payload), "protobuf")
    except RejectedPayload as exc:
        reasons.append(exc.reason)
    assert reasons in ([], ["bad_protobuf"])


def test_otlp_json_with_surrogate_escapes_decodes_with_replacement_characters() -> None:
    """OTLP/JSON may escape lone surrogates (``"\\ud800"``): they decode as U+FFFD."""
    body = json.dumps(
        {
            "resourceSpans": [
                {
                    "scopeSpans": [
                        {
                            "spans": [
                                {
                                    "traceId": "01" * 16,
                                    "spanId": "02" * 8,
                                    "name": "x\ud800y",
                                }
                            ]
                        }
                    ]
                }
            ]
        }
    ).encode()
    assert b"\\ud800" in body
    (span,) = decode_request(body, "json").resource_spans[0].scope_spans[0].spans
    assert span.name == "x\ufffdy"


@pytest.mark.parametrize(
    "body",
    [
        b'{"resourceSpans": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ],
)
def test_deeply_nested_json_is_a_rejected_payload(body: bytes) -> None:
    """Nesting deep enough to exhaust the parser's recursion is bad JSON, not a crash."""
    with pytest.raises(RejectedPayload) as refused:
        decode_request(body, "json")
    assert refused.value.reason in ("bad_json", "bad_otlp_json")


def test_repair_text_and_strings() -> None:
    """Lone surrogates become U+FFFD, valid pairs their character, other text unchanged."""
    assert repair_text("a\ud800b") == "a\ufffdb"
    assert repair_text("\ud83d\ude00") == "\U0001f600"
    assert repair_text("plain") == "plain"
    assert repair_strings({"k\udfff": ["x\ud800", 1, None, {"y": "ok"}]}) == {
        "k\ufffd": ["x\ufffd", 1, None, {"y": "ok"}]
    }
