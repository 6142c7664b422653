"""Decoding OTLP payloads: protobuf, OTLP/JSON, and every kind of bad input."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from watchkeeper.collector.processors.decode import (
    MAX_PAYLOAD_BYTES,
    RejectedPayload,
    decode_request,
    sniff_encoding,
)


def _otlp_json(payload: bytes) -> bytes:
    """The OTLP/JSON form of a protobuf payload: hex ids, as the OTLP spec writes them."""
    request = decode_request(payload, "protobuf")
    document = json_format.MessageToDict(request)
    for rs in document["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        import base64

                        span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(document).encode()


def test_protobuf_round_trip() -> None:
    """A protobuf payload from the SDK decodes to the same spans."""
    payload = protobuf_payload(answer_spans(3))
    request = decode_request(payload)
    spans = request.resource_spans[0].scope_spans[0].spans
    assert len(spans) == 3
    assert all(len(span.trace_id) == 16 for span in spans)


def test_otlp_json_with_hex_ids_decodes_like_protobuf() -> None:
    """OTLP/JSON (hex ids) and protobuf of the same spans decode to equal requests."""
    payload = protobuf_payload(answer_spans(2))
    as_json = _otlp_json(payload)
    assert sniff_encoding(as_json) == "json"
    assert decode_request(as_json) == decode_request(payload)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"{}", "json"),
        (b" \t\r\n\x0b\x0c{", "json"),
        (b"\n\x05hello", "protobuf"),  # protobuf starts with a newline (field 1)
        (b"\n\n ", "protobuf"),
        (b"", "protobuf"),
        (b"\x00{", "protobuf"),
        (b"\xa0{", "protobuf"),  # not whitespace to bytes.lstrip
    ],
)
def test_sniff_encoding_looks_past_leading_whitespace(payload: bytes, expected: str) -> None:
    assert sniff_encoding(payload) == expected
    assert ("json" if payload.lstrip()[:1] == b"{" else "protobuf") == expected


@pytest.mark.parametrize(
    ("payload", "encoding", "reason"),
    [
        (b"", None, "empty"),
        (b"\xff\xff\xff\xff", "protobuf", "bad_protobuf"),
        (b"{not json", "json", "bad_json"),
        (b"[1, 2]", "json", "bad_json"),
        (b'{"resourceSpans": 5}', "json", "bad_otlp_json"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz!"}]}]}]}',
            "json",
            "bad_otlp_json",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 7}]}]}]}',
            "json",
            "bad_otlp_json",
        ),
    ],
)
def test_bad_payloads_are_rejected_with_a_reason(
    payload: bytes, encoding: str | None, reason: str
) -> None:
    """Malformed input raises RejectedPayload naming a bounded reason, never anything else."""
    with pytest.raises(RejectedPayload) as caught:
        decode_request(payload, encoding)  # type: ignore[arg-type]
    assert caught.value.reason == reason


def test_oversized_payload_is_rejected_before_parsing() -> None:
    """A payload above the size bound is rejected as oversized."""
    with pytest.raises(RejectedPayload) as caught:
        decode_request(b"\x00" * (MAX_PAYLOAD_BYTES + 1))
    assert caught.value.reason == "oversized"


def test_protobuf_that_starts_like_json_is_decoded() -> None:
    """A request whose first ResourceSpans is 123 bytes long starts with "\\n{", as JSON after
    a newline may: it must decode as the protobuf it is, not be dead-lettered."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

    def small(n: int) -> ResourceSpans:  # a resource of its own, no spans, first on the wire
        name = KeyValue(key="service.name", value=AnyValue(string_value="x" * n))
        return ResourceSpans(resource=Resource(attributes=[name]))

    first = next(small(n) for n in range(130) if small(n).ByteSize() == 123)
    calls = decode_request(protobuf_payload(answer_spans(1)))
    request = ExportTraceServiceRequest(resource_spans=[first, *calls.resource_spans])
    payload = request.SerializeToString()
    assert payload[:2] == b"\n{"
    assert sniff_encoding(payload) == "json"
    assert decode_request(payload) == request
    with pytest.raises(RejectedPayload) as rejected:
        decode_request(b"\n{not json")
    assert rejected.value.reason == "bad_json"
