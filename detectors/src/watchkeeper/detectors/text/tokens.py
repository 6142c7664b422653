"""Words, content words, numbers and named entities of a text, memoised per string."""

from __future__ import annotations

import re
from itertools import repeat

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
# The same tokens without the regex engine (see ``_split_tokens``): every ASCII character
# that is not a letter, digit or joiner separates tokens.
_JOINERS = "'.,"
_ASCII_SEPARATORS = str.maketrans(
    {c: " " for c in map(chr, range(128)) if not (c.isalnum() or c in _JOINERS)}
)
_JOINER_PAIR = re.compile(r"['.,]{2}")
# Punctuation beyond ASCII that is never part of a token (quotes, dashes, bullets ...).
_UNICODE_SEPARATORS = (
    "\u201c", "\u201d", "\u2018", "\u2013", "\u2014", "\u2026", "\xa0", "\u2022",
    "\u2500", "\u2502", "\u251c", "\u2514", "\xab", "\xbb", "\xb7", "\u2192",
)  # fmt: skip
_CURLY_APOSTROPHE = "\u2019"
_DIGIT = re.compile(r"\d")
_NO_NUMBERS: frozenset[str] = frozenset()
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
# A capitalised word that does not start a sentence: "Paris", "ACME", "GPT-4o". The capital
# comes first and the look-behind after it (same matches as ``(?<=[^.!?:\s] )[A-Z]...``), so
# the regex engine can skip to capitals instead of trying the look-behind everywhere.
_ENTITY = re.compile(r"[A-Z](?<=[^.!?:\s] [A-Z])[\w-]*\w")

