"""One span as the ``spans`` table keeps it (:class:`TraceSpan`), from a decoded span of
any kind or from an LLM call's record.

Sizes are bounded so whole-trace storage keeps the store's memory bounds: each text at
:data:`MAX_TEXT_CHARS`, at most :data:`MAX_DOCUMENTS` documents of
:data:`MAX_DOCUMENT_CHARS`, each attribute value at ``MAX_VALUE_CHARS`` and all of a span's
attributes together at :data:`MAX_ATTRIBUTE_CHARS`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any, Final

import orjson

from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import Document, TraceSpan
from watchkeeper.sdk import attributes as attr

MAX_TEXT_CHARS: Final = 8192
MAX_DOCUMENTS: Final = 20
MAX_DOCUMENT_CHARS: Final = 2048
MAX_VALUE_CHARS: Final = 4096
MAX_ATTRIBUTE_CHARS: Final = 16384
# Same bounds on start times as the calls (normalize.py): no row in a partition the TTL
# drops at once, or never.
_MIN_TIME_NS: Final = 946_684_800 * 10**9
_MAX_CLOCK_SKEW_NS: Final = 86_400 * 10**9
_STATUS: Final = {0: "UNSET", 1: "OK", 2: "ERROR"}
#: Where a span's input and output are, first found wins (GenAI tool spans, OpenInference).
_INPUT_KEYS: Final = (
    attr.TOOL_CALL_ARGUMENTS,
    "input.value",
    "reranker.query",
    attr.INPUT_MESSAGES,
)
_OUTPUT_KEYS: Final = (attr.TOOL_CALL_RESULT, "output.value", attr.OUTPUT_MESSAGES)
_SESSION_KEYS: Final = (attr.CONVERSATION_ID, "session.id")
#: Keys that go to typed columns, not to the attribute map.
_TYPED: Final = frozenset(
    (*_INPUT_KEYS, *_OUTPUT_KEYS, *_SESSION_KEYS, attr.USER_ID, attr.RETRIEVAL_DOCUMENTS)
)
_DOCUMENT_PREFIXES: Final = (
    "retrieval.documents.",
    "reranker.output_documents.",
    "reranker.input_documents.",
)


def span_from_decoded(
    span: tuple[Any, ...], service: str, now_ns: int | None = None, kind: str = ""
) -> TraceSpan | None:
    """The row of a decoded span (``normalize.DecodedSpan``: ids as bytes, name, start, end,
    status code and message, attribute values ...); None when its ids or start time are
    unusable (such a span could not be placed in any trace). ``kind``: its kind, when the
    caller knows it already."""
    trace_id, span_id, parent_id, name, start_ns, end_ns, code, message, values = span[:9]
    if len(trace_id) != 16 or len(span_id) != 8:
        return None
    if not _MIN_TIME_NS <= start_ns <= (now_ns or time.time_ns()) + _MAX_CLOCK_SKEW_NS:
        return None
    status = _STATUS.get(code, "UNSET")
    if status == "UNSET" and values.get(attr.ERROR_TYPE):
        status = "ERROR"
    kind = kind or kinds.span_kind(values)
    return TraceSpan(
        trace_id=trace_id.hex(),
        span_id=span_id.hex(),
        parent_span_id=parent_id.hex(),
        name=name,
        kind=kind,
        start_ns=start_ns,
        end_ns=max(start_ns, end_ns),
        status=status,
        attributes=_bounded_attributes(values),
        input_text=_first_text(values, _INPUT_KEYS),
        output_text=_first_text(values, _OUTPUT_KEYS),
        documents=documents(values, kind),
        session_id=_first_text(values, _SESSION_KEYS),
        user_id=_text(values.get(attr.USER_ID)),
        service_name=service,
        status_message=(message or _exception(span[10]))[:MAX_VALUE_CHARS],
    )


def _exception(events: list[tuple[int, str, dict[str, Any]]]) -> str:
    """``Type: message`` of the span's first ``exception`` event (OpenTelemetry's
    ``record_exception``), for a span whose status carries no message."""
    for _, name, values in events:
        if name == "exception":
            kind, text = _text(values.get("exception.type")), _text(values.get("exception.message"))
            return f"{kind}: {text}" if kind and text else kind or text
    return ""


def span_from_call(
    call: CallRecord, *, with_body: bool, attributes: Mapping[str, str] | None = None
) -> TraceSpan:
    """The row of an LLM call; its texts and contexts only when its body is kept (the
    body-sampling rules of ``call_bodies`` apply to the trace view alike). ``attributes``:
    the ones to show instead of the call's."""
    # Positional, and no document tuple for a call without contexts: KeepTraces makes one
    # of these per stored LLM call, and keywords and the empty generator cost half of it.
    contexts = call.contexts if with_body else ()
    return TraceSpan(
        call.trace_id,
        call.span_id,
        call.parent_span_id,
        call.span_name,
        kinds.LLM,
        call.timestamp_ns,
        call.timestamp_ns + call.duration_ns,
        call.status_code,
        call.attributes if attributes is None else attributes,
        call.input_text[:MAX_TEXT_CHARS] if with_body else "",
        call.output_text[:MAX_TEXT_CHARS] if with_body else "",
        tuple((c[:MAX_DOCUMENT_CHARS], None) for c in contexts[:MAX_DOCUMENTS]) if contexts else (),
        call.conversation_id,
        call.user_id,
        call.service_name,
        call.status_message,
    )


