"""Context passages cut into sentences and indexed by word, to align claims to their source."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Sequence
from itertools import chain, pairwise

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
    """One context sentence: its words at once, the rest when a claim is aligned to it."""

    __slots__ = ("_entities", "_tokens", "order", "text", "words")

    def __init__(self, text: str, tokens: tuple[str, ...], words: tuple[str, ...]) -> None:
        self.text = text
        #: The tokens in their order (for the order of names).
        self.order = tokens
        self.words = frozenset(words)
        self._tokens: frozenset[str] | None = None
        self._entities: frozenset[str] | None = None

    @property
    def tokens(self) -> frozenset[str]:
        """Every token, stopwords included (negations and antonyms are among them)."""
        if self._tokens is None:
            self._tokens = frozenset(self.order)
        return self._tokens

    @property
    def numbers(self) -> frozenset[str]:
        """The numbers it states."""
        return numbers_of(self.order)

    @property
    def negations(self) -> int:
        """How many negating tokens it holds."""
        return negation_count(self.order)

    @property
    def entities(self) -> frozenset[str]:
        """Capitalised names it mentions (lower-cased)."""
        if self._entities is None:
            self._entities = find_entities(self.text)
        return self._entities


class PassageIndex:
    """One passage's sentences, its words and word pairs, and where each word is.

    >>> index = PassageIndex("Refunds take 30 days. Shipping is free in Europe.")
    >>> [len(s.words) for s in index.sentences], index.where["shipping"]
    ([3, 3], [1])
    """

    __slots__ = ("_entities", "_numbers", "bigrams", "sentences", "text", "where", "words")

    def __init__(self, text: str) -> None:
        self.text = text
        self.sentences: list[SourceSentence] = []
        self.words: set[str] = set()
        self.bigrams: set[tuple[str, str]] = set()
        #: content word -> the sentences that hold it, in order.
        self.where: dict[str, list[int]] = {}
        self._numbers: frozenset[str] | None = None
        self._entities: frozenset[str] | None = None
        for start in range(0, len(text), MAX_CHARS):
            self._add(sentences(text[start : start + MAX_CHARS]))

    def _add(self, texts: list[str]) -> None:
        pieces = tokenize_pieces(texts)
        where = self.where
        for text, tokens, words in zip(texts, pieces, content_words_of_pieces(pieces), strict=True):
            at = len(self.sentences)
            sentence = SourceSentence(text, tokens, words)
            self.sentences.append(sentence)
            self.bigrams.update(pairwise(words))
            for word in sentence.words:
                found = where.get(word)
                if found is None:
                    where[word] = [at]
                else:
                    found.append(at)
        self.words.update(where)

    @property
    def numbers(self) -> frozenset[str]:
        """Every number the passage states."""
        if self._numbers is None:
            self._numbers = numbers_of(tuple(chain.from_iterable(s.order for s in self.sentences)))
        return self._numbers

    @property
    def entities(self) -> frozenset[str]:
        """Every capitalised name the passage mentions."""
        if self._entities is None:
            self._entities = frozenset().union(*(s.entities for s in self.sentences))
        return self._entities


class SourceIndex:
    """The passages of one call: their words and pairs together, and the best-aligned
    sentence for a claim.

    >>> index = SourceIndex([PassageIndex("Refunds take 30 days."), PassageIndex("Ship free.")])
    >>> index.align(("ship", "free"))[0].text
    'Ship free.'
    """

    __slots__ = ("bigrams", "passages", "words")

    def __init__(self, passages: Sequence[PassageIndex]) -> None:
        self.passages = passages
        if len(passages) == 1:
            self.words: set[str] = passages[0].words
            self.bigrams: set[tuple[str, str]] = passages[0].bigrams
        else:
            self.words = set().union(*(p.words for p in passages))
            self.bigrams = set().union(*(p.bigrams for p in passages))

    def align(self, words: Sequence[str]) -> tuple[SourceSentence, frozenset[str]] | None:
        """The sentence holding most of ``words`` (the first on ties) and the words of it
        and its neighbours; None when no sentence holds any."""
        best: tuple[int, int, int] | None = None  # (count, -passage, -sentence)
        distinct = set(words)
        for p, passage in enumerate(self.passages):
            where = passage.where
            counts = Counter(
                chain.from_iterable(map(where.__getitem__, distinct.intersection(where)))
            )
            if not counts:
                continue
            top = max(counts.values())
            key = (top, -p, -min(at for at, count in counts.items() if count == top))
            if best is None or key > best:
                best = key
        if best is None:
            return None
        passage = self.passages[-best[1]]
        at = -best[2]
        around = passage.sentences[max(0, at - 1) : at + 2]
        return passage.sentences[at], frozenset().union(*(s.words for s in around))

    def has_number(self, number: str) -> bool:
        """Whether any passage states ``number``."""
        return any(number in p.numbers for p in self.passages)

    def has_name(self, name: str) -> bool:
        """Whether any passage mentions ``name`` (as a name or a word)."""
        return name in self.words or any(name in p.entities for p in self.passages)


class SourceCache:
    """Indexes of recently seen passages, least recently used dropped first: the same
    documents are retrieved again and again, in varying company."""

    def __init__(self, max_context_chars: int, size: int) -> None:
        self.max_context_chars = max_context_chars
        self.size = size
        self._cache: OrderedDict[str, PassageIndex] = OrderedDict()

    def get(self, contexts: Sequence[str]) -> SourceIndex:
        """The index of these passages (each cut at ``max_context_chars``)."""
        return SourceIndex([self._passage(c[: self.max_context_chars]) for c in contexts if c])

    def _passage(self, text: str) -> PassageIndex:
        cache = self._cache
        found = cache.get(text)
        if found is not None:
            cache.move_to_end(text)
            return found
        found = cache[text] = PassageIndex(text)
        if len(cache) > self.size:
            cache.popitem(last=False)
        return found
