"""Words, content words, numbers and named entities of a text, memoised per text."""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from itertools import chain

from watchkeeper.detectors import native_core
from watchkeeper.detectors.text import ahead
from watchkeeper.detectors.text.lexicon import LANGUAGE_OF, STOPWORDS
from watchkeeper.detectors.text.sketch import sketch
from watchkeeper.detectors.text.token_split import split_ascii_lines, split_tokens

#: Characters of a text that are analysed; the rest only counts towards its length.
MAX_CHARS = 4000

# Han and kana are written without spaces: each character is a token. Other letters form
# words with digits (with an inner apostrophe: "what's", "gpt4o"); "3.5", "1,200" stay whole.
_TOKEN = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
    r"|\d+(?:[.,]\d+)+"
    r"|[^\W_]+(?:['\u2019][^\W_]+)*"
)
_ASCII_TOKEN = re.compile(r"[a-z0-9]+(?:['.,][a-z0-9]+)*")
_DIGIT = re.compile(r"\d")
_NO_NUMBERS: frozenset[str] = frozenset()
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
# A capitalised word that does not start a sentence: "Paris", "ACME", "GPT-4o". The capital
# comes first and the look-behind after it (same matches as ``(?<=[^.!?:\s] )[A-Z]...``), so
# the regex engine can skip to capitals instead of trying the look-behind everywhere.
_ENTITY = re.compile(r"[A-Z](?<=[^.!?:\s] [A-Z])[\w-]*\w")

#: Size of the sketch kept with a text's facts (the size the detectors use); other sizes
#: are computed on demand.
SKETCH_SIZE = 16

#: The compiled core's analyser (see :mod:`~watchkeeper.detectors.native_core`), or None.
_ANALYSER = native_core.text_analyser(STOPWORDS, LANGUAGE_OF, SKETCH_SIZE)


def head(text: str) -> str:
    """The characters of ``text`` that are analysed (its first ``MAX_CHARS``)."""
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS]


class TextFacts:
    """What is known about one text (its first ``MAX_CHARS`` characters).

    Each fact is found by the functions of this module the first time it is asked for.
    Where the compiled core analysed the text (``analysis``), all but its words, names,
    numbers and sketch are known at once; content words too when they were asked for. The
    numbers are read from the analysis when asked for (a set of strings made then: the
    detectors read their hash and the guard, seldom the numbers themselves).
    """

    __slots__ = (
        "analysis",
        "content",
        "digest",
        "entities",
        "guard",
        "language",
        "numbers",
        "numbers_hash",
        "sketch",
        "words",
    )

    def __init__(self, analysis: native_core.TextAnalysis | None = None) -> None:
        #: The core's analysis of the text (None: the Python code finds every fact).
        self.analysis = analysis
        self.words: tuple[str, ...] | None = None
        self.entities: frozenset[str] | None = None
        #: Bottom-``SKETCH_SIZE`` sketch of the content words.
        self.sketch: tuple[int, ...] | None = None
        self.content: tuple[str, ...] | None = None
        self.numbers: frozenset[str] | None = None
        self.numbers_hash: int | None = None
        self.digest: int | None = None
        self.language: str | None = None
        self.guard: int | None = None
        if analysis is not None:
            self.content = analysis.content_words
            self.numbers_hash = analysis.numbers_hash
            self.digest = analysis.words_digest
            self.language = analysis.language
            self.guard = analysis.guard_digest


#: Facts of the texts being read, by text: several detectors read each call's texts.
_FACTS: dict[str, TextFacts] = {}
#: Room for the texts of a run of calls that every detector goes through in turn (see
#: ``forget_texts``); when full, the memo starts over.
_FACTS_SIZE = 4096


def forget_texts() -> None:
    """Empty the memo: call before a run of calls that each detector goes through in turn,
    so that the memo does not start over halfway through the run's texts. Verdicts of
    screens run ahead (:mod:`.ahead`) go with it."""
    _FACTS.clear()
    ahead.forget()


def facts_of(
    texts: Sequence[str], analyses: Sequence[native_core.TextAnalysis | None]
) -> dict[str, TextFacts]:
    """The memo entries of the core's analyses of ``texts`` made ahead of time
    (``analyse_many`` of their heads), as ``text_facts`` would have made them, for
    :func:`remember_facts`: made on the thread that analysed them, where the texts' hashes are
    found too, so that the thread reading the memo only puts them in. A text the core left
    to Python (None) has none: it is analysed when first asked for, as usual.
    """
    facts: dict[str, TextFacts] = {}
    for text, found in zip(texts, analyses, strict=True):
        if found is not None and text not in facts:
            facts[text] = TextFacts(found)
    return facts


def remember_facts(facts: Mapping[str, TextFacts]) -> None:
    """Put ``facts`` (from :func:`facts_of`) in the memo; a text it holds already keeps
    its entry (with what was found of it since)."""
    if len(_FACTS) + len(facts) > _FACTS_SIZE:
        _FACTS.clear()
    if _FACTS:
        facts = {text: found for text, found in facts.items() if text not in _FACTS}
    _FACTS.update(facts)


