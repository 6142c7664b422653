"""Normalise OTLP spans into call records, whichever attribute convention they use.

GenAI semantic-convention spans (``gen_ai.*``, what ``@observe`` emits) and OpenInference
spans (``input.value``, ``llm.model_name`` ...) end up as the same :class:`CallRecord`.
A span is an LLM call when its kind (``traces.kinds``) is ``llm``; every other span (agents,
tools, retrievers, chains, HTTP handlers ...) is counted as a skipped call and kept as a
trace span (``traces.span_record``) for the ``spans`` table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from watchkeeper.collector.record import CallRecord, ns_to_clickhouse
from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.span_record import span_from_decoded
from watchkeeper.collector.versions.identity import stamp_identity
from watchkeeper.sdk import attributes as attr

#: Attribute values longer than this are cut in the generic attribute map (bodies have
#: their own columns); keeps one pathological attribute from bloating every row.
MAX_ATTRIBUTE_CHARS = 4096
#: Spans must start after 2000-01-01 and at most a day in the future: a zero or garbage
#: timestamp would land in a partition the TTL deletes at once, or never.
_MIN_TIME_NS = 946_684_800 * 10**9
_MAX_CLOCK_SKEW_NS = 86_400 * 10**9
_STATUS: dict[int, str] = {
    Status.STATUS_CODE_UNSET: "UNSET",
    Status.STATUS_CODE_OK: "OK",
    Status.STATUS_CODE_ERROR: "ERROR",
}
# Keys copied into typed columns; everything else goes to SpanAttributes.
_TYPED = {
    attr.OPERATION_NAME,
    attr.PROVIDER_NAME,
    "gen_ai.system",  # the provider under its older key, which instrumentations still send
    attr.REQUEST_MODEL,
    attr.RESPONSE_MODEL,
    attr.USAGE_INPUT_TOKENS,
    attr.USAGE_OUTPUT_TOKENS,
    attr.RESPONSE_FINISH_REASONS,
    attr.INPUT_MESSAGES,
    attr.OUTPUT_MESSAGES,
    attr.CONVERSATION_ID,
    attr.USER_ID,
    attr.ROUTE,
    attr.SAMPLE_RATE,
    attr.ERROR_TYPE,
    "input.value",
    "output.value",
    "llm.model_name",
    "llm.provider",
    "llm.system",
    "llm.token_count.prompt",
    "llm.token_count.completion",
    "session.id",
}


#: One span as ``watchkeeper.native.decode_traces`` returns it: trace, span and parent ids,
#: name, start and end (ns), status code and message, attributes (as ``_attributes``
#: builds them), whether it is a feedback span, its events as (time, name, attributes),
#: and its protobuf bytes.
DecodedSpan = tuple[
    bytes,
    bytes,
    bytes,
    str,
    int,
    int,
    int,
    str,
    dict[str, Any],
    bool,
    list[tuple[int, str, dict[str, Any]]],
    bytes,
]
#: One ``ResourceSpans``: its resource attributes and the spans of all its scopes. From
#: ``watchkeeper.native.decode_calls``, a span the core could normalise itself comes as its
#: record (``source`` still empty), or when it is not an LLM call as its ``spans`` row, or
#: as None (no row wanted, or none to make).
DecodedResource = tuple[dict[str, Any], list[DecodedSpan | CallRecord | TraceSpan | None]]


@dataclass
class Normalized:
    """The LLM calls of one request, plus what was skipped or rejected and why."""

    calls: list[CallRecord] = field(default_factory=list)
    #: rows for the ``feedback`` table
    feedback: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    #: the spans that are not LLM calls (nor feedback), as trace spans
    spans: list[TraceSpan] = field(default_factory=list)
    #: (reason, detail, the span as protobuf bytes) for each span that could not be used
    rejected: list[tuple[str, str, bytes]] = field(default_factory=list)


class SpanRejected(ValueError):  # noqa: N818 - names what happened, like RejectedPayload
    """One span is unusable; ``reason`` is a short, bounded label for metrics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


#: OpenInference keys that repeat the bodies already in typed columns.
_UNTYPED_BODIES = ("llm.input_messages", "llm.output_messages", "retrieval.documents")


def normalize_payload(
    request: Sequence[DecodedResource] | ExportTraceServiceRequest, source: str
) -> Normalized | None:
    """The calls of one decoded request, whichever decoder made it; None when it holds no
    resource at all (valid OTLP may be empty)."""
    if isinstance(request, ExportTraceServiceRequest):
        return normalize_request(request, source) if request.resource_spans else None
    return normalize_decoded(request, source) if request else None


