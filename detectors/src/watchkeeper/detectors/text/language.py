"""Which script and language a text is written in, without a model.

Non-Latin scripts are told apart by Unicode ranges; Latin-script languages by their most
frequent function words. Good enough to notice that a share of traffic switched
language — not a language identifier for single words.
"""

from __future__ import annotations

import re
from collections import Counter

from watchkeeper.detectors.text.lexicon import LANGUAGE_OF
from watchkeeper.detectors.text.tokens import MAX_CHARS, text_facts, words

_SCRIPTS = (
    ("cyrillic", re.compile(r"[\u0400-\u04ff]")),
    ("greek", re.compile(r"[\u0370-\u03ff]")),
    ("arabic", re.compile(r"[\u0600-\u06ff\u0750-\u077f]")),
    ("hebrew", re.compile(r"[\u0590-\u05ff]")),
    ("devanagari", re.compile(r"[\u0900-\u097f]")),
    ("bengali", re.compile(r"[\u0980-\u09ff]")),
    ("tamil", re.compile(r"[\u0b80-\u0bff]")),
    ("telugu", re.compile(r"[\u0c00-\u0c7f]")),
    ("thai", re.compile(r"[\u0e00-\u0e7f]")),
    ("hangul", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("kana", re.compile(r"[\u3040-\u30ff]")),
    ("han", re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")),
    ("latin", re.compile(r"[A-Za-z\u00c0-\u024f]")),
)

_ASCII_LETTER = re.compile(r"[A-Za-z]")
#: The first bytes of UTF-8 sequences that encode a letter of the scripts above other than
#: Latin (U+0370-U+06FF but the Armenian block, U+0750-U+077F, U+0800-U+11FF, U+3000-U+DFFF,
#: U+F000-U+FFFF). Text without any holds only Latin letters, if any: one ``bytes`` pass
#: tells, where the regex engine would take thirteen.
_NON_LATIN_LEADS = bytes(
    [*range(0xCD, 0xD4), 0xD6, 0xD7, *range(0xD8, 0xDC), 0xDD, 0xE0, 0xE1, *range(0xE3, 0xEE), 0xEF]
)

_FUNCTION_WORD_SET = frozenset(LANGUAGE_OF)


def script(text: str) -> str:
    """The script most letters of ``text`` are written in (``none`` without letters).

    >>> script("Hello"), script("Привет, мир"), script("数据漂移"), script("42!")
    ('latin', 'cyrillic', 'han', 'none')
    """
    head = text[:MAX_CHARS]
    if head.isascii():
        return "latin" if _ASCII_LETTER.search(head) else "none"
    data = head.encode("utf-8", "surrogatepass")
    if len(data.translate(None, _NON_LATIN_LEADS)) == len(data):  # accents, quotes, dashes
        return "latin" if _SCRIPTS[-1][1].search(head) else "none"
    best, best_count = "none", 0
    for name, pattern in _SCRIPTS:
        count = len(pattern.findall(head))
        if count > best_count:
            best, best_count = name, count
    if best == "han" and _SCRIPTS[10][1].search(head):
        return "kana"  # Japanese mixes kanji and kana
    return best


def language(text: str) -> str:
    """A language label: an ISO code for common Latin-script languages, else the script.

    >>> language("How do I reset my password?"), language("¿Cómo cambio mi contraseña?")
    ('en', 'es')
    >>> language("Привет"), language("xyzzy")
    ('cyrillic', 'latin')
    """
    facts = text_facts(text)
    found = facts.language
    if found is None:
        found = facts.language = detect_language(text)
    return found


def detect_language(text: str) -> str:
    """``language`` without the memo (and without the compiled core)."""
    found = script(text)
    if found != "latin":
        return found
    votes: dict[str, int] = {}
    # Each function word counted in one C pass (``tuple.count`` would rescan every token).
    for w, count in Counter(filter(_FUNCTION_WORD_SET.__contains__, words(text))).items():
        for lang in LANGUAGE_OF[w]:
            votes[lang] = votes.get(lang, 0) + count
    if not votes:
        return "latin"
    return max(sorted(votes), key=lambda lang: votes[lang])
