"""``TextAnalyser.analyse_many`` and ``tokens.prefetch_texts`` change nothing but speed.

``analyse_many`` analyses a list of texts at once, with the GIL released for most of the
work; ``prefetch_texts`` fills the text memo from it before the detectors go through a run
of calls. Both must give exactly what analysing each
text when first asked gives.
"""

from __future__ import annotations

from itertools import cycle, islice
from typing import Any

import pytest

from tests.detectors import native_parity
from tests.detectors.test_native import CORPORA, facts, facts_words_first, needs_core, python_only
from watchkeeper.detectors import default_detectors
from watchkeeper.detectors.text import tokens
from watchkeeper.detectors.text.tokens import MAX_CHARS, forget_texts, prefetch_texts

#: List sizes around the threshold of ``analyse_many`` (GIL released from 8 texts) and beyond.
SIZES = (0, 1, 7, 8, 31, 32, 1000)


@needs_core
@pytest.mark.parametrize("with_words", [True, False])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_analyse_many_equals_analyse_one_by_one(corpus: str, size: int, with_words: bool) -> None:
    """The same analyses, in order, Nones (texts left to Python) included."""
    analyser = tokens._ANALYSER
    assert analyser is not None
    texts = CORPORA[corpus]()
    if corpus == "fuzz" and size == 1000:  # the lone surrogates are further on
        texts = texts[::3]
    heads = [text[:MAX_CHARS] for text in islice(cycle(texts), size)]
    expected = [analyser.analyse(head, with_words) for head in heads]
    assert analyser.analyse_many(heads, with_words) == expected
    if size == 1000 and corpus != "production":  # not vacuous: declined texts are there
        assert None in expected
        if corpus == "fuzz":
            assert any("\ud800" <= c <= "\udfff" for h in heads for c in h)


def _facts_prefetched(texts: list[str], compute: Any) -> list[object]:
    """``compute`` of each text, the memo filled by ``prefetch_texts`` in runs of 512."""
    out = []
    for start in range(0, len(texts), 512):
        run = texts[start : start + 512]
        forget_texts()
        prefetch_texts(run)
        out += [compute(text) for text in run]
    forget_texts()
    return out


@needs_core
@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_prefetched_facts_equal_the_python_code(corpus: str) -> None:
    """Every fact read through a prefetched memo is what the Python code finds."""
    texts = CORPORA[corpus]()
    for compute in (facts, facts_words_first):
        prefetched = _facts_prefetched(texts, compute)
        with python_only():
            python = _facts_prefetched(texts, compute)
        assert [t for t, n, p in zip(texts, prefetched, python, strict=True) if n != p] == []


def _run_detectors(prefetch: bool) -> list[object]:
    """Scores and alarms of the default detectors going through runs of 256 calls, as the
    collector's detector stage does (with or without ``prefetch_texts``)."""
    detectors = default_detectors()
    calls = native_parity.stream(2000)
    seen: list[object] = []
    for start in range(0, len(calls), 256):
        run = calls[start : start + 256]
        forget_texts()
        if prefetch:
            prefetch_texts([t for call in run for t in (call.input_text, call.output_text)])
        for detector in detectors:
            found = detector.update_many(run)
            scores = {name: list(map(repr, column)) for name, column in found.scores.items()}
            seen.append((detector.name, scores, list(found.alarms)))
    forget_texts()
    return seen


def test_detectors_report_the_same_with_prefetched_texts() -> None:
    """Every score and alarm of the default detectors is the same with the memo prefetched
    (with the core or without: then prefetching does nothing)."""
    assert _run_detectors(prefetch=True) == _run_detectors(prefetch=False)