def normalize_request(request: ExportTraceServiceRequest, source: str) -> Normalized:
    """Every span of the request, each normalised, skipped or rejected on its own."""
    out = Normalized()
    now_ns = time.time_ns()
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = str(resource.get(attr.SERVICE_NAME, ""))
        first = len(out.calls)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                view = _view(span, feedback=_is_feedback(span))
                _add_span(out, view, service, source, now_ns, original=span)
        stamp_identity(out.calls[first:], resource)
    return out


def iter_calls(request: ExportTraceServiceRequest, source: str) -> Iterator[CallRecord | None]:
    """One record per LLM span in the request; ``None`` for each span that is not one.

    Raises :class:`SpanRejected` at the first unusable span (tests and tools; the
    pipeline uses :func:`normalize_request`, which rejects spans one by one).
    """
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = str(resource.get(attr.SERVICE_NAME, ""))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield to_call(span, service, source)


def normalize_decoded(groups: Sequence[DecodedResource], source: str) -> Normalized:
    """``normalize_request`` of a request decoded by the compiled core
    (``watchkeeper.native.decode_calls`` or ``decode_traces``): the same records from the
    same spans."""
    out = Normalized()
    now_ns = time.time_ns()
    for resource, spans in groups:
        service = str(resource.get(attr.SERVICE_NAME, ""))
        first = len(out.calls)
        for span in spans:
            if span is None:  # the core found it is not an LLM call
                out.skipped += 1
                continue
            if isinstance(span, CallRecord):  # the core normalised it
                span.source = source
                out.calls.append(span)
                continue
            if isinstance(span, TraceSpan):  # not an LLM call: the core made its row
                out.skipped += 1
                out.spans.append(span)
                continue
            _add_span(out, span, service, source, now_ns)
        stamp_identity(out.calls[first:], resource)
    return out


def _add_span(
    out: Normalized,
    span: DecodedSpan,
    service: str,
    source: str,
    now_ns: int,
    *,
    original: Span | None = None,
) -> None:
    """Normalise one span into ``out``: feedback rows, a call, a skip or a rejection (with
    the span's bytes: the core's, or ``original`` serialised, only when rejected)."""
    try:
        if span[9]:  # a feedback span
            out.feedback.extend(_feedback_rows(span, service))
            return
        call = _call(span, service, source, now_ns)
    except SpanRejected as exc:
        raw = original.SerializeToString() if original is not None else span[11]
        out.rejected.append((exc.reason, exc.detail, raw))
        return
    if call is None:
        out.skipped += 1
        kept = span_from_decoded(span, service, now_ns)
        if kept is not None:
            out.spans.append(kept)
    else:
        out.calls.append(call)


def to_call(
    span: Span, service_name: str, source: str, now_ns: int | None = None
) -> CallRecord | None:
    """The call record of one span, or ``None`` when the span is not an LLM call."""
    return _call(_view(span, feedback=False), service_name, source, now_ns)


def _view(span: Span, *, feedback: bool) -> DecodedSpan:
    """A protobuf span as the compiled decoder returns it (its bytes left out: they are
    serialised only for a span that is rejected)."""
    return (
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.name,
        span.start_time_unix_nano,
        span.end_time_unix_nano,
        span.status.code,
        span.status.message,
        _attributes(span.attributes),
        feedback,
        [(e.time_unix_nano, e.name, _attributes(e.attributes)) for e in span.events],
        b"",
    )