def text_facts(text: str, with_words: bool = False) -> TextFacts:
    """The memo entry of ``text`` (several detectors read the same call's strings).

    ``with_words``: the caller reads the content words (the core makes them only when
    asked: they are Python strings, where the other facts are a few numbers).
    """
    facts = _FACTS.get(text)
    if facts is None:
        if len(_FACTS) >= _FACTS_SIZE:
            _FACTS.clear()
        analysis = None if _ANALYSER is None else _ANALYSER.analyse(head(text), with_words)
        facts = _FACTS[text] = TextFacts(analysis)
    return facts


def words(text: str) -> tuple[str, ...]:
    """Lower-cased word, number and ideograph tokens of the first ``MAX_CHARS`` characters.

    >>> words("What's the price of GPT-4o? 3.5 USD")
    ("what's", 'the', 'price', 'of', 'gpt', '4o', '3.5', 'usd')
    >>> words("数据漂移")
    ('数', '据', '漂', '移')
    """
    facts = text_facts(text)
    found = facts.words
    if found is None:
        found = facts.words = tokenize(text)
    return found


def tokenize(text: str) -> tuple[str, ...]:
    """``words`` without the memo: for pieces of a text (sentences, chunks)."""
    head = text[:MAX_CHARS].lower()
    found = split_tokens(head)
    if found is not None:
        return found
    # Most traffic is ASCII, for which a simpler pattern is twice as fast.
    return tuple((_ASCII_TOKEN if head.isascii() else _TOKEN).findall(head))


def tokenize_pieces(pieces: Sequence[str]) -> list[tuple[str, ...]]:
    """``[tokenize(piece) for piece in pieces]``; pieces of ASCII text (the sentences of an
    answer) are split as the lines of one text, in one pass.

    >>> tokenize_pieces(["Refunds take 30 days.", "", "Ask support!"])
    [('refunds', 'take', '30', 'days'), (), ('ask', 'support')]
    """
    if len(pieces) > 1 and max(map(len, pieces)) <= MAX_CHARS:
        lines = "\n".join(pieces)
        if lines.isascii() and lines.count("\n") == len(pieces) - 1:
            found = split_ascii_lines(lines.lower())
            if found is not None:
                return found
    return [tokenize(piece) for piece in pieces]


def content_words(text: str) -> tuple[str, ...]:
    """Words that carry meaning: no stopwords, numbers or one-letter tokens; plurals folded.

    >>> content_words("Hi! Can you tell me how to reset my passwords?")
    ('reset', 'password')
    """
    facts = text_facts(text, with_words=True)
    found = facts.content
    if found is None:
        if facts.analysis is not None and _ANALYSER is not None:
            found = _ANALYSER.content_words(head(text))  # analysed without them
        if found is None:
            found = content_words_of(words(text))
        facts.content = found
    return found


def content_sketch(text: str, k: int) -> tuple[int, ...]:
    """``sketch(content_words(text), k)``, memoised for ``k = SKETCH_SIZE``.

    >>> content_sketch("Reset my passwords", 16) == sketch(["reset", "password"], 16)
    True
    """
    facts = text_facts(text)
    found = facts.sketch
    if found is None and facts.analysis is not None:
        found = facts.sketch = facts.analysis.sketch
    if found is not None and (k <= SKETCH_SIZE or len(found) < SKETCH_SIZE):
        return found[:k]  # the k smallest of the SKETCH_SIZE smallest, or all there are
    found = sketch(content_words(text), k)
    if k == SKETCH_SIZE:
        facts.sketch = found
    return found


def numbers_hash(text: str) -> int:
    """``zlib.crc32`` of the text's numbers, sorted and joined by spaces (0 without any):
    equal for answers that state the same numbers, memoised.

    >>> numbers_hash("Refunds within 30 days") == numbers_hash("30 days for refunds")
    True
    >>> numbers_hash("No numbers here")
    0
    """
    facts = text_facts(text)
    found = facts.numbers_hash
    if found is None:
        stated = numbers(text)
        found = facts.numbers_hash = zlib.crc32(" ".join(sorted(stated)).encode()) if stated else 0
    return found


def words_digest(text: str) -> int:
    """``zlib.crc32`` of the words joined by spaces: equal for texts that differ only in
    case, spacing and punctuation.

    >>> words_digest("How do I reset my password?") == words_digest("how do i reset my password")
    True
    """
    facts = text_facts(text)
    found = facts.digest
    if found is None:
        joined = " ".join(words(text))
        found = facts.digest = zlib.crc32(joined.encode("utf-8", "surrogatepass"))
    return found


def guard_digest(text: str) -> int:
    """``zlib.crc32`` of the sorted numbers, ``|`` and the sorted names of the text: texts
    that state different numbers or name different things get different digests.

    >>> guard_digest("Refund order 1234 in Paris") == guard_digest("refund order 1234 in Paris")
    True
    >>> guard_digest("Refund order 1234") == guard_digest("Refund order 1243")
    False
    """
    facts = text_facts(text)
    found = facts.guard
    if found is None:
        joined = " ".join(sorted(numbers(text))) + "|" + " ".join(sorted(entities(text)))
        found = facts.guard = zlib.crc32(joined.encode("utf-8", "surrogatepass"))
    return found