def without_body(span: TraceSpan) -> TraceSpan:
    """``span`` with its texts and documents left out (its body was not sampled)."""
    if not (span.input_text or span.output_text or span.documents):
        return span
    return TraceSpan(
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.name,
        span.kind,
        span.start_ns,
        span.end_ns,
        span.status,
        span.attributes,
        session_id=span.session_id,
        user_id=span.user_id,
        service_name=span.service_name,
        status_message=span.status_message,
    )


def documents(values: Mapping[str, Any], kind: str) -> tuple[Document, ...]:
    """Retrieved (or reranked) documents with their scores: ``gen_ai.retrieval.documents``
    (JSON) on any span, or on a retrieval span OpenInference's
    ``retrieval.documents.<i>.document.content``/``.score``, on a rerank span its
    ``reranker.output_documents.<i>...`` (in the reranker's order)."""
    raw = values.get(attr.RETRIEVAL_DOCUMENTS)
    if isinstance(raw, str) and raw:
        return _json_documents(raw)
    if kind == kinds.RETRIEVAL:
        return _indexed_documents(values, _DOCUMENT_PREFIXES[0])
    if kind == kinds.RERANK:
        return _indexed_documents(values, _DOCUMENT_PREFIXES[1]) or _indexed_documents(
            values, _DOCUMENT_PREFIXES[2]
        )
    return ()


def _json_documents(raw: str) -> tuple[Document, ...]:
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ((raw[:MAX_DOCUMENT_CHARS], None),)
    if not isinstance(parsed, list):
        return ()
    out: list[Document] = []
    for doc in parsed[:MAX_DOCUMENTS]:
        if isinstance(doc, dict):
            out.append((_text(doc.get("content"))[:MAX_DOCUMENT_CHARS], _score(doc.get("score"))))
        elif isinstance(doc, str):
            out.append((doc[:MAX_DOCUMENT_CHARS], None))
    return tuple(out)


def _indexed_documents(values: Mapping[str, Any], prefix: str) -> tuple[Document, ...]:
    found: dict[int, dict[str, Any]] = {}
    for key, value in values.items():
        if not key.startswith(prefix):
            continue
        index, _, field = key[len(prefix) :].partition(".document.")
        if index.isdigit() and field in ("content", "score"):
            found.setdefault(int(index), {})[field] = value
    ordered = [found[i] for i in sorted(found)][:MAX_DOCUMENTS]
    return tuple(
        (_text(d.get("content"))[:MAX_DOCUMENT_CHARS], _score(d.get("score"))) for d in ordered
    )


def _bounded_attributes(values: Mapping[str, Any]) -> dict[str, str]:
    """Attribute values as text, each and all together bounded; typed keys and document
    keys left out (they have their own columns)."""
    out: dict[str, str] = {}
    budget = MAX_ATTRIBUTE_CHARS
    for key, value in values.items():
        if key in _TYPED or key.startswith(_DOCUMENT_PREFIXES):
            continue
        text = _text(value)[:MAX_VALUE_CHARS]
        budget -= len(key) + len(text)
        if budget < 0:
            break
        out[key] = text
    return out


def _first_text(values: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = values.get(key)
        if value is not None and value != "":
            return _text(value)[:MAX_TEXT_CHARS]
    return ""


def _score(value: Any) -> float | None:
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if math.isfinite(score) else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
