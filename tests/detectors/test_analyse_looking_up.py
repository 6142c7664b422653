"""The analysis ahead looks the inputs' content words up in the detectors' word tables in
the same pass (``TextAnalyser.analyse_looking_up``): the same analyses as
``analyse_many`` and the same counts as ``look_up_many``, by text."""

from __future__ import annotations

import importlib

import pytest

from tests.detectors.test_native import production_texts
from tests.detectors.test_prefetch import fields, texts
from watchkeeper.detectors import native_core
from watchkeeper.detectors.text import ahead, tokens
from watchkeeper.detectors.text.lexicon import LANGUAGE_OF, STOPWORDS
from watchkeeper.detectors.text.prefetch import TextPrefetch

needs_core = pytest.mark.skipif(not native_core.AVAILABLE, reason="needs the compiled core")


def tables_of(heads: list[str]) -> list[dict[str, int]]:
    common = sorted({w for head in heads[:100] for w in tokens.content_words(head)})
    return [{w: i % 37 for i, w in enumerate(common[::3])}, {}, {common[0]: 5}]


@needs_core
@pytest.mark.parametrize("max_words", [100_000, 64], ids=["cache-kept", "cache-emptied-midway"])
def test_analyses_and_counts_are_those_of_the_two_passes(max_words: int) -> None:
    """Text by text equal to ``analyse_many`` and to ``look_up_many`` (for the texts
    analysed with their content words; None for the others and those left to Python), in
    lists with and without the GIL released, also when the word cache is emptied midway."""
    make = importlib.import_module("watchkeeper.native").TextAnalyser
    both, apart = (make(STOPWORDS, LANGUAGE_OF, tokens.SKETCH_SIZE, max_words) for _ in "ab")
    inputs, outputs = texts()
    inputs = [*production_texts(150), *inputs]
    outputs = [*production_texts(150), *outputs][: len(inputs)]
    heads = [t[: tokens.MAX_CHARS] for t in [*inputs, *outputs]]
    with_words = [True] * len(inputs) + [False] * len(outputs)
    tables = [native_core.word_table(values) for values in tables_of(heads)]
    for size in (len(heads), 5):
        for start in range(0, len(heads), size):
            part, flags = heads[start : start + size], with_words[start : start + size]
            analyses, counts = both.analyse_looking_up(part, flags, tables)
            assert list(map(fields, analyses)) == list(map(fields, apart.analyse_many(part, flags)))
            looked = apart.look_up_many(part, tables)
            assert counts == [c if w else None for c, w in zip(looked, flags, strict=True)]
    found = both.analyse_looking_up(heads, with_words, tables)[1]
    assert sum(c is not None and c[0][1] > 0 for c in found) > 100
    # And what the Python code counts (the analysers keep the tables' look-ups by word).
    values_of = tables_of(heads)
    for head, got in zip(heads, found, strict=True):
        if got is not None:
            words = tokens.content_words(head)
            assert got == [
                (
                    len(words),
                    sum(w in values for w in words),
                    max((values[w] for w in words if w in values), default=-1),
                )
                for values in values_of
            ]
    with pytest.raises(ValueError, match="2 texts but 1 with_words"):
        both.analyse_looking_up(["a", "b"], [True], tables)


@needs_core
def test_prefetched_counts_are_the_lookups_of_the_inputs() -> None:
    """A run submitted with word tables leaves, under each table's key, the counts
    ``look_up_many`` gives for each input (texts left to Python have none)."""
    inputs, outputs = texts()
    inputs = [*production_texts(150), *inputs]
    outputs = [*production_texts(150), *outputs]
    heads = [t[: tokens.MAX_CHARS] for t in inputs]
    lookups = [ahead.lookup("vocabulary_drift", values) for values in tables_of(heads)]
    assert all(lookup is not None for lookup in lookups)
    held = [lookup for lookup in lookups if lookup is not None]
    analyser = native_core.text_analyser(STOPWORDS, LANGUAGE_OF, tokens.SKETCH_SIZE)
    assert analyser is not None
    want = analyser.look_up_many(heads, [lookup.table for lookup in held])
    prefetch = TextPrefetch([])
    tokens.forget_texts()
    TextPrefetch.take(prefetch.submit(inputs, outputs, held))
    for i, lookup in enumerate(held):
        got = ahead.held(lookup.key)
        assert {t: got[t] for t in inputs if t in got} == {
            t: counts[i] for t, counts in zip(inputs, want, strict=True) if counts is not None
        }
        assert len(got) > 100
    tokens.forget_texts()
    prefetch.close()
