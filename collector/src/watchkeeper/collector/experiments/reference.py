"""Reference metrics: how close an answer is to the case's ``expected_output``.

``exact_match`` compares the texts as they are (outer whitespace aside);
``normalized_match`` after case folding and removing punctuation, articles and extra
whitespace (SQuAD's normalisation); ``token_f1`` is the F1 of the normalised tokens'
overlap (SQuAD's token F1).
"""

from __future__ import annotations

import re
import string
from collections import Counter

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces.

    >>> normalize("The  Eiffel Tower, in Paris!")
    'eiffel tower in paris'
    """
    text = text.casefold().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(output: str, expected: str) -> float:
    """F1 of the normalised tokens.

    >>> round(token_f1("Paris is the capital", "the capital is Paris, France"), 3)
    0.857
    """
    got, want = normalize(output).split(), normalize(expected).split()
    if not got or not want:
        return float(got == want)
    common = sum((Counter(got) & Counter(want)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def reference_metrics(output: str, expected: str) -> dict[str, float]:
    """The three metrics of ``output`` against ``expected`` (none without a reference)."""
    if not expected:
        return {}
    return {
        "exact_match": float(output.strip() == expected.strip()),
        "normalized_match": float(normalize(output) == normalize(expected)),
        "token_f1": round(token_f1(output, expected), 6),
    }
