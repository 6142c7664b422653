"""How much of an answer the retrieved contexts support: the scorer interface and a lexical one."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from itertools import chain, pairwise
from typing import Protocol

from watchkeeper.detectors import native_core
from watchkeeper.detectors.text.lexicon import STOPWORDS
from watchkeeper.detectors.text.tokens import (
    MAX_CHARS,
    content_words_of,
    content_words_of_pieces,
    entities,
    may_hold_numbers,
    numbers_of,
    tokenize,
    tokenize_pieces,
)

#: Where sentences end: whitespace after a sentence mark, and line breaks.
SENTENCE_END = re.compile(r"(?<=[.!?\u3002])\s+|\n+")
# The same cuts by patterns that open with a fixed character, which the regex engine
# finds fast; SENTENCE_END's look-behind is tried at every position.
_MARKS = ("!", "?", "\u3002")
_AFTER_MARK = re.compile(r"\.\s+")
_LINE_BREAKS = re.compile(r"\n\n*")


def sentences(text: str) -> list[str]:
    r"""``SENTENCE_END.split(text)``, found faster.

    >>> sentences("It works. Really?  Yes!\nSure\n\nok")
    ['It works.', 'Really?', 'Yes!', 'Sure', 'ok']
    """
    marked = text
    for mark in _MARKS:  # one character for one: positions hold
        marked = marked.replace(mark, ".")
    cuts = [(m.start() + 1, m.end()) for m in _AFTER_MARK.finditer(marked)]
    if "\n" in text:
        # A line break in the whitespace after a mark is part of that cut; others cut.
        breaks = [
            (m.start(), m.end())
            for m in _LINE_BREAKS.finditer(text)
            if not any(a <= m.start() < b for a, b in cuts)
        ]
        cuts = sorted(cuts + breaks)
    pieces = []
    start = 0
    for a, b in cuts:
        pieces.append(text[start:a])
        start = b
    pieces.append(text[start:])
    return pieces


class GroundednessScorer(Protocol):
    """Anything that scores an answer against its contexts, 1.0 meaning fully supported.

    Plug a stronger local scorer (an NLI cross-encoder, a small judge model) into
    :class:`~watchkeeper.detectors.faithfulness.faithfulness_drift.FaithfulnessDrift`
    through this interface; return NaN when the answer has nothing to check. It must be
    picklable (a module-level class or function) so detector state can be saved.
    """

    def __call__(self, answer: str, contexts: Sequence[str]) -> float:
        """Support of ``answer`` by ``contexts``, in [0, 1]."""


class _Evidence:
    """What context passages contain, in the forms an answer is checked against."""

    __slots__ = ("bigrams", "numbers", "words")

    def __init__(self, text: str) -> None:
        self.words: set[str] = set()
        self.bigrams: set[tuple[str, str]] = set()
        self.numbers: set[str] = set()
        # The tokenizer reads MAX_CHARS at a time; passages can be longer than a prompt.
        for start in range(0, len(text), MAX_CHARS):
            tokens = tokenize(text[start : start + MAX_CHARS])
            found = content_words_of(tokens)
            self.words.update(found)
            self.bigrams.update(pairwise(found))
            self.numbers |= numbers_of(tokens)


class LexicalGroundedness:
    """Sentence-level lexical support: unsupported words, word pairs, numbers and names.

    For each sentence of the answer: the share of its content words found in the contexts
    and the share of its adjacent content-word pairs found there (averaged), halved when it
    states a number the contexts do not contain, and cut by a quarter when it names a
    capitalised entity they never mention. The answer's score is the mean over sentences
    weighted by their content words; NaN when it has none. A proxy for entailment, not
    entailment: it misses contradictions phrased with the context's own words, and catches
    made-up facts, numbers and names, which is what drifts when retrieval or a model breaks.

    Passage analyses are cached (``cache_size`` passages, each cut at
    ``max_context_chars``), because the same documents are retrieved again and again; the
    cache is shared by the per-key clones of a detector, which share their scorer.

    >>> score = LexicalGroundedness()
    >>> contexts = ["Refunds are accepted within 30 days of purchase with a receipt."]
    >>> score("Refunds are accepted within 30 days.", contexts)
    1.0
    >>> score("Refunds are accepted within 90 days.", contexts)
    0.5
    >>> round(score("Our CEO Maria founded the company in Lisbon.", contexts), 2)
    0.0
    """

    def __init__(self, max_context_chars: int = 20_000, cache_size: int = 1024) -> None:
        self.max_context_chars = max_context_chars
        self.cache_size = cache_size
        self._cache: OrderedDict[str, _Evidence] = OrderedDict()
        self._merged: dict[tuple[str, ...], _Evidence] = {}
        #: The same scoring in the compiled core (see ``native_core``), or None.
        self._native = native_core.groundedness(STOPWORDS, max_context_chars, cache_size)

    def __call__(self, answer: str, contexts: Sequence[str]) -> float:
        """Support of ``answer`` by ``contexts`` in [0, 1]; NaN without content words."""
        if self._native is not None:
            scored = self._native.score(answer[:MAX_CHARS], contexts)
            if scored is not None:
                return scored
        evidence = self._all_evidence(contexts)
        if evidence is None:
            return float("nan")
        words, bigrams, known = evidence.words, evidence.bigrams, evidence.numbers
        unsupported_names = {e for e in entities(answer) if e not in words}
        head = answer[:MAX_CHARS]
        sentence_tokens = tokenize_pieces(sentences(head))
        sentence_words = content_words_of_pieces(sentence_tokens)
        # Look every content word and pair up at once; each sentence sums its own slices
        # (the pairs that straddle two sentences are never read).
        flat = tuple(chain.from_iterable(sentence_words))
        found_at = list(map(words.__contains__, flat))
        paired_at = list(map(bigrams.__contains__, pairwise(flat)))
        check_numbers = may_hold_numbers(head)
        total_weight = 0
        total = 0.0
        start = 0
        for tokens, found in zip(sentence_tokens, sentence_words, strict=True):
            n = len(found)
            if not n:
                continue
            end = start + n
            supported = sum(found_at[start:end]) / n
            if n > 1:
                paired = sum(paired_at[start : end - 1])
                supported = (supported + paired / (n - 1)) / 2.0
            if check_numbers and any(x not in known for x in numbers_of(tokens)):
                supported *= 0.5
            if unsupported_names and not unsupported_names.isdisjoint(tokens):
                supported *= 0.75
            total += supported * n
            total_weight += n
            start = end
        return total / total_weight if total_weight else float("nan")

    def _all_evidence(self, contexts: Sequence[str]) -> _Evidence | None:
        passages = [self._evidence(c) for c in contexts if c]
        if len(passages) <= 1:
            return passages[0] if passages else None
        # Unions are cached per passage list too: the same retrievals come back.
        key = tuple(contexts)
        merged = self._merged.get(key)
        if merged is None:
            merged = _Evidence("")
            for p in passages:
                merged.words |= p.words
                merged.bigrams |= p.bigrams
                merged.numbers |= p.numbers
            if len(self._merged) >= self.cache_size:
                self._merged.clear()
            self._merged[key] = merged
        return merged

    def _evidence(self, passage: str) -> _Evidence:
        passage = passage[: self.max_context_chars]
        cached = self._cache.get(passage)
        if cached is not None:
            self._cache.move_to_end(passage)
            return cached
        evidence = _Evidence(passage)
        self._cache[passage] = evidence
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return evidence

    def __getstate__(self) -> dict[str, object]:
        # The caches are a speed-up, not state: keep checkpoints small.
        return {"max_context_chars": self.max_context_chars, "cache_size": self.cache_size}

    def __setstate__(self, state: dict[str, int]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"LexicalGroundedness(max_context_chars={self.max_context_chars})"
