"""The compiled core scores answers claim by claim exactly as ``ClaimGroundedness`` does.

Each check scores the same (answer, contexts) pairs twice: with the core's ``ClaimScorer``
and with the Python code alone (the scorer's core object removed), and compares the floats
by their ``repr`` (NaN where Python gives NaN). Pairs: the faithfulness dev sets built from
Python's own help texts, the benchmark's RAG calls, seeded fuzz texts (non-ASCII, lone
surrogates, very long ones) and edge cases (empty contexts, repeated passages, answers far
beyond the analysed length, passages cut short, a cache of one passage).
"""

from __future__ import annotations

import os
import random

import pytest
from training.faithfulness.dev_sets import build

from tests.detectors.test_native import fuzz_texts, rag_cases
from watchkeeper.detectors import native_core
from watchkeeper.detectors.faithfulness.claims import ClaimGroundedness

SWITCHED_OFF = os.environ.get(native_core.SWITCH, "1").strip() == "0"
pytestmark = pytest.mark.skipif(SWITCHED_OFF, reason="WATCHKEEPER_NATIVE=0: Python alone")

Case = tuple[str, list[str]]


def _compare(cases: list[Case], **settings: int) -> int:
    """Assert both scorers agree on every case; return how many the core scored itself."""
    native, python = ClaimGroundedness(**settings), ClaimGroundedness(**settings)
    python._native = None
    core = native._native
    assert core is not None
    handled = 0
    for answer, contexts in cases:
        here, there = native(answer, contexts), python(answer, contexts)
        assert repr(here) == repr(there), (answer[:200], [c[:200] for c in contexts])
        handled += any(contexts) and core.score(answer, contexts) is not None
    return handled


@pytest.mark.parametrize("style", ["qa", "summary"])
def test_dev_sets_score_the_same(style: str) -> None:
    """Every faithful and unfaithful answer of a dev set (negations, antonyms, numbers,
    names changed or swapped) gets the same float from the core, which scores all of them."""
    _, items = build(style, 100, seed=5, source="pydoc")
    cases = [(item.answer, item.contexts) for item in items]
    assert _compare(cases) == len(cases)


@pytest.mark.parametrize("corpus", ["chatterbot", "production", "fuzz"])
def test_rag_calls_and_fuzz_score_the_same(corpus: str) -> None:
    """The benchmark's RAG calls (all scored by the core) and fuzz texts (most left to
    Python: a character beyond the accepted ones in the answer or a context) score the
    same, with a small cache."""
    cases = rag_cases(corpus)
    handled = _compare(cases, cache_size=64)
    with_contexts = sum(1 for _, contexts in cases if any(contexts))
    assert handled == with_contexts if corpus == "production" else handled > 0


def _edge_cases() -> list[Case]:
    rng = random.Random(11)
    texts = fuzz_texts(300, seed=13)
    article = (
        "Ada Lovelace met Charles Babbage in 1833. The engine could not compute 1,200 sums "
        "before noon. Babbage didn\u2019t finish it. Refunds are accepted within 30 days. "
    )
    answers = [
        "",
        "Hope this helps!",
        "Babbage met Ada Lovelace in 1833.",
        "Ada Lovelace never met Charles Babbage in 1834. The engine could compute sums after noon.",
        "Babbage did finish it. Refunds aren't accepted within 1200 days.",
        article * 60,  # beyond the analysed characters
        "x" * 10_000 + ". Bob met Ada.",
    ]
    cases: list[Case] = []
    for answer in answers:
        for contexts in ([], [""], [article], [article, article], ["", article, "Bob met Ada."]):
            cases.append((answer, list(contexts)))
    cases.append((article, [article * 400]))  # passages analysed chunk by chunk
    # Synonyms of the window's words, names of several words, asides in parentheses.
    asides = (
        "A new file is created (not copied) by PyModule_ExecDef. Values (not (the keys)) "
        "are kept; Jean-Paul made it (once. Paul's values are Jean's"
    )
    for answer in (
        "A new file is made by PyModule_ExecDef.",
        "A fresh file is produced, not copied, by pymodule execdef.",
        "Values are not kept; Jean-Paul created it.",
        "Values are held. Jean Paul made it once.",
        "Jean-Paul's values are kept by Jean.",
        "Paul.",
    ):
        cases.append((answer, [asides]))
    for _ in range(200):
        cases.append((rng.choice(texts), [article[: rng.randrange(200)], rng.choice(texts)]))
    return cases


@pytest.mark.parametrize(("max_context_chars", "cache_size"), [(20_000, 1024), (50, 1), (0, 4)])
def test_edge_cases_score_the_same(max_context_chars: int, cache_size: int) -> None:
    """Empty and repeated contexts, pleasantries only, answers and passages beyond the
    analysed length, passages cut short, a cache that keeps one passage, synonyms, names
    of several words, possessives and asides (nested, unclosed): same floats."""
    assert _compare(_edge_cases(), max_context_chars=max_context_chars, cache_size=cache_size)
