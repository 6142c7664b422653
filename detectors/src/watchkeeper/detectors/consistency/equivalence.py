"""Online grouping of equivalent inputs: normalised hash, then bottom-k MinHash LSH."""

from __future__ import annotations

from collections import OrderedDict

from watchkeeper.detectors.text.sketch import similarity
from watchkeeper.detectors.text.tokens import content_sketch, guard_digest, words_digest

#: One group as :meth:`EquivalenceIndex.state` lists it: id, sketch, guard, index keys,
#: members, and (answer sketch, numbers hash) of its first answers.
GroupState = tuple[int, tuple[int, ...], int, list[object], int, list[tuple[tuple[int, ...], int]]]
#: :meth:`EquivalenceIndex.state`: groups (least recently used first), index entries, the
#: next group id, groups evicted.
IndexState = tuple[list[GroupState], list[tuple[object, int]], int, int]


class Group:
    """One set of equivalent inputs and the last answers given to them."""

    __slots__ = ("guard", "keys", "members", "outputs", "sketch")

    def __init__(self, sketch: tuple[int, ...], guard: int, keys: list[object]) -> None:
        self.sketch = sketch
        self.guard = guard
        self.keys = keys
        self.members = 1
        #: (bottom-k sketch of the answer's content words, hash of its numbers), newest last.
        self.outputs: list[tuple[tuple[int, ...], int]] = []


class EquivalenceIndex:
    """Finds the group of an input among earlier ones, or starts a new group.

    Two inputs are equivalent when they have the same normalised words (case, spacing and
    punctuation aside), or when their content words are similar (estimated Jaccard
    similarity at least ``threshold``, through a bottom-k MinHash index) *and* they
    mention the same numbers and the same capitalised names. The guard keeps "refund order
    1234" apart from "refund order 1243" and "weather in Paris" apart from "weather in
    London", which lexical similarity alone would merge. At most ``max_groups`` groups are
    kept, least recently used evicted.

    >>> index = EquivalenceIndex()
    >>> index.find_or_add("How do I reset my password?")
    (0, False)
    >>> index.find_or_add("how do i reset my password")
    (0, True)
    >>> index.find_or_add("Hi! How can I reset my password please?")
    (0, True)
    >>> index.find_or_add("How do I reset my password on Android?")
    (1, False)
    """

    def __init__(
        self,
        max_groups: int = 500,
        threshold: float = 0.7,
        sketch_size: int = 16,
        index_keys: int = 3,
    ) -> None:
        self.max_groups = max_groups
        self.threshold = threshold
        self.sketch_size = sketch_size
        self.index_keys = index_keys
        self.groups: OrderedDict[int, Group] = OrderedDict()
        self._index: dict[object, int] = {}
        self._next = 0
        self.evicted = 0

    def find_or_add(self, text: str) -> tuple[int, bool]:
        """``(group id, True)`` for an input equivalent to an earlier one, else a new group."""
        exact = ("=", words_digest(text))
        gid = self._index.get(exact)
        if gid is not None and gid in self.groups:
            self._touch(gid)
            return gid, True
        sig = content_sketch(text, self.sketch_size)
        guard = guard_digest(text)
        keys: list[object] = [exact, *((guard, v) for v in sig[: self.index_keys])]
        best, best_similarity = -1, self.threshold
        if sig:
            for key in keys[1:]:
                candidate = self._index.get(key)
                if candidate is None or candidate == best:
                    continue
                group = self.groups.get(candidate)
                if group is None or group.guard != guard:
                    continue
                s = similarity(sig, group.sketch, self.sketch_size)
                if s > best_similarity or (s == best_similarity and best < 0):
                    best, best_similarity = candidate, s
        if best >= 0:
            self._index[exact] = best
            self.groups[best].keys.append(exact)
            self._touch(best)
            return best, True
        gid = self._next
        self._next += 1
        self.groups[gid] = Group(sig, guard, keys)
        for key in keys:
            self._index[key] = gid
        if len(self.groups) > self.max_groups:
            self._evict()
        return gid, False

    def _touch(self, gid: int) -> None:
        group = self.groups[gid]
        group.members += 1
        self.groups.move_to_end(gid)
        # Aliases accumulate on busy groups; keep the index bounded per group.
        if len(group.keys) > 4 * (self.index_keys + 1):
            stale = group.keys[self.index_keys + 1 : -self.index_keys]
            group.keys = group.keys[: self.index_keys + 1] + group.keys[-self.index_keys :]
            for key in stale:
                if self._index.get(key) == gid:
                    del self._index[key]

    def _evict(self) -> None:
        gid, group = self.groups.popitem(last=False)
        for key in group.keys:
            if self._index.get(key) == gid:
                del self._index[key]
        self.evicted += 1

    def __len__(self) -> int:
        return len(self.groups)

    def state(self) -> IndexState:
        """Everything learned, as plain values: ``(groups, index, next, evicted)``.

        Groups come least recently used first, as ``(gid, sketch, guard, keys, members,
        outputs)``; index entries as ``(key, gid)``. The compiled core's index
        (:func:`~watchkeeper.detectors.text.native_core.consistency_index`) reads and
        writes the same.
        """
        groups = [
            (gid, g.sketch, g.guard, list(g.keys), g.members, list(g.outputs))
            for gid, g in self.groups.items()
        ]
        return groups, list(self._index.items()), self._next, self.evicted

    def restore(self, state: IndexState) -> None:
        """Replace what was learned with ``state`` (as :meth:`state` returns it)."""
        groups, entries, self._next, self.evicted = state
        self.groups = OrderedDict()
        for gid, sketch, guard, keys, members, outputs in groups:
            group = Group(tuple(sketch), guard, list(keys))
            group.members = members
            group.outputs = [(tuple(words), numbers) for words, numbers in outputs]
            self.groups[gid] = group
        self._index = dict(entries)
