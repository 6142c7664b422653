"""Traces assembled from spans in any order, with missing parents and cycles."""

from __future__ import annotations

import random

from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import TraceSpan, assemble


def _span(span_id: str, parent: str, start: int, kind: str = kinds.TOOL) -> TraceSpan:
    return TraceSpan("t1", span_id, parent, f"span {span_id}", kind, start, start + 5, "OK", {})


def _agent_trace() -> list[TraceSpan]:
    return [
        _span("root", "", 0, kinds.AGENT),
        _span("llm1", "root", 1, kinds.LLM),
        _span("tool1", "root", 2),
        _span("ret", "tool1", 3, kinds.RETRIEVAL),
        _span("rr", "tool1", 4, kinds.RERANK),
        _span("llm2", "root", 6, kinds.LLM),
    ]


def test_spans_in_any_order_make_the_same_tree() -> None:
    """Shuffled input gives the same root, children in start order and depth-first walk."""
    expected = [(0, "root"), (1, "llm1"), (1, "tool1"), (2, "ret"), (2, "rr"), (1, "llm2")]
    rng = random.Random(7)
    for _ in range(20):
        spans = _agent_trace()
        rng.shuffle(spans)
        trace = assemble(spans)
        assert trace.root is not None
        assert trace.root.span_id == "root"
        assert not trace.partial
        assert [(d, s.span_id) for d, s in trace.walk()] == expected
        assert [s.span_id for s in trace.children("tool1")] == ["ret", "rr"]


def test_missing_parent_is_partial_and_keeps_the_orphan() -> None:
    """A span whose parent never arrived is shown at the top of a partial trace."""
    spans = [s for s in _agent_trace() if s.span_id != "tool1"]
    trace = assemble(spans)
    assert trace.partial
    assert trace.missing_parents == {"tool1"}
    assert [s.span_id for s in trace.top_level()] == ["root", "ret", "rr"]
    assert {s.span_id for _, s in trace.walk()} == {s.span_id for s in spans}


def test_missing_root_is_partial() -> None:
    """Without the root, the trace has no root and is partial; nothing is lost."""
    trace = assemble([s for s in _agent_trace() if s.span_id != "root"])
    assert trace.root is None
    assert trace.partial
    assert len(list(trace.walk())) == 5


def test_duplicate_span_keeps_the_last_and_cycles_end() -> None:
    """A replayed span appears once; parent ids forming a cycle still walk every span once."""
    newer = TraceSpan("t1", "tool1", "root", "again", kinds.TOOL, 2, 9, "ERROR", {})
    trace = assemble([*_agent_trace(), newer])
    assert len(trace.spans) == 6
    assert next(s for s in trace.spans if s.span_id == "tool1").name == "again"
    cycle = assemble([_span("a", "b", 0), _span("b", "a", 1), _span("c", "c", 2)])
    assert sorted(s.span_id for _, s in cycle.walk()) == ["a", "b", "c"]
    assert cycle.root is None
    assert cycle.partial


def test_empty_trace() -> None:
    """No spans: an empty, partial trace."""
    trace = assemble([])
    assert trace.spans == ()
    assert trace.root is None
    assert trace.partial


def test_kinds_from_both_conventions() -> None:
    """GenAI operation names and OpenInference span kinds map to the same kinds."""
    assert kinds.span_kind({"gen_ai.operation.name": "chat"}) == kinds.LLM
    assert kinds.span_kind({"gen_ai.operation.name": "invoke_agent"}) == kinds.AGENT
    assert kinds.span_kind({"gen_ai.operation.name": "create_agent"}) == kinds.AGENT
    assert kinds.span_kind({"gen_ai.operation.name": "embeddings"}) == kinds.EMBEDDING
    assert kinds.span_kind({"gen_ai.operation.name": "execute_tool"}) == kinds.TOOL
    for oi, kind in [
        ("LLM", kinds.LLM),
        ("TOOL", kinds.TOOL),
        ("RETRIEVER", kinds.RETRIEVAL),
        ("RERANKER", kinds.RERANK),
        ("EMBEDDING", kinds.EMBEDDING),
        ("AGENT", kinds.AGENT),
        ("CHAIN", kinds.CHAIN),
    ]:
        assert kinds.span_kind({"openinference.span.kind": oi}) == kind
    assert kinds.span_kind({"watchkeeper.span.kind": "retrieval"}) == kinds.RETRIEVAL
    assert kinds.span_kind({"gen_ai.request.model": "m"}) == kinds.LLM
    assert kinds.span_kind({"http.route": "/x"}) == kinds.OTHER
