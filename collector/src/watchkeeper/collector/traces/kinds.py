"""A span's kind (llm, tool, agent, retrieval, rerank, embedding, chain, other) from the
OpenTelemetry GenAI conventions or OpenInference's span kinds.

``gen_ai.operation.name`` decides when present (``chat``, ``execute_tool``,
``invoke_agent`` ...); else ``openinference.span.kind``; else an ``@observe``-style
``watchkeeper.span.kind``; a span carrying none of them is ``other`` (an HTTP handler, a
database query from other instrumentation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

LLM: Final = "llm"
TOOL: Final = "tool"
AGENT: Final = "agent"
RETRIEVAL: Final = "retrieval"
RERANK: Final = "rerank"
EMBEDDING: Final = "embedding"
CHAIN: Final = "chain"
OTHER: Final = "other"

#: Every kind, in the order the UI lists them.
KINDS: Final = (LLM, TOOL, AGENT, RETRIEVAL, RERANK, EMBEDDING, CHAIN, OTHER)

#: ``gen_ai.operation.name`` values (GenAI semantic conventions) and their kinds.
_OPERATIONS: Final[Mapping[str, str]] = {
    "chat": LLM,
    "text_completion": LLM,
    "generate_content": LLM,
    "execute_tool": TOOL,
    "invoke_agent": AGENT,
    "create_agent": AGENT,
    "embeddings": EMBEDDING,
    "retrieval": RETRIEVAL,
    "rerank": RERANK,
}
#: ``openinference.span.kind`` values and their kinds.
_OPENINFERENCE: Final[Mapping[str, str]] = {
    "LLM": LLM,
    "TOOL": TOOL,
    "AGENT": AGENT,
    "RETRIEVER": RETRIEVAL,
    "RERANKER": RERANK,
    "EMBEDDING": EMBEDDING,
    "CHAIN": CHAIN,
}
#: Our own key, for spans no convention names (``@observe(kind=...)``).
SPAN_KIND_KEY: Final = "watchkeeper.span.kind"


def span_kind(attributes: Mapping[str, object]) -> str:
    """The kind of a span with these attributes.

    >>> span_kind({"gen_ai.operation.name": "execute_tool"})
    'tool'
    >>> span_kind({"openinference.span.kind": "RERANKER"})
    'rerank'
    >>> span_kind({"http.method": "GET"})
    'other'
    """
    operation = attributes.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation in _OPERATIONS:
        return _OPERATIONS[operation]
    kind = attributes.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in _OPENINFERENCE:
        return _OPENINFERENCE[kind.upper()]
    own = attributes.get(SPAN_KIND_KEY)
    if isinstance(own, str) and own in KINDS:
        return own
    if isinstance(operation, str) or any(
        isinstance(key, str) and key.startswith("gen_ai.") for key in attributes
    ):
        # An operation the conventions may add later, or a GenAI span without one:
        # the normaliser takes these for LLM calls too.
        return LLM
    return OTHER