def _call(
    span: DecodedSpan, service_name: str, source: str, now_ns: int | None
) -> CallRecord | None:
    (
        trace_id,
        span_id,
        parent_span_id,
        name,
        start_ns,
        end_ns,
        status_code,
        status_message,
        values,
        _,
        _,
        _,
    ) = span
    if not is_llm_span(values):
        return None
    if len(trace_id) != 16 or len(span_id) != 8:
        raise SpanRejected(
            "bad_ids",
            f"trace id has {len(trace_id)} bytes (want 16), span id {len(span_id)} (want 8)",
        )
    if not _MIN_TIME_NS <= start_ns <= (now_ns or time.time_ns()) + _MAX_CLOCK_SKEW_NS:
        raise SpanRejected("bad_timestamp", f"start_time_unix_nano={start_ns}")
    input_messages = _text(values.get(attr.INPUT_MESSAGES)) or _openinference_messages(
        values, "llm.input_messages."
    )
    output_messages = _text(values.get(attr.OUTPUT_MESSAGES)) or _openinference_messages(
        values, "llm.output_messages."
    )
    input_text, input_more = _messages_text(input_messages, want_roles=("user",))
    output_text, output_more = _messages_text(output_messages, want_roles=("assistant",))
    # The messages JSON is kept only when it says more than the extracted text (a
    # conversation, a system prompt, tool calls): most calls are one user text and one
    # answer, and storing them twice would double the body table for nothing.
    if not input_more:
        input_messages = ""
    if not output_more:
        output_messages = ""
    input_text = input_text or _text(values.get("input.value"))
    output_text = output_text or _text(values.get("output.value"))
    status = _STATUS.get(status_code, "UNSET")
    error_type = _text(values.get(attr.ERROR_TYPE))
    if error_type and status == "UNSET":
        status = "ERROR"
    extra = {
        key: _text(value)[:MAX_ATTRIBUTE_CHARS]
        for key, value in values.items()
        if key not in _TYPED and not key.startswith(_UNTYPED_BODIES)
    }
    return CallRecord(
        trace_id=trace_id.hex(),
        span_id=span_id.hex(),
        parent_span_id=parent_span_id.hex(),
        timestamp_ns=start_ns,
        duration_ns=max(0, end_ns - start_ns),
        service_name=service_name,
        span_name=name,
        route=_text(values.get(attr.ROUTE)) or name,
        operation=_text(values.get(attr.OPERATION_NAME)) or "chat",
        provider=_text(
            values.get(attr.PROVIDER_NAME)
            or values.get("gen_ai.system")
            or values.get("llm.provider")
            or values.get("llm.system")
        ),
        request_model=_text(values.get(attr.REQUEST_MODEL) or values.get("llm.model_name")),
        response_model=_text(values.get(attr.RESPONSE_MODEL)),
        input_text=input_text,
        output_text=output_text,
        input_messages=input_messages,
        output_messages=output_messages,
        input_tokens=_int(
            values.get(attr.USAGE_INPUT_TOKENS, values.get("llm.token_count.prompt"))
        ),
        output_tokens=_int(
            values.get(attr.USAGE_OUTPUT_TOKENS, values.get("llm.token_count.completion"))
        ),
        finish_reasons=[str(v) for v in _as_list(values.get(attr.RESPONSE_FINISH_REASONS))],
        status_code=status,
        status_message=status_message,
        error_type=error_type,
        user_id=_text(values.get(attr.USER_ID)),
        conversation_id=_text(values.get(attr.CONVERSATION_ID) or values.get("session.id")),
        sample_rate=_float(values.get(attr.SAMPLE_RATE), default=1.0),
        contexts=_contexts(values),
        source=source,
        attributes=extra,
    )


def _is_feedback(span: Span) -> bool:
    for kv in span.attributes:
        if kv.key == attr.SPAN_TYPE:
            is_feedback: bool = kv.value.string_value == "feedback"
            return is_feedback
    return False


def to_feedback(span: Span, service_name: str) -> list[dict[str, Any]]:
    """Rows for the ``feedback`` table from a feedback span's evaluation events."""
    return _feedback_rows(_view(span, feedback=True), service_name)


def _feedback_rows(span: DecodedSpan, service_name: str) -> list[dict[str, Any]]:
    trace_id, span_id, parent_span_id, _, start_ns, _, _, _, values, _, events, _ = span
    if len(trace_id) != 16 or len(span_id) != 8:
        raise SpanRejected("bad_ids", "feedback span ids have wrong lengths")
    rows = []
    for time_ns, name, evaluation in events:
        if name != attr.EVALUATION_RESULT_EVENT:
            continue
        score = evaluation.get(attr.EVALUATION_SCORE_VALUE)
        rows.append(
            {
                "Timestamp": ns_to_clickhouse(time_ns or start_ns),
                "TraceId": trace_id.hex(),
                "TargetSpanId": parent_span_id.hex(),
                "FeedbackSpanId": span_id.hex(),
                "ServiceName": service_name,
                "Name": _text(evaluation.get(attr.EVALUATION_NAME)) or "feedback",
                "Score": float(score) if isinstance(score, (int, float)) else None,
                "Label": _text(evaluation.get(attr.EVALUATION_SCORE_LABEL)),
                "Comment": _text(evaluation.get(attr.EVALUATION_EXPLANATION)),
                "UserId": _text(values.get(attr.USER_ID)),
            }
        )
    return rows


