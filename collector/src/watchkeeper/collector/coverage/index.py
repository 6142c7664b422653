"""How novel an input is relative to an evalset: one minus its highest similarity to any
of the evalset's inputs.

Two representations. ``words`` (the default, no model): TF-IDF vectors of the detectors'
content words (stopwords dropped, plurals folded), with IDF from the evalset, so a new
topic's vocabulary counts fully and a word every case uses counts little. ``embed``: any
text -> vector function, e.g. the MiniLM embedding the detectors ship
(:class:`~watchkeeper.detectors.semantic.minilm.MiniLmEmbedding`), which also sees
paraphrases with no word in common as covered.

>>> index = CoverageIndex(["How do I reset my password?", "Where is my parcel?"])
>>> index.novelty(["reset the password please", "can I pay with bitcoin?", "hi there!"])
[0.0, 1.0, nan]
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from watchkeeper.detectors.text.tokens import content_words

Embed = Callable[[str], Sequence[float]]


class CoverageIndex:
    """The inputs of one or more evalsets, ready to score production inputs' novelty."""

    def __init__(self, texts: Sequence[str], embed: Embed | None = None) -> None:
        if not texts:
            raise ValueError("an evalset with no input text covers nothing")
        self.embed = embed
        self.size = len(texts)
        self._idf: dict[str, float] = {}
        if embed is None:
            documents = Counter(word for text in texts for word in set(content_words(text)))
            # Smoothed IDF: a word of every case still counts a little; unseen words get
            # no weight in the evalset's vectors, so they only lower a match.
            self._idf = {w: math.log((1 + self.size) / (1 + n)) + 1 for w, n in documents.items()}
        self._vocabulary = {word: i for i, word in enumerate(sorted(self._idf))}
        #: The weight of a word no case uses (the highest IDF a word could have).
        self._unseen = math.log(1 + self.size) + 1
        self._matrix = self._vectors(texts)

    def novelty(self, texts: Sequence[str]) -> list[float]:
        """Per text: 1 - its highest cosine similarity to an evalset input, in [0, 1];
        NaN for a text with nothing to compare (no content word: small talk like "hi")."""
        if not texts:
            return []
        vectors = self._vectors(texts)
        best = (vectors @ self._matrix.T).max(axis=1)
        empty = ~vectors.any(axis=1)
        return [
            math.nan if blank else round(float(min(1.0, max(0.0, 1.0 - s))), 6)
            for s, blank in zip(best, empty, strict=True)
        ]

    def _vectors(self, texts: Sequence[str]) -> Any:
        if self.embed is not None:
            rows = np.array([list(self.embed(text)) for text in texts], dtype=np.float64)
        else:
            rows = self._word_vectors(texts)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)

    def _word_vectors(self, texts: Sequence[str]) -> Any:
        # The last column holds the weight of words outside the evalset's vocabulary: no
        # case shares it, so it only lengthens the vector and lowers every similarity.
        rows = np.zeros((len(texts), len(self._vocabulary) + 1), dtype=np.float64)
        for row, text in enumerate(texts):
            unseen = 0.0
            for word, count in Counter(content_words(text)).items():
                column = self._vocabulary.get(word)
                if column is None:
                    unseen += (count * self._unseen) ** 2
                else:
                    rows[row, column] = count * self._idf[word]
            rows[row, -1] = math.sqrt(unseen)
        return rows


class RememberedNovelty:
    """An index's novelty, remembered per text: the collector re-reads the same recent
    inputs at every refresh, and an embedding costs about 10 ms each."""

    def __init__(self, index: CoverageIndex, max_texts: int = 200_000) -> None:
        self.index = index
        self.size = index.size
        self._max = max_texts
        self._known: dict[int, float] = {}

    def novelty(self, texts: Sequence[str]) -> list[float]:
        """As :meth:`CoverageIndex.novelty`, computing only texts not seen before."""
        keys = [hash(text) for text in texts]
        fresh = {key: text for key, text in zip(keys, texts, strict=True) if key not in self._known}
        if len(self._known) + len(fresh) > self._max:
            self._known.clear()
            fresh = dict(zip(keys, texts, strict=True))
        self._known.update(zip(fresh, self.index.novelty(list(fresh.values())), strict=True))
        return [self._known.get(key, math.nan) for key in keys]