# A word list reads better as text than as 170 quoted strings.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can can't cannot could couldn't did didn't
    do does doesn't doing don't down during each few for from further get got had hadn't
    has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just
    let's me more most mustn't my myself no nor not now of off on once only or other ought
    our ours ourselves out over own please same shan't she she'd she'll she's should
    shouldn't so some such tell than that that's the their theirs them themselves then there
    there's these they they'd they'll they're they've this those through to too under until
    up us very was wasn't we we'd we'll we're we've were weren't what what's when when's
    where where's which while who who's whom why why's will with won't would wouldn't you
    you'd you'll you're you've your yours yourself yourselves hi hey hello thanks thank
    okay ok yes yeah know like want need one would
    """.split()  # noqa: SIM905
)


class _Facts:
    """What has been computed about one string, while that string is being analysed."""

    __slots__ = ("content", "entities", "numbers", "text", "words")

    def __init__(self, text: str) -> None:
        # Holding the string keeps its id from being reused while the entry lives.
        self.text = text
        self.words: tuple[str, ...] | None = None
        self.content: tuple[str, ...] | None = None
        self.numbers: frozenset[str] | None = None
        self.entities: frozenset[str] | None = None


_FACTS: dict[int, _Facts] = {}
_FACTS_SIZE = 16


def _facts(text: str) -> _Facts:
    """The memo entry of ``text`` (several detectors read the same call's strings)."""
    facts = _FACTS.get(id(text))
    if facts is None or facts.text is not text:
        if len(_FACTS) >= _FACTS_SIZE:
            _FACTS.clear()
        facts = _FACTS[id(text)] = _Facts(text)
    return facts


def words(text: str) -> tuple[str, ...]:
    """Lower-cased word, number and ideograph tokens of the first ``MAX_CHARS`` characters.

    >>> words("What's the price of GPT-4o? 3.5 USD")
    ("what's", 'the', 'price', 'of', 'gpt', '4o', '3.5', 'usd')
    >>> words("数据漂移")
    ('数', '据', '漂', '移')
    """
    facts = _facts(text)
    found = facts.words
    if found is None:
        found = facts.words = tokenize(text)
    return found


def tokenize(text: str) -> tuple[str, ...]:
    """``words`` without the memo: for pieces of a text (sentences, chunks)."""
    head = text[:MAX_CHARS].lower()
    found = _split_tokens(head)
    if found is not None:
        return found
    # Most traffic is ASCII, for which a simpler pattern is twice as fast.
    return tuple((_ASCII_TOKEN if head.isascii() else _TOKEN).findall(head))


def _split_tokens(head: str) -> tuple[str, ...] | None:
    """The tokens the patterns find in ``head`` (lower-cased), by splitting; None if unsure.

    The regex engine steps through every character in Python's slowest loop; ``translate``,
    ``split`` and ``strip`` do the common case in a few C passes. Both patterns have no
    look-around, so tokens never straddle a separator (any character outside letters,
    digits and the joiners ``'.,``), and a run between separators stripped of joiners at
    its ends is one whole token when its letters and digits are joined by single joiners
    (for the ASCII pattern) or by single apostrophes (for the other one: there ``.`` and
    ``,`` only join digits, a case left to the regex). Text with letters beyond ASCII, or
    with both kinds of apostrophe, is left to the regex too.
    """
    if head.isascii():
        cores = [*filter(None, map(str.strip, head.translate(_ASCII_SEPARATORS).split(), repeat(_JOINERS)))]
        if _JOINER_PAIR.search("".join(cores)):
            return None
        return tuple(cores)
    # The general pattern, on text whose only characters beyond ASCII are separators or a
    # curly apostrophe (which it treats like ``'``: swapped for one, then swapped back).
    text = head
    for separator in _UNICODE_SEPARATORS:
        if separator in text:
            text = text.replace(separator, " ")
    curly = _CURLY_APOSTROPHE in text
    if curly:
        if "'" in text:
            return None
        text = text.replace(_CURLY_APOSTROPHE, "'")
    if not text.isascii():
        return None
    cores = [*filter(None, map(str.strip, text.translate(_ASCII_SEPARATORS).split(), repeat(_JOINERS)))]
    joined = "".join(cores)
    if "." in joined or "," in joined or "''" in joined:
        return None
    if curly and cores:
        return tuple("\0".join(cores).replace("'", _CURLY_APOSTROPHE).split("\0"))
    return tuple(cores)


def content_words(text: str) -> tuple[str, ...]:
    """Words that carry meaning: no stopwords, numbers or one-letter tokens; plurals folded.

    >>> content_words("Hi! Can you tell me how to reset my passwords?")
    ('reset', 'password')
    """
    facts = _facts(text)
    found = facts.content
    if found is None:
        found = facts.content = content_words_of(words(text))
    return found


def content_words_of(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Content words of already tokenised text (no memo: for pieces such as sentences)."""
    forms = _CONTENT_FORM
    if len(forms) > _CONTENT_FORMS_MAX:
        forms.clear()
    found = list(map(forms.get, tokens))
    if None in found:  # words seen for the first time
        for i, w in enumerate(tokens):
            if found[i] is None:
                found[i] = forms[w] = _content_form(w)
    return tuple(filter(None, found))


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
    facts = _facts(text)
    found = facts.numbers
    if found is None:
        has_digits = _DIGIT.search(text, 0, MAX_CHARS)
        found = facts.numbers = numbers_of(words(text)) if has_digits else _NO_NUMBERS
    return found


def find_numbers(text: str) -> frozenset[str]:
    """``numbers`` without the memo."""
    return numbers_of(tokenize(text))


def numbers_of(tokens: tuple[str, ...]) -> frozenset[str]:
    """Numbers among already tokenised words."""
    joined = "".join(tokens)
    if joined.isascii() and not _DIGIT.search(joined):  # no digit, no number
        return _NO_NUMBERS
    found = set()
    for token in tokens:
        if token[0].isdigit() and token.replace(",", "").replace(".", "").isdigit():
            found.add(token.replace(",", "") if _THOUSANDS.fullmatch(token) else token)
    return frozenset(found)


def entities(text: str) -> frozenset[str]:
    """Capitalised words that do not start a sentence (names, products, places), lower-cased.

    A cheap stand-in for named-entity recognition: it catches "Paris" in "the capital is
    Paris" and ignores "The" at the start of a sentence.

    >>> sorted(entities("The capital of France is Paris. It is big."))
    ['france', 'paris']
    """
    facts = _facts(text)
    found = facts.entities
    if found is None:
        found = facts.entities = find_entities(text)
    return found


def find_entities(text: str) -> frozenset[str]:
    """``entities`` without the memo."""
    head = text[:MAX_CHARS]
    rest = head[1:]
    if rest == rest.lower():  # no capital after the first letter: nothing to find
        return frozenset()
    return frozenset(m.lower() for m in _ENTITY.findall(head) if m.lower() not in STOPWORDS)
