"""RAG component signals of single traces: retrieval, reranking and use of the context
each show their own fault; clean traces sit where they should."""

from __future__ import annotations

import random
import statistics

from tests.traces.signals.planted import agent_trace
from watchkeeper.collector.traces.signals.rag import rag_signals


def _many(fault: str | None, n: int = 120, seed: int = 4) -> list[dict[str, float]]:
    rng = random.Random(seed)
    return [rag_signals(agent_trace(rng, fault)) for _ in range(n)]


def test_clean_retrieval_reranking_and_use() -> None:
    """Clean traces retrieve something, the reranker mostly follows relevance, and the
    answer draws on the passage it came from."""
    clean = _many(None)
    assert all(found["retrieval_empty"] == 0.0 for found in clean)
    assert all(0.72 <= found["retrieval_top_score"] <= 0.93 for found in clean)
    assert statistics.fmean(found["rerank_disagreement"] for found in clean) < 0.25
    assert all(found["context_utilisation"] >= 1 / 3 for found in clean)


def test_an_empty_retrieval() -> None:
    """A retriever returning nothing: the event, and no score, relevance or use to read."""
    for found in _many("empty_retrieval", n=10):
        assert found == {"retrieval_empty": 1.0}


def test_a_reranker_that_reverses_the_order() -> None:
    """Most relevant last: disagreement 1 where relevance tells the passages apart."""
    reversed_ = [found["rerank_disagreement"] for found in _many("reversed_rerank")]
    assert statistics.fmean(reversed_) > 0.75
    assert statistics.median(reversed_) == 1.0


def test_an_answer_that_ignores_the_context() -> None:
    """An answer drawing on no passage: utilisation 0, while retrieval looks as usual."""
    ignored = _many("ignored_context")
    assert {found["context_utilisation"] for found in ignored} == {0.0}
    clean_relevance = statistics.fmean(f["context_relevance"] for f in _many(None))
    ignored_relevance = statistics.fmean(f["context_relevance"] for f in ignored)
    assert abs(clean_relevance - ignored_relevance) < 0.05


def test_context_relevance_falls_when_the_retriever_brings_the_wrong_passages() -> None:
    """Passages of other topics only: relevance to the question falls by more than half,
    and so does the use of the context."""
    clean, wrong = _many(None), _many("irrelevant_retrieval")
    for signal in ("context_relevance", "context_utilisation"):
        assert (
            statistics.fmean(f[signal] for f in wrong)
            < statistics.fmean(f[signal] for f in clean) / 2
        )
