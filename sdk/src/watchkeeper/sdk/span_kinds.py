"""What each ``@observe(kind=...)`` records as: GenAI operation, OpenInference kind, span kind.

A trace of an agent or a RAG pipeline holds more than LLM calls; the collector tells the
steps apart by the OpenTelemetry GenAI operation (``gen_ai.operation.name``) where the
conventions name one, and by OpenInference's ``openinference.span.kind`` for the rest
(reranking and chains have no GenAI operation).

>>> SPAN_KINDS["tool"].operation, SPAN_KINDS["tool"].openinference
('execute_tool', 'TOOL')
>>> SPAN_KINDS["rerank"].operation is None
True
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

from watchkeeper.sdk.span_data import KIND_CLIENT, KIND_INTERNAL

Kind = Literal["llm", "tool", "retrieval", "rerank", "agent", "chain", "embedding"]


class SpanKind(NamedTuple):
    """How one kind of step is recorded."""

    #: ``gen_ai.operation.name``, or None where the conventions have no operation for it.
    operation: str | None
    #: ``openinference.span.kind``.
    openinference: str
    #: OTLP span kind: CLIENT for calls to a model, INTERNAL for the app's own steps.
    span_kind: int
    #: The return value is a list of documents (``gen_ai.retrieval.documents``).
    returns_documents: bool = False


SPAN_KINDS: Final[dict[str, SpanKind]] = {
    "llm": SpanKind("chat", "LLM", KIND_CLIENT),
    "embedding": SpanKind("embeddings", "EMBEDDING", KIND_CLIENT),
    "tool": SpanKind("execute_tool", "TOOL", KIND_INTERNAL),
    "agent": SpanKind("invoke_agent", "AGENT", KIND_INTERNAL),
    "retrieval": SpanKind("retrieval", "RETRIEVER", KIND_INTERNAL, returns_documents=True),
    "rerank": SpanKind(None, "RERANKER", KIND_INTERNAL, returns_documents=True),
    "chain": SpanKind(None, "CHAIN", KIND_INTERNAL),
}


def span_kind(kind: str) -> SpanKind:
    """The recording of ``kind``; a ValueError naming the choices for anything else
    (raised at decoration time, where ``@observe`` turns it into a logged error)."""
    found = SPAN_KINDS.get(kind)
    if found is None:
        choices = ", ".join(repr(k) for k in SPAN_KINDS)
        raise ValueError(f"@observe(kind={kind!r}): kind must be one of {choices}")
    return found