def content_words_of(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Content words of already tokenised text (no memo: for pieces such as sentences)."""
    return tuple(filter(None, _content_forms(tokens)))


def content_words_of_pieces(pieces: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """``[content_words_of(tokens) for tokens in pieces]``, one cache pass for all pieces.

    >>> content_words_of_pieces([("the", "refunds"), (), ("take", "30", "days")])
    [('refund',), (), ('take', 'day')]
    """
    forms = _content_forms(tuple(chain.from_iterable(pieces)))
    out = []
    start = 0
    for tokens in pieces:
        end = start + len(tokens)
        out.append(tuple(filter(None, forms[start:end])))
        start = end
    return out


def _content_forms(tokens: tuple[str, ...]) -> list[str]:
    """The content form of each token ("" for none), through the cache."""
    forms = _CONTENT_FORM
    if len(forms) > _CONTENT_FORMS_MAX:
        forms.clear()
    found = list(map(forms.get, tokens))
    if None in found:  # words seen for the first time
        for i, w in enumerate(tokens):
            if found[i] is None:
                found[i] = forms[w] = _content_form(w)
    return found  # type: ignore[return-value]  # no None left


#: word -> its content form ("" for a stopword, number or stray letter); a bounded cache.
_CONTENT_FORM: dict[str, str] = {}
_CONTENT_FORMS_MAX = 100_000


def _content_form(word: str) -> str:
    if word in STOPWORDS or word[0].isdigit() or (len(word) == 1 and word < "\u3000"):
        return ""
    # Fold plurals: "refunds" -> "refund"; leave "class", "status", "analysis" alone.
    if len(word) > 3 and word[-1] == "s" and word[-2] not in "siu'":
        return word[:-1]
    return word


def numbers(text: str) -> frozenset[str]:
    """Numbers in the text, thousands separators dropped (``1,200`` and ``1200`` match).

    >>> sorted(numbers("Refunds within 30 days, up to $1,200 (or 1200.50)."))
    ['1200', '1200.50', '30']
    """
    facts = text_facts(text)
    found = facts.numbers
    if found is None and facts.analysis is not None:
        found = facts.numbers = facts.analysis.numbers
    if found is None:
        head = text[:MAX_CHARS]
        has_digits = may_hold_numbers(head) and _DIGIT.search(head)
        found = facts.numbers = numbers_of(words(text)) if has_digits else _NO_NUMBERS
    return found


def find_numbers(text: str) -> frozenset[str]:
    """``numbers`` without the memo."""
    return numbers_of(tokenize(text))


def numbers_of(tokens: tuple[str, ...]) -> frozenset[str]:
    """Numbers among already tokenised words."""
    joined = "".join(tokens)
    if not may_hold_numbers(joined):
        return _NO_NUMBERS
    if "." not in joined and "," not in joined:  # then a number is all digits
        return frozenset(filter(str.isdigit, tokens))
    found = set()
    for token in tokens:
        if token[0].isdigit() and token.replace(",", "").replace(".", "").isdigit():
            found.add(token.replace(",", "") if _THOUSANDS.fullmatch(token) else token)
    return frozenset(found)


def may_hold_numbers(text: str) -> bool:
    """False when no token of ``text`` can be a number: ASCII text without a digit.

    A ``bytes`` scan, at a fraction of the cost of a regex scan.

    >>> may_hold_numbers("no digits here"), may_hold_numbers("3 days"), may_hold_numbers("²")
    (False, True, True)
    """
    if not text.isascii():
        return True
    data = text.encode("ascii")
    return len(data.translate(None, b"0123456789")) != len(data)


def _may_hold_capital(text: str) -> bool:
    """False when ``text`` holds no ASCII capital (``bytes`` scans beat a regex scan)."""
    data = text.encode("utf-8", "surrogatepass")
    return len(data.translate(None, _CAPITALS)) != len(data)


_CAPITALS = bytes(range(65, 91))


def entities(text: str) -> frozenset[str]:
    """Capitalised words that do not start a sentence (names, products, places), lower-cased.

    A cheap stand-in for named-entity recognition: it catches "Paris" in "the capital is
    Paris" and ignores "The" at the start of a sentence.

    >>> sorted(entities("The capital of France is Paris. It is big."))
    ['france', 'paris']
    """
    facts = text_facts(text)
    found = facts.entities
    if found is None:
        found = facts.entities = find_entities(text)
    return found


def find_entities(text: str) -> frozenset[str]:
    """``entities`` without the memo."""
    head = text[:MAX_CHARS]
    if not _may_hold_capital(head[2:]):  # an entity opens with a capital, two characters in
        return frozenset()
    return frozenset(m.lower() for m in _ENTITY.findall(head) if m.lower() not in STOPWORDS)
