"""Text analysis shared by detectors: tokens, numbers, names, language, sketches."""

from __future__ import annotations

from watchkeeper.detectors.text.language import language, script
from watchkeeper.detectors.text.sketch import similarity, sketch
from watchkeeper.detectors.text.tokens import (
    MAX_CHARS,
    content_words,
    entities,
    numbers,
    words,
)


def test_tokens_agree_for_ascii_and_unicode_text() -> None:
    """The ASCII fast path and the Unicode pattern split the same words the same way."""
    ascii_text = "Refunds: 1,200 items at 3.5 each, can't wait!"
    assert words(ascii_text) == words(ascii_text + " é")[:-1]
    assert words(ascii_text) == ("refunds", "1,200", "items", "at", "3.5", "each", "can't", "wait")


def test_analysis_reads_a_bounded_prefix() -> None:
    """A 2 MB text costs no more than its first MAX_CHARS characters."""
    huge = "word " * 400_000
    assert len(words(huge)) == len(words(huge[:MAX_CHARS]))


def test_memoised_results_follow_the_string_not_its_content() -> None:
    """Equal strings give equal results; a new string is analysed afresh."""
    a = "How do I reset my password?"
    b = "".join(["How do I reset ", "my password?"])
    assert content_words(a) == content_words(b) == ("reset", "password")


def test_numbers_and_names() -> None:
    """Thousands separators are folded; sentence-initial capitals are not names."""
    assert numbers("Pay 1,200 or 1200.50 by day 3.") == frozenset({"1200", "1200.50", "3"})
    assert entities("Ask Maria. She works at ACME in Berlin.") == {"maria", "acme", "berlin"}


def test_scripts_and_languages() -> None:
    """Scripts by Unicode range, common Latin-script languages by function words."""
    assert [
        script(t) for t in ["abc", "Привет", "مرحبا", "こんにちは世界", "안녕하세요", "123"]
    ] == [
        "latin",
        "cyrillic",
        "arabic",
        "kana",
        "hangul",
        "none",
    ]
    assert language("Wie kann ich mein Passwort ändern und was ist das?") == "de"
    assert language("Comment est-ce que je change le mot de passe?") == "fr"


def test_sketch_similarity_is_exact_for_small_sets_and_estimates_large_ones() -> None:
    """Up to k words the Jaccard similarity is exact; beyond, close to it."""
    a, b = sketch(["a", "b", "c"], 16), sketch(["b", "c", "d"], 16)
    assert similarity(a, b, 16) == 0.5
    big_a = [f"w{i}" for i in range(0, 400)]
    big_b = [f"w{i}" for i in range(100, 500)]  # true Jaccard 300/500 = 0.6
    estimate = similarity(sketch(big_a, 64), sketch(big_b, 64), 64)
    assert 0.45 < estimate < 0.75
