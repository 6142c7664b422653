"""Lexical measures between a question, passages and an answer (no model needed).

- relevance of a passage to a question: the share of the question's content words
  (stopwords and numbers aside, plurals folded) that the passage contains;
- use of a passage by an answer: the detectors' sentence-level lexical groundedness of
  the answer against that passage alone;
- disagreement of an order with relevance: the share of pairs of passages, among those
  whose relevance differs, that the order puts the less relevant one first (0: the order
  follows relevance, 1: it reverses it).

Passages are read up to the first ``MAX_CHARS`` characters of the text analysis.

>>> relevance("When are refunds paid?", "Refunds are paid within 5 days.")
1.0
>>> relevance("How long do refunds take?", "Shipping is free over 50 euros.")
0.0
>>> disagreement([0.1, 0.5, 0.9]), disagreement([0.9, 0.5, 0.1]), disagreement([0.3, 0.3])
(1.0, 0.0, None)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from watchkeeper.detectors.faithfulness.groundedness import LexicalGroundedness
from watchkeeper.detectors.text.tokens import content_words

#: Groundedness of the answer against one passage from which that passage counts as used.
USED: Final = 0.3

_scorer: LexicalGroundedness | None = None


def relevance(question: str, passage: str) -> float | None:
    """Share of the question's content words found in the passage; None when the
    question has none."""
    return relevances(question, [passage])[passage]


def relevances(question: str, passages: Sequence[str]) -> dict[str, float | None]:
    """:func:`relevance` of each distinct passage, the question read once."""
    asked = frozenset(content_words(question))
    if not asked:
        return dict.fromkeys(passages)
    size = len(asked)
    return {p: len(asked.intersection(content_words(p))) / size for p in dict.fromkeys(passages)}


def used(answer: str, passage: str) -> bool | None:
    """True when the answer draws on the passage; None when the answer has nothing to
    check (no content words)."""
    global _scorer  # noqa: PLW0603  # one scorer (and its passage cache) per process
    if _scorer is None:
        _scorer = LexicalGroundedness()
    support = _scorer(answer, [passage])
    return None if math.isnan(support) else support >= USED


def disagreement(relevances: Sequence[float]) -> float | None:
    """How far an order (``relevances`` in that order) is from most relevant first: the
    share of discordant pairs among pairs of unequal relevance; None without any."""
    discordant = comparable = 0
    for i, earlier in enumerate(relevances):
        for later in relevances[i + 1 :]:
            if earlier != later:
                comparable += 1
                discordant += earlier < later
    return discordant / comparable if comparable else None
