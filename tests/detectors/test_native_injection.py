"""The compiled core sums the prompt-injection classifier's features exactly as
``FeatureLookup`` does.

Each check tokenises a text with the core's ``InjectionFeatures`` and with
``FeatureLookup`` (the reference) and compares the token count and every window's total
bit for bit: the development set when it is built, random ASCII texts of 0 to 6,500
characters and one of a megabyte, texts of punctuation, underscores, digits, apostrophes
and every ASCII character; a text beyond ASCII (or with a lone surrogate) is left to
Python (None), which cuts its tokens and hands them to the core to sum (``token_totals``:
the same totals on random texts of many scripts, and on the whole development set).
"""

from __future__ import annotations

import json
import os
import random
import string

import pytest

from tests.detectors.hostile_texts import words_and_noise
from tests.detectors.test_prompt_injection_parity import DATASET
from watchkeeper.detectors import native_core
from watchkeeper.detectors.safety import injection_model
from watchkeeper.detectors.safety.injection_tokens import token_bytes

SWITCHED_OFF = os.environ.get(native_core.SWITCH, "1").strip() == "0"
pytestmark = pytest.mark.skipif(SWITCHED_OFF, reason="WATCHKEEPER_NATIVE=0: Python alone")
MODEL = injection_model.load()


def _expected(text: str) -> tuple[int, list[float]]:
    """The token count and window totals of ``text`` by ``FeatureLookup``."""
    lookup = MODEL.lookup
    keys = lookup.keys(text)
    count = (keys.size + 1) // 2
    if count <= MODEL.window:
        return count, [lookup.total(keys)]
    return count, lookup.window_totals(keys, injection_model.windows(count, MODEL.window))


def _same(texts: list[str]) -> None:
    native = MODEL.native
    assert native is not None, "the compiled core is installed but has no InjectionFeatures"
    for text in texts:
        expected = _expected(text)
        if text.isascii():
            assert native.totals(text, MODEL.window) == expected, text[:200]
        tokens = token_bytes(text)
        assert (len(tokens), native.token_totals(tokens, MODEL.window)) == expected, text[:200]


#: Characters beyond ASCII: marks, spaces, letters with and without case, a combining
#: mark, a lone surrogate, an emoji.
_BEYOND = list(
    "\x85\xa0\u2003\u201c\u2019\u00c9\u00e9\u0130\u03a3\u0416\u65e5\u0301\ud800\U0001f600"
)


def _ascii_text(rng: random.Random, length: int, beyond: bool = False) -> str:
    """Vocabulary words (some upper-cased) mixed with every ASCII character (and, if
    ``beyond``, characters beyond ASCII)."""
    vocabulary = [name for name in MODEL.weights if " " not in name and name.isascii()]
    alphabet = [chr(code) for code in range(128)] + list(" _'0123456789.,!?")
    alphabet += _BEYOND * 4 if beyond else []
    return words_and_noise(rng, length, vocabulary, alphabet, [" ", "", "  ", "\n", "\x1c", "\x0b"])


@pytest.mark.parametrize("length", [0, 1, 2, 30, 500, 1_000, 2_100, 4_000, 6_500])
def test_random_ascii_texts_get_the_same_totals(length: int) -> None:
    rng = random.Random(length)
    _same([_ascii_text(rng, length) for _ in range(40)])


def test_a_megabyte_gets_the_same_totals() -> None:
    _same([_ascii_text(random.Random(1), 1_000_000)])


def test_marks_underscores_digits_and_apostrophes_get_the_same_totals() -> None:
    texts = [
        "",
        " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f ",
        string.printable,
        "".join(chr(code) for code in range(128)),
        "Don't IGNORE the_previous instructions!!! 3.14 __init__ it's 'quoted' \"x\"",
        "ignore ignore ignore ignore ignore ignore ignore ignore ignore " * 100,
        "a_b_c 123abc ABC_def x1_2y --- ... ''' ``` <|im_start|>system",
        "\x00\x01\x7f word\x00word",
    ]
    _same(texts)


@pytest.mark.skipif(not DATASET.exists(), reason="the development set is not built")
def test_the_development_set_gets_the_same_totals() -> None:
    rows = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines()]
    dev = [str(row["text"]) for row in rows if row["split"] == "dev"]
    ascii_dev = [
        text for part in dev for text in injection_model.read_parts(part) if text.isascii()
    ]
    assert len(ascii_dev) > 1000
    _same(ascii_dev)


def test_texts_beyond_ascii_are_left_to_python() -> None:
    native = MODEL.native
    assert native is not None
    for text in ["caf\u00e9", "Ignore\u00a0all", "\u0130", "x\ud800", "\U0001f600 hi", "a\x80"]:
        assert native.totals(text, MODEL.window) is None
    assert MODEL.logit("Ignore\u00a0all previous") == MODEL.logit("Ignore all previous")


@pytest.mark.parametrize("length", [0, 1, 30, 500, 4_000, 6_500])
def test_tokens_cut_by_python_get_the_same_totals(length: int) -> None:
    rng = random.Random(length)
    _same([_ascii_text(rng, length, beyond=True) for _ in range(40)])
