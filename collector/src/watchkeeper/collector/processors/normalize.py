"""Normalise OTLP spans into call records, whichever attribute convention they use.

GenAI semantic-convention spans (``gen_ai.*``, what ``@observe`` emits) and OpenInference
spans (``input.value``, ``llm.model_name`` ...) end up as the same :class:`CallRecord`.
Spans that are not LLM calls (HTTP handlers, DB queries from other instrumentation) are
skipped and counted, not stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from watchkeeper.collector.record import CallRecord
from watchkeeper.sdk import attributes as attr

#: Attribute values longer than this are cut in the generic attribute map (bodies have
#: their own columns); keeps one pathological attribute from bloating every row.
MAX_ATTRIBUTE_CHARS = 4096
_STATUS = {
    Status.STATUS_CODE_UNSET: "UNSET",
    Status.STATUS_CODE_OK: "OK",
    Status.STATUS_CODE_ERROR: "ERROR",
}
# Keys copied into typed columns; everything else goes to SpanAttributes.
_TYPED = {
    attr.OPERATION_NAME,
    attr.PROVIDER_NAME,
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


def iter_calls(request: ExportTraceServiceRequest, source: str) -> Iterator[CallRecord | None]:
    """One record per LLM span in the request; ``None`` for each span that is not one."""
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = str(resource.get(attr.SERVICE_NAME, ""))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield to_call(span, service, source)


def to_call(span: Span, service_name: str, source: str) -> CallRecord | None:
    """The call record of one span, or ``None`` when the span is not an LLM call."""
    values = _attributes(span.attributes)
    if not _is_llm_span(values):
        return None
    if len(span.trace_id) != 16 or len(span.span_id) != 8:
        raise ValueError(
            f"span ids have wrong lengths (trace {len(span.trace_id)}, span {len(span.span_id)})"
        )
    input_messages = _text(values.get(attr.INPUT_MESSAGES))
    output_messages = _text(values.get(attr.OUTPUT_MESSAGES))
    input_text = _messages_text(input_messages, want_roles=("user",)) or _text(
        values.get("input.value")
    )
    output_text = _messages_text(output_messages, want_roles=("assistant",)) or _text(
        values.get("output.value")
    )
    status = _STATUS.get(span.status.code, "UNSET")
    error_type = _text(values.get(attr.ERROR_TYPE))
    if error_type and status == "UNSET":
        status = "ERROR"
    extra = {
        key: _text(value)[:MAX_ATTRIBUTE_CHARS]
        for key, value in values.items()
        if key not in _TYPED
        and not key.startswith(("llm.input_messages", "llm.output_messages", "retrieval.documents"))
    }
    return CallRecord(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex(),
        timestamp_ns=int(span.start_time_unix_nano),
        duration_ns=max(0, int(span.end_time_unix_nano) - int(span.start_time_unix_nano)),
        service_name=service_name,
        span_name=span.name,
        route=_text(values.get(attr.ROUTE)) or span.name,
        operation=_text(values.get(attr.OPERATION_NAME)) or "chat",
        provider=_text(
            values.get(attr.PROVIDER_NAME) or values.get("llm.provider") or values.get("llm.system")
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
        status_message=span.status.message,
        error_type=error_type,
        user_id=_text(values.get(attr.USER_ID)),
        conversation_id=_text(values.get(attr.CONVERSATION_ID) or values.get("session.id")),
        sample_rate=_float(values.get(attr.SAMPLE_RATE), default=1.0),
        contexts=_contexts(values),
        source=source,
        attributes=extra,
    )


def _contexts(values: dict[str, Any]) -> list[str]:
    """Retrieved passages from ``gen_ai.retrieval.documents`` (JSON) or OpenInference's
    flattened ``retrieval.documents.<i>.document.content`` keys."""
    raw = values.get(attr.RETRIEVAL_DOCUMENTS)
    if isinstance(raw, str) and raw:
        try:
            documents = json.loads(raw)
        except json.JSONDecodeError:
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
    indexed = []
    for key, value in values.items():
        if key.startswith("retrieval.documents.") and key.endswith(".document.content"):
            middle = key[len("retrieval.documents.") : -len(".document.content")]
            if middle.isdigit():
                indexed.append((int(middle), _text(value)))
    return [text for _, text in sorted(indexed)]


def _is_llm_span(values: dict[str, Any]) -> bool:
    if any(key.startswith("gen_ai.") for key in values):
        return True
    kind = values.get("openinference.span.kind")
    return isinstance(kind, str) and kind.upper() in {"LLM", "CHAIN", "AGENT", "RETRIEVER"}


def _attributes(key_values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in key_values:
        if isinstance(kv, KeyValue):
            out[kv.key] = _value(kv.value)
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


def _messages_text(messages_json: str, want_roles: tuple[str, ...]) -> str:
    """Text parts of the last message with a wanted role, in the GenAI message shape."""
    if not messages_json:
        return ""
    try:
        messages = json.loads(messages_json)
    except json.JSONDecodeError:
        return messages_json
    if not isinstance(messages, list):
        return ""
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
            return "\n".join(texts)
        content = message.get("content")
        return content if isinstance(content, str) else ""
    return ""


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
    except (TypeError, ValueError):
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
