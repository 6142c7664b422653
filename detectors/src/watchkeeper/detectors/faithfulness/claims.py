"""Faithfulness claim by claim: each answer sentence aligned to its best source sentence."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import cache
from itertools import pairwise

from watchkeeper.detectors import native_core
from watchkeeper.detectors.faithfulness.contradiction import (
    ANTONYMS,
    NEGATIONS,
    negation_count,
    opposed_words,
)
from watchkeeper.detectors.faithfulness.groundedness import sentences
from watchkeeper.detectors.faithfulness.pleasantries import PLEASANTRY_WORDS, states_nothing
from watchkeeper.detectors.faithfulness.question_fit import MAX_ANSWER_CHARS, asked, question_fit
from watchkeeper.detectors.faithfulness.source_index import (
    SourceCache,
    SourceIndex,
    SourceSentence,
)
from watchkeeper.detectors.faithfulness.synonyms import SynonymTable, shipped_groups, shipped_table
from watchkeeper.detectors.text.lexicon import STOPWORDS
from watchkeeper.detectors.text.tokens import (
    MAX_CHARS,
    content_words_of,
    content_words_of_pieces,
    find_entities,
    numbers_of,
    tokenize,
    tokenize_pieces,
)

#: Factor on a claim for each kind of disagreement with its aligned source sentence.
NEGATION_FACTOR = 0.5
ANTONYM_FACTOR = 0.5
NUMBER_ELSEWHERE_FACTOR = 0.7
NUMBER_ABSENT_FACTOR = 0.5
NAME_ELSEWHERE_FACTOR = 0.85
NAME_ABSENT_FACTOR = 0.6
NAMES_SWAPPED_FACTOR = 0.75
#: How far the answer's score is pulled from the mean of its claims towards the worst one.
WORST_CLAIM_WEIGHT = 0.5
#: An aside in parentheses: its negations do not turn the sentence around.
ASIDE = re.compile(r"\([^()]*\)")


@cache
def lexicon() -> native_core.ClaimLexicon:
    """The word lists the compiled core is given to score as this module does (read once)."""
    return native_core.ClaimLexicon(
        STOPWORDS, NEGATIONS, ANTONYMS, PLEASANTRY_WORDS, shipped_groups()
    )


@cache
def shared_native_scorer(max_context_chars: int, cache_size: int) -> native_core.ClaimScorer | None:
    """The core's scorer for these settings, made once per process: handing it the synonym
    groups takes about 0.1 s, which every key's detector would otherwise pay when it
    starts. Scorers share its passage cache; it is thread-safe (a lock in the core)."""
    return native_core.claim_scorer(lexicon(), max_context_chars, cache_size)


class ClaimGroundedness:
    """Support of an answer by its contexts, claim by claim, beyond shared words.

    Each sentence of the answer is a claim. It is aligned to the context sentence that
    shares most of its content words (with that sentence's neighbours as its window), and
    scored by the share of its words and word pairs found in the contexts and of its words
    found in the window (a word the contexts never use counts as its synonym when the
    window holds one: WordNet's groups, :mod:`.synonyms`; a word the contexts use only in
    the possessive counts as that form), then cut for each disagreement
    with the aligned sentence: a negation the source does not have (or drops one it has;
    asides in parentheses left out), a word whose opposite the source uses, a number or a
    name the window does not state, as a word or word by word (more when the contexts
    never state it), names it also holds in another order. The answer's score is the mean
    of its claims weighted by their words, pulled half-way towards its worst claim, so one
    made-up or changed fact lowers it whatever else the answer copies. Sentences whose
    every content word is a pleasantry's ("Hope this helps!") state nothing to check and
    are left out; NaN when nothing is left.

    A proxy for entailment: paraphrases beyond synonyms score lower than copies, and a
    contradiction phrased without a negation, an antonym, a number or a name passes.

    >>> score = ClaimGroundedness()
    >>> contexts = ["Refunds are accepted within 30 days. Shipping to Europe is free."]
    >>> score("Refunds are accepted within 30 days.", contexts)
    1.0
    >>> score("Refunds are not accepted within 30 days.", contexts)
    0.5
    >>> round(score("Shipping to Europe is free. Refunds take 90 days.", contexts), 2)
    0.56
    >>> round(score("Shipping to Asia is free.", contexts), 2)
    0.27
    """

    #: Name and version of the scoring, recorded beside its scores
    #: (``FaithfulnessDrift.scorer_version``): bumped whenever a score can change.
    version = "claims-3"

    def __init__(self, max_context_chars: int = 20_000, cache_size: int = 1024) -> None:
        self.max_context_chars = max_context_chars
        self.cache_size = cache_size
        self._sources = SourceCache(max_context_chars, cache_size)
        #: The same scoring in the compiled core (see ``native_core``), or None.
        self._native = shared_native_scorer(max_context_chars, cache_size)

    def __call__(self, answer: str, contexts: Sequence[str], question: str = "") -> float:
        """Support of ``answer`` by ``contexts`` in [0, 1]; NaN without content words.

        With the ``question`` (the prompt), a one-sentence answer must also come from where the
        question points (see :mod:`~watchkeeper.detectors.faithfulness.question_fit`), and
        one that is a bare number is scored by whether the contexts state it there.
        """
        if not any(contexts):
            return math.nan
        score = self._claims(answer, contexts)
        if question and len(answer) <= MAX_ANSWER_CHARS and len(sentences(answer.strip())) == 1:
            score = self._asked(score, answer, contexts, question)
        return score

    def _claims(self, answer: str, contexts: Sequence[str]) -> float:
        if self._native is not None:
            scored = self._native.score(answer, contexts)
            if scored is not None:
                return scored
        source = self._sources.get(contexts)
        weights: list[int] = []
        scores: list[float] = []
        claims = sentences(answer[:MAX_CHARS])
        pieces = tokenize_pieces(claims)
        for claim, tokens, words in zip(
            claims, pieces, content_words_of_pieces(pieces), strict=True
        ):
            if words and not states_nothing(words):
                weights.append(len(words))
                scores.append(claim_support(claim, tokens, words, source, shipped_table()))
        if not weights:
            return math.nan
        mean = sum(w * s for w, s in zip(weights, scores, strict=True)) / sum(weights)
        return mean - WORST_CLAIM_WEIGHT * (mean - min(scores))

    def _asked(self, score: float, answer: str, contexts: Sequence[str], question: str) -> float:
        source = self._sources.get(contexts)
        if math.isnan(score):
            score = numbers_support(answer, source)
        fit = question_fit(asked(question, contexts), answer, source)
        return score if fit is None else score * fit

    def __getstate__(self) -> dict[str, object]:
        # The cache is a speed-up, not state: keep checkpoints small.
        return {"max_context_chars": self.max_context_chars, "cache_size": self.cache_size}

    def __setstate__(self, state: dict[str, int]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"ClaimGroundedness(max_context_chars={self.max_context_chars})"


def claim_support(
    claim: str,
    tokens: tuple[str, ...],
    words: tuple[str, ...],
    source: SourceIndex,
    synonyms: SynonymTable,
) -> float:
    """One claim's support in [0, 1] (see :class:`ClaimGroundedness`)."""
    words = possessed(words, source)
    aligned_to = source.align(words)
    if aligned_to is None:
        return 0.0
    aligned, window = aligned_to
    words = paraphrased(words, window, source, synonyms)
    n = len(words)
    found = sum(map(source.words.__contains__, words)) / n
    if n > 1:
        found = (found + sum(map(source.bigrams.__contains__, pairwise(words))) / (n - 1)) / 2
    support = (2 * found + sum(map(window.__contains__, words)) / n) / 3
    if negation_count(tokens) % 2 not in negation_parities(
        outside_asides(aligned), window_of(tokens)
    ):
        support *= NEGATION_FACTOR
    support *= ANTONYM_FACTOR ** opposed_words(tokens, aligned.tokens)
    for number in numbers_of(tokens):
        if number not in aligned.numbers:
            in_contexts = source.has_number(number)
            support *= NUMBER_ELSEWHERE_FACTOR if in_contexts else NUMBER_ABSENT_FACTOR
    names = find_entities(claim)
    unstated = [source.has_name(name) for name in names if not stated(name, window)]
    # One factor after the other in a fixed order (not the set's): the float is the same
    # in every process, and in the compiled core.
    for _ in range(sum(unstated)):
        support *= NAME_ELSEWHERE_FACTOR
    for _ in range(len(unstated) - sum(unstated)):
        support *= NAME_ABSENT_FACTOR
    if len(names) > 1 and names_swapped(tokens, aligned.order, names):
        support *= NAMES_SWAPPED_FACTOR
    return support


def possessed(words: tuple[str, ...], source: SourceIndex) -> tuple[str, ...]:
    """The claim's words with each one the contexts use only in the possessive taken as
    that form: "Python" is stated by "Python's"."""
    found = source.words
    if all(map(found.__contains__, words)):
        return words
    return tuple(w if w in found or w + "'s" not in found else w + "'s" for w in words)


def paraphrased(
    words: tuple[str, ...], window: frozenset[str], source: SourceIndex, synonyms: SynonymTable
) -> tuple[str, ...]:
    """The claim's words with each one the contexts never use replaced by a word of the
    same meaning around its aligned sentence, where there is one: "made" stands for
    "created" when the source says "created"."""
    if all(map(source.words.__contains__, words)):
        return words
    return tuple(w if w in source.words else (synonyms.substitute(w, window) or w) for w in words)


def stated(name: str, window: frozenset[str]) -> bool:
    """Whether the window states ``name``: as one word (or its possessive), or every word
    of it ("pymodule_execdef" as "pymodule" and "execdef", "jean-paul" as "jean" and
    "paul").

    >>> stated("pymodule_execdef", frozenset({"pymodule", "execdef", "call"}))
    True
    """
    if name in window or name + "'s" in window:
        return True
    parts = content_words_of(tokenize(name))
    return bool(parts) and all(map(window.__contains__, parts))


def outside_asides(sentence: SourceSentence) -> tuple[str, ...]:
    """The sentence's tokens but those of its asides in parentheses: a claim that leaves
    out "(not the keys!)" does not drop a negation of what it states.

    >>> outside_asides(SourceSentence("Values (not keys) are kept.", ()))
    ('values', 'are', 'kept')
    """
    if "(" not in sentence.text:
        return sentence.order
    return tokenize(ASIDE.sub(" ", sentence.text))


def numbers_support(answer: str, source: SourceIndex) -> float:
    """Support of an answer of numbers only ("1991"): cut for each number the contexts do
    not state; NaN when it holds none."""
    numbers = numbers_of(tokenize(answer))
    if not numbers:
        return math.nan
    return NUMBER_ABSENT_FACTOR ** sum(not source.has_number(n) for n in numbers)


def window_of(tokens: Sequence[str]) -> frozenset[str]:
    """The claim's tokens but stopwords (negations kept), to find the part of the source
    sentence it restates."""
    return frozenset(t for t in tokens if t not in STOPWORDS or t in NEGATIONS or t.endswith("n't"))


def negation_parities(source: Sequence[str], claim: frozenset[str]) -> frozenset[int]:
    """Parities of the negations of the part of the source sentence the claim restates:
    from (just before) the first to the last of the tokens it shares, each word taken at
    its first place, then at its last place. A claim that keeps one clause of a sentence
    is compared with that clause, not with a negation in the clause it left out, even when
    a word of it comes back there ("decrypts files, but cannot create files").

    >>> sorted(negation_parities("it reads files but cannot write files".split(),
    ...                          frozenset({"reads", "files"})))
    [0, 1]
    """
    shared = [i for i, token in enumerate(source) if token in claim]
    if 2 * len(shared) < len(claim):  # it restates little of this sentence: all of it counts
        return frozenset({negation_count(source) % 2})
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i in shared:
        first.setdefault(source[i], i)
        last[source[i]] = i
    return frozenset(
        negation_count(source[max(0, min(at.values()) - 2) : max(at.values()) + 2]) % 2
        for at in (first, last)
    )


def names_swapped(claim: Sequence[str], source: Sequence[str], names: Iterable[str]) -> bool:
    """True when names found in both come in another order in the claim ("who did what
    to whom" exchanged).

    >>> names_swapped("ada met bob".split(), "bob met ada".split(), {"ada", "bob"})
    True
    """
    shared = [n for n in names if n in claim and n in source]
    if len(shared) < 2:
        return False
    in_claim = sorted(shared, key=claim.index)
    in_source = sorted(shared, key=source.index)
    return in_claim != in_source
