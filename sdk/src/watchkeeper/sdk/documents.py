"""Retrieved documents (RAG) as ``gen_ai.retrieval.documents`` JSON.

The collector reads ``[{"id": ..., "score": ..., "content": ...}]`` (``id`` and
``score`` optional) into the call's contexts. Documents come in many shapes; the
common ones are read here, on the export thread.

>>> documents_json(["Paris is in France.", {"id": "d2", "score": 0.5, "text": "Lyon too."},
...                 ({"page_content": "Nice.", "metadata": {"id": "d3"}}, 0.25)], Budget(100))
'[{"content":"Paris is in France."},{"id":"d2","score":0.5,"content":"Lyon too."},\
{"id":"d3","score":0.25,"content":"Nice."}]'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from watchkeeper.sdk.messages import Budget, bounded_repr, dumps, field

_CONTENT_FIELDS: Final = ("content", "text", "page_content", "document", "chunk")
_ID_FIELDS: Final = ("id", "doc_id", "document_id", "node_id", "id_")


def _first(item: object, names: Iterable[str]) -> Any:
    for name in names:
        value = field(item, name)
        if value is not None:
            return value
    return None


def _document(item: object, score: object, budget: Budget, with_content: bool) -> dict[str, Any]:
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], int | float):
        item, score = item  # (document, score), e.g. LangChain's *_with_score
    node = field(item, "node")
    if node is not None and not isinstance(item, Mapping):  # LlamaIndex NodeWithScore
        score = field(item, "score", score)
        item = node
    doc_id = _first(item, _ID_FIELDS) if not isinstance(item, str) else None
    if doc_id is None and not isinstance(item, str):
        metadata = field(item, "metadata")
        if isinstance(metadata, Mapping):
            doc_id = _first(metadata, ("id", "doc_id", "source"))
    if score is None and not isinstance(item, str):
        score = field(item, "score")
    out: dict[str, Any] = {}
    if doc_id is not None:
        out["id"] = str(doc_id)
    if isinstance(score, int | float) and not isinstance(score, bool):
        out["score"] = float(score)
    if with_content:
        content = item if isinstance(item, str) else _first(item, _CONTENT_FIELDS)
        get_content = getattr(item, "get_content", None)
        if content is None and callable(get_content):
            content = get_content()
        out["content"] = budget.take(content if isinstance(content, str) else bounded_repr(item))
    return out


def documents_json(documents: Iterable[object], budget: Budget, with_content: bool = True) -> str:
    """The documents as JSON; ``with_content=False`` keeps only ids and scores."""
    return dumps([_document(item, None, budget, with_content) for item in documents])
