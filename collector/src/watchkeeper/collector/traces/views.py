"""What the trace and session pages and API show: a trace as a tree with its timings,
texts, scores and alarms on their spans; a session as its turns in time order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from watchkeeper.collector.overview.monitor import alarm_id, reason_in_words
from watchkeeper.collector.review.workflow import ItemNotFoundError
from watchkeeper.collector.store.spans import read_session, read_trace, read_trace_alarms
from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import Trace, TraceSpan, assemble

_MS = 1e6


class TraceStore(Protocol):
    """What the views read (``Store``)."""

    def select(self, sql: str, **params: Any) -> list[dict[str, Any]]: ...

    def scores_for_trace(self, trace_id: str) -> list[dict[str, Any]]: ...


class TraceViews:
    """Traces and sessions as JSON-ready dicts, from the ``spans`` table and the calls'
    scores and alarms."""

    def __init__(self, store: TraceStore) -> None:
        self.store = store

    def trace(self, trace_id: str) -> dict[str, Any]:
        """The trace as a tree (``spans``: top-level spans, each with ``children``), with
        ``partial`` when a parent is missing; 404 when no span of it is stored."""
        trace = assemble(read_trace(self.store, trace_id))
        if not trace.spans:
            raise ItemNotFoundError(f"no spans of trace {trace_id} (not sampled, or expired)")
        start = min(s.start_ns for s in trace.spans)
        end = max(s.end_ns for s in trace.spans)
        scores = {
            str(row["SpanId"]): dict(row["Scores"]) for row in self.store.scores_for_trace(trace_id)
        }
        alarms: dict[str, list[dict[str, Any]]] = {}
        for row in read_trace_alarms(self.store, trace_id, start, end):
            alarms.setdefault(str(row["SpanId"]), []).append(_alarm(row))
        return {
            "trace_id": trace_id,
            "partial": trace.partial,
            "missing_parents": sorted(trace.missing_parents),
            "start_ns": start,
            "duration_ms": (end - start) / _MS,
            "session_id": next((s.session_id for s in trace.spans if s.session_id), ""),
            "span_count": len(trace.spans),
            "spans": _tree(trace, start, scores, alarms),
        }

    def session(self, session_id: str) -> dict[str, Any]:
        """The session's turns (one per trace) in time order; 404 when none is stored."""
        spans = read_session(self.store, session_id)
        if not spans:
            raise ItemNotFoundError(f"no traces of session {session_id} (or expired)")
        by_trace: dict[str, list[TraceSpan]] = {}
        for span in spans:
            by_trace.setdefault(span.trace_id, []).append(span)
        turns = sorted(
            (_turn(assemble(group)) for group in by_trace.values()),
            key=lambda t: (t["start_ns"], t["trace_id"]),
        )
        return {"session_id": session_id, "turns": turns}


def _tree(
    trace: Trace,
    start_ns: int,
    scores: Mapping[str, Mapping[str, float]],
    alarms: Mapping[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    top: list[dict[str, Any]] = []
    path: list[dict[str, Any]] = []
    for depth, span in trace.walk():
        node = _span(span, start_ns, depth) | {
            "scores": dict(scores.get(span.span_id, {})),
            "alarms": alarms.get(span.span_id, []),
            "children": [],
        }
        del path[depth:]
        (path[-1]["children"] if path else top).append(node)
        path.append(node)
    return top


def _span(span: TraceSpan, start_ns: int, depth: int) -> dict[str, Any]:
    return {
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": span.kind,
        "service": span.service_name,
        "depth": depth,
        "start_ns": span.start_ns,
        "offset_ms": (span.start_ns - start_ns) / _MS,
        "duration_ms": span.duration_ns / _MS,
        "status": span.status,
        "status_message": span.status_message,
        "input": span.input_text,
        "output": span.output_text,
        "documents": [{"text": text, "score": score} for text, score in span.documents],
        "attributes": dict(span.attributes),
        "session_id": span.session_id,
        "user_id": span.user_id,
    }


def _alarm(row: Mapping[str, Any]) -> dict[str, Any]:
    detector, span_id = str(row["Detector"]), str(row["SpanId"])
    return {
        "id": alarm_id(detector, span_id),
        "detector": detector,
        "reason": reason_in_words(str(row["Message"]), str(row["DetectorKey"])),
        "score": float(row["Score"]),
    }


def _turn(trace: Trace) -> dict[str, Any]:
    """One turn: the question (the first LLM call's input, else the root's), the answer
    (the last LLM call's output, else the root's), whether anything failed."""
    spans = trace.spans
    llm = [s for s in spans if s.kind == kinds.LLM]
    root = trace.root
    question = next((s.input_text for s in llm if s.input_text), "")
    answer = next((s.output_text for s in sorted(llm, key=_end, reverse=True) if s.output_text), "")
    return {
        "trace_id": trace.trace_id,
        "start_ns": min(s.start_ns for s in spans),
        "duration_ms": (max(s.end_ns for s in spans) - min(s.start_ns for s in spans)) / _MS,
        "input": question or (root.input_text if root else ""),
        "output": answer or (root.output_text if root else ""),
        "user_id": next((s.user_id for s in spans if s.user_id), ""),
        "span_count": len(spans),
        "errors": sum(s.is_error for s in spans),
        "kinds": _kind_counts(spans),
        "partial": trace.partial,
    }


def _kind_counts(spans: Sequence[TraceSpan]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for span in spans:
        counts[span.kind] = counts.get(span.kind, 0) + 1
    return counts


def _end(span: TraceSpan) -> int:
    return span.end_ns
