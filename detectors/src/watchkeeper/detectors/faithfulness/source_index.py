"""Context passages cut into sentences and indexed by word, to align claims to their source."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from itertools import pairwise

from watchkeeper.detectors.faithfulness.contradiction import negation_count
from watchkeeper.detectors.faithfulness.groundedness import sentences
from watchkeeper.detectors.text.tokens import (
    MAX_CHARS,
    content_words_of_pieces,
    find_entities,
    numbers_of,
    tokenize_pieces,
)


class SourceSentence:
    """What one context sentence states, in the forms a claim is compared with."""

    __slots__ = ("entities", "negations", "numbers", "order", "tokens", "words")

    def __init__(self, text: str, tokens: tuple[str, ...], words: tuple[str, ...]) -> None:
        #: The tokens in their order, for the order of names.
        self.order = tokens
        self.tokens = frozenset(tokens)
        self.words = frozenset(words)
        self.numbers = numbers_of(tokens)
        self.entities = find_entities(text)
        self.negations = negation_count(tokens)


class SourceIndex:
    """The sentences of some passages, with what they hold together and a word index.

    >>> index = SourceIndex(["Refunds take 30 days. Shipping is free in Europe."])
    >>> [len(s.words) for s in index.sentences], index.candidates(("shipping", "free"))
    ([3, 3], {1: 2})
    """

    __slots__ = ("bigrams", "entities", "numbers", "sentences", "where", "words")

    def __init__(self, passages: Sequence[str]) -> None:
        self.sentences: list[SourceSentence] = []
        self.words: set[str] = set()
        self.bigrams: set[tuple[str, str]] = set()
        self.numbers: set[str] = set()
        self.entities: set[str] = set()
        #: content word -> the sentences that hold it, in order.
        self.where: dict[str, list[int]] = {}
        for passage in passages:
            for start in range(0, len(passage), MAX_CHARS):
                self._add(sentences(passage[start : start + MAX_CHARS]))

    def _add(self, texts: list[str]) -> None:
        pieces = tokenize_pieces(texts)
        for text, tokens, words in zip(texts, pieces, content_words_of_pieces(pieces), strict=True):
            sentence = SourceSentence(text, tokens, words)
            at = len(self.sentences)
            self.sentences.append(sentence)
            self.words |= sentence.words
            self.bigrams.update(pairwise(words))
            self.numbers |= sentence.numbers
            self.entities |= sentence.entities
            where = self.where
            for word in sentence.words:
                found = where.get(word)
                if found is None:
                    where[word] = [at]
                else:
                    found.append(at)

    def candidates(self, words: Sequence[str]) -> dict[int, int]:
        """Sentence -> how many of these (distinct) words it holds, for those holding any."""
        counts: dict[int, int] = {}
        get = counts.get
        for word in self.where.keys() & set(words):
            for at in self.where[word]:
                counts[at] = get(at, 0) + 1
        return counts


class SourceCache:
    """Indexes of recently seen passage lists, least recently used dropped first."""

    def __init__(self, max_context_chars: int, size: int) -> None:
        self.max_context_chars = max_context_chars
        self.size = size
        self._cache: OrderedDict[tuple[str, ...], SourceIndex] = OrderedDict()

    def get(self, contexts: Sequence[str]) -> SourceIndex:
        """The index of these passages (each cut at ``max_context_chars``)."""
        key = tuple(c[: self.max_context_chars] for c in contexts if c)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        found = SourceIndex(key)
        self._cache[key] = found
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return found
