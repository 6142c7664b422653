"""RAG component signals of one assembled trace: retrieval, reranking and the use of the
context, each apart, so "the retriever got worse" and "the generator stopped using the
context" are separate alarms (faithfulness stays with the generation's own detector).

Computed for traces with a retrieval span:

- ``retrieval_empty`` (event): some retrieval returned no documents;
- ``retrieval_top_score``: the best score the retriever gave (when it gives scores);
- ``context_relevance``: the mean relevance of the retrieved passages to the question;
- ``context_utilisation``: the share of the passages given to the generator (the last
  reranker's output, else the retrieved ones) that the answer draws on;
- ``rerank_disagreement``: how far the reranker's order is from the passages' relevance
  to the question (0 follows it, 1 reverses it), for traces with a reranker.

Relevance and use are lexical (:mod:`.relevance`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import Trace, TraceSpan
from watchkeeper.collector.traces.signals import steps
from watchkeeper.collector.traces.signals.relevance import disagreement, relevances, used


def rag_signals(trace: Trace) -> dict[str, float]:
    """The RAG signals of ``trace`` (empty when it retrieved nothing at all)."""
    retrievals = [s for s in steps.of_kind(trace, kinds.RETRIEVAL) if not s.is_error]
    if not retrievals:
        return {}
    asked = steps.question(trace) or retrievals[0].input_text
    passages = [text for span in retrievals for text, _ in span.documents if text.strip()]
    found: dict[str, float] = {
        "retrieval_empty": float(any(not span.documents for span in retrievals)),
    }
    scores = [score for span in retrievals for _, score in span.documents if score is not None]
    if scores:
        found["retrieval_top_score"] = max(scores)
    rerankers = [s for s in steps.of_kind(trace, kinds.RERANK) if not s.is_error]
    reranked = [text for span in rerankers for text in _texts(span)]
    relevant = relevances(asked, [*passages, *reranked])
    retrieved = [r for r in (relevant[p] for p in passages) if r is not None]
    if retrieved:
        found["context_relevance"] = statistics.fmean(retrieved)
    given = _texts(rerankers[-1]) if rerankers else passages
    utilisation = _utilisation(steps.answer(trace), given)
    if utilisation is not None:
        found["context_utilisation"] = utilisation
    disagreements = [d for d in (_disagreement(relevant, s) for s in rerankers) if d is not None]
    if disagreements:
        found["rerank_disagreement"] = statistics.fmean(disagreements)
    return found


def given_passages(trace: Trace) -> list[str]:
    """The passages the model was given: the last reranker's, else every retrieved one."""
    rerankers = [s for s in steps.of_kind(trace, kinds.RERANK) if not s.is_error]
    if rerankers:
        return _texts(rerankers[-1])
    retrievals = [s for s in steps.of_kind(trace, kinds.RETRIEVAL) if not s.is_error]
    return [text for span in retrievals for text in _texts(span)]


def _texts(span: TraceSpan) -> list[str]:
    return [text for text, _ in span.documents if text.strip()]


def _utilisation(answer: str, passages: Sequence[str]) -> float | None:
    """Share of the passages the answer draws on; None without an answer to check."""
    if not passages or not answer.strip():
        return None
    verdicts = [used(answer, passage) for passage in passages]
    if any(verdict is None for verdict in verdicts):
        return None
    return sum(bool(v) for v in verdicts) / len(verdicts)


def _disagreement(relevant: dict[str, float | None], reranker: TraceSpan) -> float | None:
    """The reranker's order against relevance to the question."""
    ordered = [relevant[text] for text in _texts(reranker)]
    known = [r for r in ordered if r is not None]
    if len(known) < len(ordered) or len(known) < 2:
        return None
    return disagreement(known)