def _contexts(values: dict[str, Any]) -> list[str]:
    """Retrieved passages from ``gen_ai.retrieval.documents`` (JSON) or OpenInference's
    flattened ``retrieval.documents.<i>.document.content`` keys."""
    raw = values.get(attr.RETRIEVAL_DOCUMENTS)
    if isinstance(raw, str) and raw:
        try:
            documents = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return [raw]
        if isinstance(documents, list):
            out = []
            for doc in documents:
                if isinstance(doc, dict):
                    out.append(_text(doc.get("content", "")))
                elif isinstance(doc, str):
                    out.append(doc)
            return out
        return []
    if "openinference.span.kind" not in values:
        return []
    indexed = []
    for key, value in values.items():
        if key.startswith("retrieval.documents.") and key.endswith(".document.content"):
            middle = key[len("retrieval.documents.") : -len(".document.content")]
            if middle.isdigit():
                indexed.append((int(middle), _text(value)))
    return [text for _, text in sorted(indexed)]


def _openinference_messages(values: dict[str, Any], prefix: str) -> str:
    """OpenInference's flattened ``<prefix><i>.message.role`` / ``.message.content`` keys as
    GenAI-convention messages JSON, so both conventions go through one text extraction
    (``input.value`` / ``output.value`` of an OpenInference LLM span are the whole request
    and response JSON, not the texts)."""
    found: dict[int, dict[str, str]] = {}
    for key, value in values.items():
        if key.startswith(prefix):
            index, _, field = key[len(prefix) :].partition(".message.")
            if index.isdigit() and field in ("role", "content"):
                found.setdefault(int(index), {})[field] = _text(value)
    if not found:
        return ""
    return json.dumps(
        [
            {
                "role": m.get("role", ""),
                "parts": [{"type": "text", "content": m.get("content", "")}],
            }
            for _, m in sorted(found.items())
        ],
        ensure_ascii=False,
    )


def trace_spans(groups: Sequence[DecodedResource]) -> list[TraceSpan]:
    """The spans of a request decoded by ``watchkeeper.native.decode_traces`` that are not
    LLM calls nor feedback, as trace spans (the LLM calls' rows come from their records)."""
    out = []
    now_ns = time.time_ns()
    for resource, spans in groups:
        service = str(resource.get(attr.SERVICE_NAME, ""))
        for span in spans:
            if not isinstance(span, tuple) or span[9]:
                continue
            kind = kinds.span_kind(span[8])
            if kind == kinds.LLM:
                continue  # its row comes from its call record
            kept = span_from_decoded(span, service, now_ns, kind)
            if kept is not None:
                out.append(kept)
    return out


def is_llm_span(values: dict[str, Any]) -> bool:
    """Whether a span with these attribute values is an LLM call (a ``calls`` row): its kind
    is ``llm`` (``traces.kinds``: a GenAI ``chat``/``text_completion``/``generate_content``
    operation, OpenInference's ``LLM``, or a GenAI span that names no operation). Agents,
    tools, retrievers and chains are trace spans: the detectors would score a retriever's
    documents or an agent's plan as an answer."""
    return kinds.span_kind(values) == kinds.LLM


def _attributes(key_values: Any) -> dict[str, Any]:
    # The hot loop of the collector: strings and ints, by far the common case, are read
    # directly; everything else goes through the general converter.
    out: dict[str, Any] = {}
    for kv in key_values:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "string_value":
            out[kv.key] = value.string_value
        elif kind == "int_value":
            out[kv.key] = value.int_value
        elif kind is not None:
            out[kv.key] = _value(value)
    return out


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _messages_text(messages_json: str, want_roles: tuple[str, ...]) -> tuple[str, bool]:
    """Text parts of the last message with a wanted role, in the GenAI message shape, and
    whether the messages hold more than that text (other messages, other part types)."""
    if not messages_json:
        return "", False
    try:
        messages = orjson.loads(messages_json)
    except orjson.JSONDecodeError:
        return messages_json, False
    if not isinstance(messages, list):
        return "", True
    more = len(messages) != 1
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") not in want_roles:
            continue
        parts = message.get("parts")
        if isinstance(parts, list):
            texts = [
                str(p.get("content", ""))
                for p in parts
                if isinstance(p, dict) and p.get("type", "text") == "text"
            ]
            more = (
                more or len(texts) != len(parts) or len(message) > 2 + ("finish_reason" in message)
            )
            return "\n".join(texts), more
        content = message.get("content")
        return (content if isinstance(content, str) else ""), True
    return "", True


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _int(value: Any) -> int:
    try:
        return max(0, min(int(value), 2**32 - 1)) if value is not None else 0
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        return 0


def _float(value: Any, default: float) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if 0.0 < result <= 1.0 else default


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
