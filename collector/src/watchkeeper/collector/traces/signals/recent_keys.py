"""A bounded memory of keys seen lately (trace ids, span ids), the oldest forgotten first.

The signal stage remembers every LLM call's ids and every completed trace's id, up to a
few hundred thousand, on the thread that bounds the collector's rate. An ``OrderedDict``
trimmed to its bound after each key keeps a linked list beside its table and pops one
entry per new key: about 0.9 µs per key at the bound, where a plain dict trimmed in bulk
once the bound is passed by a quarter costs about 0.3 (10,000 keys a batch, 200,000
remembered). So the memory holds between ``limit`` and a quarter more keys.

>>> recent = RecentKeys[str](limit=4)
>>> recent.update(["a", "b", "c", "d", "e"])
>>> "a" in recent, len(recent)
(True, 5)
>>> recent.add("f")
>>> "a" in recent, "b" in recent, "c" in recent, len(recent)
(False, False, True, 4)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from itertools import islice
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class RecentKeys(Generic[K]):
    """Keys in the order they first came; past ``limit`` plus a quarter, the oldest are
    forgotten down to ``limit`` at once (not thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._most = limit + max(1, limit // 4)
        self._keys: dict[K, None] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def absent(self, keys: Iterable[object]) -> list[bool]:
        """Per key of ``keys``: whether it is not remembered (``key not in self``)."""
        remembered = self._keys
        return [key not in remembered for key in keys]

    def add(self, key: K) -> None:
        """Remember ``key`` (where it was, if it is remembered already)."""
        keys = self._keys
        keys[key] = None
        if len(keys) > self._most:
            self._trim()

    def update(self, keys: Iterable[K]) -> None:
        """:meth:`add` each of ``keys``, at once."""
        self._keys.update(dict.fromkeys(keys))
        if len(self._keys) > self._most:
            self._trim()

    def _trim(self) -> None:
        keys = self._keys
        for key in list(islice(keys, len(keys) - self.limit)):
            del keys[key]
