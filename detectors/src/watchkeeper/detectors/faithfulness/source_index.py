"""Context passages cut into sentences and indexed by word, to align claims to their source."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Sequence
from itertools import chain, count, pairwise

from watchkeeper.detectors.faithfulness.contradiction import negation_count
from watchkeeper.detectors.faithfulness.groundedness import sentences
from watchkeeper.detectors.text.tokens import (
    MAX_CHARS,
    content_words_of_pieces,
    find_entities,
    numbers_of,
    tokenize_pieces,
)

#: Sentences are numbered ``serial << SENTENCE_BITS | place`` in the word index, so the
#: sentences of all passages of a call are counted together.
SENTENCE_BITS = 32
SENTENCE_MASK = (1 << SENTENCE_BITS) - 1
_SERIALS = count()


class SourceSentence:
    """One context sentence a claim is aligned to: its tokens in order, the rest when read."""

    __slots__ = ("_tokens", "order", "text")

    def __init__(self, text: str, tokens: tuple[str, ...]) -> None:
        self.text = text
        #: The tokens in their order (for the order of names).
        self.order = tokens
        self._tokens: frozenset[str] | None = None

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


class PassageIndex:
    """One passage's sentences, its words and word pairs, and where each word is.

    Sentences are kept as their text, tokens and content words; the facts a claim checks
    are read only from the sentence it is aligned to.

    >>> index = PassageIndex("Refunds take 30 days. Shipping is free in Europe.")
    >>> [len(set(words)) for words in index.sentence_words]
    [3, 3]
    >>> [at & SENTENCE_MASK for at in index.where["shipping"]]
    [1]
    """

    __slots__ = (
        "_entities",
        "_numbers",
        "bigrams",
        "sentence_tokens",
        "sentence_words",
        "serial",
        "texts",
        "where",
        "words",
    )

    def __init__(self, text: str) -> None:
        self.texts: list[str] = []
        self.sentence_tokens: list[tuple[str, ...]] = []
        #: Content words of each sentence, in order.
        self.sentence_words: list[tuple[str, ...]] = []
        self.words: set[str] = set()
        self.bigrams: set[tuple[str, str]] = set()
        #: Number of this index, unique in the process (tags its sentences).
        self.serial = next(_SERIALS)
        #: content word -> the sentences that hold it (``serial << SENTENCE_BITS | place``),
        #: in order.
        self.where: dict[str, list[int]] = {}
        self._numbers: frozenset[str] | None = None
        self._entities: frozenset[str] | None = None
        for start in range(0, len(text), MAX_CHARS):
            self._add(sentences(text[start : start + MAX_CHARS]))

    def _add(self, texts: list[str]) -> None:
        pieces = tokenize_pieces(texts)
        found_words = content_words_of_pieces(pieces)
        where = self.where
        bigrams = self.bigrams
        tag = self.serial << SENTENCE_BITS
        for at, words in enumerate(found_words, start=tag + len(self.texts)):
            bigrams.update(pairwise(words))
            for word in words:
                found = where.get(word)
                if found is None:
                    where[word] = [at]
                elif found[-1] != at:  # sentences come in order: a repeat is at the end
                    found.append(at)
        self.texts += texts
        self.sentence_tokens += pieces
        self.sentence_words += found_words
        self.words.update(where)

    def sentence(self, at: int) -> SourceSentence:
        """Sentence ``at``, to check a claim against."""
        return SourceSentence(self.texts[at], self.sentence_tokens[at])

    def numbers_at(self, at: int) -> frozenset[str]:
        """The numbers of sentence ``at``."""
        return numbers_of(self.sentence_tokens[at])

    def window(self, at: int) -> frozenset[str]:
        """The content words of sentence ``at`` and its neighbours."""
        return frozenset(chain.from_iterable(self.sentence_words[max(0, at - 1) : at + 2]))

    @property
    def numbers(self) -> frozenset[str]:
        """Every number the passage states."""
        if self._numbers is None:
            self._numbers = numbers_of(tuple(chain.from_iterable(self.sentence_tokens)))
        return self._numbers

    @property
    def entities(self) -> frozenset[str]:
        """Every capitalised name the passage mentions."""
        if self._entities is None:
            self._entities = frozenset().union(*map(find_entities, self.texts))
        return self._entities


class SourceIndex:
    """The passages of one call: their words and pairs together, and the best-aligned
    sentence for a claim.

    >>> index = SourceIndex([PassageIndex("Refunds take 30 days."), PassageIndex("Ship free.")])
    >>> index.align(("ship", "free"))[0].text
    'Ship free.'
    """

    __slots__ = ("_by_serial", "_rank", "_wheres", "bigrams", "passages", "words")

    def __init__(self, passages: Sequence[PassageIndex]) -> None:
        self.passages = passages
        if len(passages) == 1:
            self.words: set[str] = passages[0].words
            self.bigrams: set[tuple[str, str]] = passages[0].bigrams
        else:
            self.words = set().union(*(p.words for p in passages))
            self.bigrams = set().union(*(p.bigrams for p in passages))
        # A passage given twice counts once: on ties the first of equal sentences wins.
        self._by_serial = {p.serial: p for p in reversed(passages)}
        self._wheres = [p.where for p in self._by_serial.values()]
        #: serial -> the place of the passage among the contexts (the first, if repeated).
        self._rank = {p.serial: i for i, p in reversed(list(enumerate(passages)))}

    def align(self, words: Sequence[str]) -> tuple[SourceSentence, frozenset[str]] | None:
        """The sentence holding most of ``words`` (the first on ties) and the words of it
        and its neighbours; None when no sentence holds any."""
        distinct = set(words)
        counts = Counter(
            chain.from_iterable(
                chain.from_iterable(map(where.__getitem__, distinct.intersection(where)))
                for where in self._wheres
            )
        )
        if not counts:
            return None
        top = max(counts.values())
        rank = self._rank
        best = min(
            (key for key, count in counts.items() if count == top),
            key=lambda key: (rank[key >> SENTENCE_BITS], key),
        )
        passage = self._by_serial[best >> SENTENCE_BITS]
        at = best & SENTENCE_MASK
        return passage.sentence(at), passage.window(at)

    def sentence_counts(self, words: Sequence[str]) -> Counter[int]:
        """How many of ``words`` each sentence holds, by sentence key (``serial <<
        SENTENCE_BITS | place``); sentences holding none are absent."""
        distinct = set(words)
        return Counter(
            chain.from_iterable(
                chain.from_iterable(map(where.__getitem__, distinct.intersection(where)))
                for where in self._wheres
            )
        )

    def places_of(self, word: str) -> list[int]:
        """The keys of the sentences holding content word ``word``."""
        return [at for where in self._wheres for at in where.get(word, ())]

    def places_of_number(self, number: str) -> list[int]:
        """The keys of the sentences stating ``number``."""
        return [
            p.serial << SENTENCE_BITS | at
            for p in self._by_serial.values()
            if number in p.numbers
            for at in range(len(p.texts))
            if number in p.numbers_at(at)
        ]

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
