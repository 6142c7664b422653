"""Text analysis shared by detectors: tokens, numbers, names, language, sketches."""

from __future__ import annotations

import random

from watchkeeper.detectors.faithfulness.groundedness import sentences
from watchkeeper.detectors.text.language import language, script
from watchkeeper.detectors.text.sketch import similarity, sketch
from watchkeeper.detectors.text.tokens import (
    MAX_CHARS,
    content_words,
    entities,
    numbers,
    tokenize,
    tokenize_pieces,
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


def test_memoised_results_are_those_of_the_text() -> None:
    """Equal strings give equal results, however each was made."""
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


def test_pieces_split_in_one_pass_as_one_by_one() -> None:
    """``tokenize_pieces`` splits runs of ASCII pieces as lines of one text: the tokens of
    each piece are those ``tokenize`` finds in it, for sentences of real and fuzzed text,
    pieces with joiners at their ends, empty ones, ones beyond ASCII and ones holding a
    line break (those are split one by one)."""
    from tests.detectors.test_native import fuzz_texts, production_texts

    rng = random.Random(11)
    cases = [sentences(text) for text in production_texts(100) + fuzz_texts(600)]
    joiners = ["'", ".", ",", "", " ", "x'", "'x", "..", "a.b", "1,2", "\n", "é"]
    for _ in range(400):
        cases.append(
            ["".join(rng.choices(joiners, k=rng.randint(0, 4))) for _ in range(rng.randint(0, 5))]
        )
    one_pass = 0
    for pieces in cases:
        assert tokenize_pieces(pieces) == [tokenize(piece) for piece in pieces], pieces
        one_pass += len(pieces) > 1 and "\n".join(pieces).isascii()
    assert one_pass > 200
