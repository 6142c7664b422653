"""What an evalset record keeps of its whole trace: the trajectory (ordered steps, tool
calls with their arguments and results, errors, documents with scores), the conversation
up to its turn, and per-passage scores of the passages the answer was given.

Read from the ``spans`` table when the record's trace is stored (sampled, not expired);
a record without stored spans keeps what the review item has. Field names follow
DeepEval where it has one: ``tools_called`` (``name``, ``input_parameters``, ``output``)
and ``turns`` (``role``, ``content``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from watchkeeper.collector.store.spans import SpanReader, read_session, read_trace
from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import Trace, TraceSpan, assemble
from watchkeeper.collector.traces.signals import rag, steps
from watchkeeper.collector.traces.signals.relevance import relevances, used


class TracedRecord(Protocol):
    """What :func:`attach_traces` reads and fills of a record (``EvalRecord``)."""

    trace_id: str
    input: str
    output: str
    contexts: list[str]
    trajectory: list[dict[str, Any]]
    tools_called: list[dict[str, Any]]
    turns: list[dict[str, str]]
    passages: list[dict[str, Any]]


def attach_traces(store: SpanReader, records: Sequence[TracedRecord]) -> None:
    """Fill each record's ``trajectory``, ``tools_called``, ``turns`` and ``passages``
    from its stored trace and session."""
    sessions: dict[str, list[Trace]] = {}
    for record in records:
        trace = assemble(read_trace(store, record.trace_id))
        if not trace.spans:
            continue
        if len(trace.spans) > 1:
            record.trajectory = trajectory(trace)
            record.tools_called = tools_called(trace)
        record.passages = passage_scores(trace, record.input, record.output, record.contexts)
        session_id = next((s.session_id for s in trace.spans if s.session_id), "")
        if session_id:
            if session_id not in sessions:
                sessions[session_id] = _session_traces(store, session_id)
            record.turns = turns(sessions[session_id], record.trace_id)


def trajectory(trace: Trace) -> list[dict[str, Any]]:
    """Every span but the top one, in start order, with what it did."""
    top = steps.top(trace)
    return [_step(span) for span in trace.spans if span is not top]


def tools_called(trace: Trace) -> list[dict[str, Any]]:
    """The tool calls in start order: name, arguments (parsed when JSON), result, error."""
    return [
        {
            "name": steps.tool_name(span),
            "input_parameters": _parsed(steps.tool_arguments(span)),
            "output": span.output_text,
            "error": span.status_message or ("error" if span.is_error else ""),
        }
        for span in steps.of_kind(trace, kinds.TOOL)
    ]


def passage_scores(
    trace: Trace, question: str, answer: str, contexts: Sequence[str]
) -> list[dict[str, Any]]:
    """For each passage the answer was given (the record's contexts, else the trace's),
    the retriever's score, its lexical relevance to the question and whether the answer
    draws on it."""
    passages = list(contexts) or rag.given_passages(trace)
    retrieved: dict[str, float | None] = {}
    for span in steps.of_kind(trace, kinds.RETRIEVAL):
        for text, score in span.documents:
            retrieved.setdefault(text, score)
    relevant = relevances(question or steps.question(trace), passages)
    return [
        {
            "text": text,
            "retrieval_score": retrieved.get(text),
            "relevance": relevant.get(text),
            "used": used(answer, text),
        }
        for text in passages
    ]


def turns(session: Sequence[Trace], upto: str) -> list[dict[str, str]]:
    """The conversation up to and including the turn of trace ``upto``, as user and
    assistant messages."""
    out: list[dict[str, str]] = []
    for trace in session:
        question, answer = _exchange(trace)
        out.append({"role": "user", "content": question})
        out.append({"role": "assistant", "content": answer})
        if trace.trace_id == upto:
            break
    return out


def _exchange(trace: Trace) -> tuple[str, str]:
    """A turn's question and answer as the user saw them: the first LLM call's prompt and
    the last one's answer (stored as text, where an agent span may hold raw messages),
    else the trace's question and answer."""
    calls = steps.of_kind(trace, kinds.LLM)
    asked = next((s.input_text for s in calls if s.input_text.strip()), "")
    ended = sorted(calls, key=lambda s: s.end_ns, reverse=True)
    said = next((s.output_text for s in ended if s.output_text.strip() and not s.is_error), "")
    return asked or steps.question(trace), said or steps.answer(trace)


def _session_traces(store: SpanReader, session_id: str) -> list[Trace]:
    by_trace: dict[str, list[TraceSpan]] = {}
    for span in read_session(store, session_id):
        by_trace.setdefault(span.trace_id, []).append(span)
    traces = [assemble(group) for group in by_trace.values()]
    return sorted(traces, key=lambda t: min(s.start_ns for s in t.spans))


def _step(span: TraceSpan) -> dict[str, Any]:
    return {
        "kind": span.kind,
        "name": span.name,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "input": span.input_text,
        "output": span.output_text,
        "error": span.status_message or ("error" if span.is_error else ""),
        "duration_ms": span.duration_ns / 1e6,
        "documents": [{"text": text, "score": score} for text, score in span.documents],
    }


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
