"""The prompt-injection classifier's features of a text as integer keys, summed with numpy.

A token (:func:`~.injection_tokens.token_bytes`) becomes the number of its word (one
dictionary look-up per token, in C); every other step is an array operation. The key of a
word feature is the word's number; the key of a pair is ``(first + 1) * 2**24 + second``,
so the two never meet, and a token whose word is in no feature gets a number that no
feature's key holds. Token ``i`` brings the word at ``i`` and the pair ending there: the
keys of ``n`` tokens are ``n`` words followed by ``n - 1`` pairs.

A window's total is the sum of the weights of the distinct features it holds. The shipped
weights are float32 values summed in float64 with room to spare, so every such sum is
exact and does not depend on the order it is taken in (a test checks this).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from watchkeeper.detectors.safety.injection_tokens import token_bytes

#: Pair keys are ``(first + 1) * PAIR_KEY + second`` (word numbers are below it).
PAIR_KEY = 1 << 24
_NONE = np.iinfo(np.int64).max


@dataclass(frozen=True)
class FeatureLookup:
    """A model's features as sorted integer keys with their weights."""

    #: A word's number by its UTF-8 bytes.
    numbers: dict[bytes, int]
    #: The number of a word in no feature.
    unknown: int
    #: Feature keys, ascending, then one key above all (so a search never runs off).
    sorted_keys: np.ndarray[Any, np.dtype[np.int64]]
    #: The weight of each key (0 for the last).
    weights: np.ndarray[Any, np.dtype[np.float64]]

    @classmethod
    def of(cls, weights: Mapping[str, float]) -> FeatureLookup:
        """The lookup of features named ``word`` or ``first second``."""
        numbers: dict[str, int] = {}
        for name in sorted(weights):
            for word in name.split(" "):
                numbers.setdefault(word, len(numbers))
        if len(numbers) >= PAIR_KEY - 1:
            raise ValueError(f"{len(numbers)} words: pair keys hold fewer than {PAIR_KEY - 1}")
        by_key: dict[int, float] = {}
        for name, weight in weights.items():
            first, _, second = name.partition(" ")
            key = numbers[first]
            by_key[(key + 1) * PAIR_KEY + numbers[second] if second else key] = weight
        keys = sorted(by_key)
        return cls(
            {word.encode("utf-8", "surrogatepass"): n for word, n in numbers.items()},
            len(numbers),
            np.array([*keys, _NONE], dtype=np.int64),
            np.array([*map(by_key.__getitem__, keys), 0.0], dtype=np.float64),
        )

    def keys(self, text: str) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The keys of ``text``'s tokens: ``n`` words, then the ``n - 1`` pairs."""
        tokens = token_bytes(text)
        count = len(tokens)
        if not count:
            return np.empty(0, dtype=np.int64)
        keys = np.empty(2 * count - 1, dtype=np.int64)
        words = keys[:count]
        words[:] = np.fromiter(map(self.numbers.get, tokens, repeat(self.unknown)), np.int64, count)
        pairs = keys[count:]
        np.add(words[:-1], 1, out=pairs)
        pairs *= PAIR_KEY
        pairs += words[1:]
        return keys

    def total(self, keys: np.ndarray[Any, np.dtype[np.int64]]) -> float:
        """The sum of the weights of the distinct features among ``keys``."""
        if keys.size < 2:
            return self._found_total(keys)
        keys = np.sort(keys)
        distinct = np.empty(keys.size, dtype=np.bool_)
        distinct[0] = True
        np.not_equal(keys[1:], keys[:-1], out=distinct[1:])
        return self._found_total(keys[distinct])

    def window_totals(
        self, keys: np.ndarray[Any, np.dtype[np.int64]], spans: list[tuple[int, int]]
    ) -> list[float]:
        """:meth:`total` of each window ``(start, end)`` of tokens: its words, and the
        pairs ending in it."""
        count = (keys.size + 1) // 2
        at = np.concatenate((np.arange(count), np.arange(1, count)))
        return [self.total(keys[(at >= start) & (at < end)]) for start, end in spans]

    def _found_total(self, keys: np.ndarray[Any, np.dtype[np.int64]]) -> float:
        """The weights of ``keys`` (distinct) that are features, summed."""
        index = self.sorted_keys.searchsorted(keys)
        return float(self.weights[index[self.sorted_keys[index] == keys]].sum())
