"""Stable hashes and bottom-k MinHash sketches of word sets, for grouping similar texts.

A bottom-k sketch keeps the ``k`` smallest hashes of a set's elements (MinHash with one
hash function). The smallest hash of ``A | B`` belongs to both sets with probability equal
to their Jaccard similarity, so sets that share one of their few smallest hashes are
likely similar: those hashes serve as locality-sensitive index keys, and the sketches
estimate the similarity itself. One hash per word, where classic MinHash needs one per
word and permutation: the difference between 3 and 40 microseconds in Python.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from itertools import repeat


def stable_hash(word: str) -> int:
    """A 32-bit hash of ``word`` that is the same in every process (unlike ``hash``).

    >>> stable_hash("refund")
    1529615448
    """
    return zlib.crc32(word.encode("utf-8", "surrogatepass"))


def sketch(words: Iterable[str], k: int) -> tuple[int, ...]:
    """Bottom-``k`` sketch: the ``k`` smallest stable hashes of the distinct words, sorted.

    >>> sketch(["reset", "my", "password"], 2) == sketch(["password", "reset", "my"], 2)
    True
    """
    cache = _HASHES
    if len(cache) > _HASHES_MAX:
        cache.clear()
    if type(words) is not tuple:  # read twice below
        words = tuple(words)
    found = set(map(cache.get, words, repeat(-1)))  # hashes are never negative
    if -1 in found:  # words seen for the first time
        found.discard(-1)
        for w in words:
            if w not in cache:
                found.add(cache.setdefault(w, zlib.crc32(w.encode("utf-8", "surrogatepass"))))
    return tuple(sorted(found)[:k])


#: word -> stable hash: a bounded cache (hashing is the cost of a sketch, words repeat).
_HASHES: dict[str, int] = {}
_HASHES_MAX = 100_000


def similarity(a: tuple[int, ...], b: tuple[int, ...], k: int) -> float:
    """Estimated Jaccard similarity of two sets from their bottom-``k`` sketches.

    Exact when both sets have at most ``k`` elements; 1.0 when both are empty.

    >>> similarity((1, 2, 3), (2, 3, 4), k=8)
    0.5
    >>> similarity((), (), k=8)
    1.0
    """
    if not a and not b:
        return 1.0
    sa = set(a)
    if len(a) < k and len(b) < k:  # whole sets: exact
        common = len(sa.intersection(b))
        return common / (len(a) + len(b) - common)
    sb = set(b)
    union = sorted(sa | sb)[:k]
    return sum(map((sa & sb).__contains__, union)) / len(union)
