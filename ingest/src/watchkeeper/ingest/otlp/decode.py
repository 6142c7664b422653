"""Decode OTLP trace payloads (protobuf or OTLP/JSON) into ``ExportTraceServiceRequest``."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from watchkeeper.ingest.otlp.utf8_repair import repair_utf8
from watchkeeper.ingest.text_repair import repair_strings

Encoding = Literal["protobuf", "json"]
#: Payloads above this are rejected before parsing; OTLP exporters batch far below it.
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024


class RejectedPayload(Exception):  # noqa: N818 - it names what happened, like StopIteration
    """A payload the pipeline cannot use. ``reason`` is a short, bounded label for metrics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


#: Leading whitespace (what ``bytes.lstrip`` strips), then ``{``. A match, not
#: ``payload.lstrip()``: protobuf starts with ``\n`` (field 1), and stripping would copy
#: the whole payload to look at one byte.
_JSON_START = re.compile(rb"[ \t\n\r\x0b\x0c]*\{")


def sniff_encoding(payload: bytes) -> Encoding:
    """OTLP/JSON starts with ``{`` (after whitespace); anything else is taken as protobuf."""
    return "json" if _JSON_START.match(payload) else "protobuf"


def decode_request(payload: bytes, encoding: Encoding | None = None) -> ExportTraceServiceRequest:
    """Parse one OTLP export request; raises :class:`RejectedPayload` with the reason."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise RejectedPayload("oversized", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    if not payload:
        raise RejectedPayload("empty", "no bytes")
    sniffed = encoding is None
    encoding = encoding or sniff_encoding(payload)
    request = ExportTraceServiceRequest()
    if encoding == "protobuf":
        return _parse_protobuf(payload, request)
    try:
        # JSON may escape lone surrogates ("\ud800"): made valid here, as in protobuf.
        document = repair_strings(json.loads(payload))
    except RecursionError:
        raise RejectedPayload("bad_json", "nested too deep") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        if sniffed and payload[:1] == b"\n":
            # Protobuf starts with "\n" (field 1) and the first ResourceSpans' length: one
            # of 123 bytes reads "\n{", like JSON after a newline. Not JSON: try protobuf.
            try:
                return decode_request(payload, "protobuf")
            except RejectedPayload:
                pass
        raise RejectedPayload("bad_json", str(exc)) from None
    if not isinstance(document, dict):
        raise RejectedPayload("bad_json", "top level is not an object")
    try:
        _hex_ids_to_base64(document)
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except RecursionError:
        raise RejectedPayload("bad_otlp_json", "nested too deep") from None
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as exc:
        raise RejectedPayload("bad_otlp_json", str(exc)[:500]) from None
    return request


def _parse_protobuf(
    payload: bytes, request: ExportTraceServiceRequest
) -> ExportTraceServiceRequest:
    try:
        request.ParseFromString(payload)
    except (DecodeError, RuntimeError, ValueError) as exc:
        # Invalid UTF-8 in one string must not cost every span of the request: repair the
        # strings and parse again; what still fails is not protobuf.
        try:
            request.ParseFromString(repair_utf8(payload, ExportTraceServiceRequest.DESCRIPTOR))
        except (DecodeError, RuntimeError, ValueError, RecursionError):
            raise RejectedPayload("bad_protobuf", str(exc) or "not an OTLP protobuf") from None
    return request


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    """OTLP/JSON writes trace and span ids as hex; protobuf's JSON mapping wants base64."""
    for resource_spans in _list(document, "resourceSpans", "resource_spans"):
        for scope_spans in _list(resource_spans, "scopeSpans", "scope_spans"):
            for span in _list(scope_spans, "spans"):
                if not isinstance(span, dict):
                    raise TypeError("a span is not an object")
                for key in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id"):
                    value = span.get(key)
                    if isinstance(value, str) and value:
                        span[key] = _hex_to_b64(value)


def _list(node: Any, *keys: str) -> list[Any]:
    if not isinstance(node, dict):
        raise TypeError("expected an object")
    for key in keys:
        value = node.get(key)
        if value is not None:
            if not isinstance(value, list):
                raise ValueError(f"{key} is not a list")
            return value
    return []


def _hex_to_b64(value: str) -> str:
    try:
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    except ValueError:
        try:  # already base64, as protobuf's own JSON printer writes it
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"id {value[:40]!r} is neither hex nor base64") from None
        return value
