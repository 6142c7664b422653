"""Realistic ways a sentence stops being faithful to its source, each keeping its length.

Every function takes a sentence (and a random generator, and where needed words from
elsewhere) and returns the changed sentence, or None when the change does not apply.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

#: A number in running text (not part of a word or a dotted name).
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]\d)")
_AUXILIARY = re.compile(
    r"\b(is|are|was|were|can|could|will|would|should|must|may|does|do|did|has|have)\b"
)
_NEGATED = re.compile(r"\b(is|are|was|were|can|will|should|must|does|do|did|has|have) not\b")
CAPITALISED = re.compile(r"(?<=[a-z,;] )[A-Z][\w.-]*\w")
_WORD = re.compile(r"\b[a-z]{5,}\b")

_PAIRS = (
    "true false|before after|first last|larger smaller|more less|always never|"
    "increase decrease|minimum maximum|enable disable|enabled disabled|include exclude|"
    "lower upper|start end|beginning end|positive negative|faster slower|older newer|"
    "above below|success failure|open close|read write|input output|local global|"
    "synchronous asynchronous|mutable immutable|public private|required optional|"
    "explicit implicit|static dynamic|inside outside|allowed forbidden|possible impossible|"
    "easier harder|higher lower|add remove|added removed|accept reject|many few|"
    "same different|valid invalid"
)
#: Word pairs of opposite meaning, both ways (the first word of a pair wins a clash).
ANTONYMS = {a: b for pair in _PAIRS.split("|") for a, b in (pair.split(), pair.split()[::-1])}


def change_number(sentence: str, rng: random.Random) -> str | None:
    """One number replaced by a near but different one ("3.8" -> "3.9", "572" -> "574")."""
    found = list(NUMBER.finditer(sentence))
    if not found:
        return None
    match = rng.choice(found)
    text = match.group()
    if "." in text:
        whole, part = text.split(".", 1)
        new = f"{whole}.{(int(part) + rng.randint(1, 3)) % 10 ** len(part)}"
    else:
        value = int(text)
        new = str(value + rng.choice([-2, -1, 1, 2, 3]) * max(1, value // 10))
    if new == text:
        return None
    return sentence[: match.start()] + new + sentence[match.end() :]


def flip_negation(sentence: str, rng: random.Random) -> str | None:
    """ "is not" -> "is", or "can" -> "cannot"-style "can not": the claim turned around."""
    negated = list(_NEGATED.finditer(sentence))
    if negated:
        match = rng.choice(negated)
        return sentence[: match.start()] + match.group(1) + sentence[match.end() :]
    found = list(_AUXILIARY.finditer(sentence))
    if not found:
        return None
    match = rng.choice(found)
    return sentence[: match.end()] + " not" + sentence[match.end() :]


def swap_antonym(sentence: str, rng: random.Random) -> str | None:
    """A word replaced by its opposite ("before" -> "after")."""
    found = [m for m in re.finditer(r"\b[a-z]+\b", sentence) if m.group() in ANTONYMS]
    if not found:
        return None
    match = rng.choice(found)
    return sentence[: match.start()] + ANTONYMS[match.group()] + sentence[match.end() :]


def replace_name(sentence: str, rng: random.Random, names: Sequence[str]) -> str | None:
    """A capitalised name replaced by a name from another document (wrong attribution)."""
    found = list(CAPITALISED.finditer(sentence))
    if not found or not names:
        return None
    match = rng.choice(found)
    options = [n for n in names if n.lower() not in sentence.lower()]
    if not options:
        return None
    return sentence[: match.start()] + rng.choice(options) + sentence[match.end() :]


def swap_names(sentence: str, rng: random.Random) -> str | None:
    """Two different names of the sentence exchanged (who did what to whom)."""
    found = list(CAPITALISED.finditer(sentence))
    distinct = {m.group() for m in found}
    if len(distinct) < 2:
        return None
    first = rng.choice(found)
    second = rng.choice([m for m in found if m.group() != first.group()])
    a, b = sorted((first, second), key=lambda m: m.start())
    return (
        sentence[: a.start()]
        + b.group()
        + sentence[a.end() : b.start()]
        + a.group()
        + sentence[b.end() :]
    )


def replace_word(sentence: str, rng: random.Random, words: Sequence[str]) -> str | None:
    """A content word replaced by a word from another document (a changed fact)."""
    found = list(_WORD.finditer(sentence))
    if not found or not words:
        return None
    match = rng.choice(found)
    new = rng.choice(words)
    if new == match.group():
        return None
    return sentence[: match.start()] + new + sentence[match.end() :]


#: The in-place perturbations by name; each keeps the sentence's length within a word.
Perturbation = Callable[[str, random.Random], "str | None"]
