"""Online grouping of equivalent inputs: normalised hash, then bottom-k MinHash LSH."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import NamedTuple

from watchkeeper.detectors.text.sketch import similarity
from watchkeeper.detectors.text.tokens import (
    content_sketch,
    guard_digest,
    numbers_hash,
    words_digest,
)

#: Size of the sketch of an answer's content words that answers are compared by.
ANSWER_SKETCH = 16
#: An answer as a group keeps it: the sketch of its content words, the hash of its numbers.
Answer = tuple[tuple[int, ...], int]


class GroupState(NamedTuple):
    """One group as :meth:`EquivalenceIndex.state` lists it."""

    gid: int
    sketch: tuple[int, ...]
    guard: int
    #: Its index keys: ``("=", words digest)`` or ``(guard, sketch hash)``.
    keys: list[object]
    members: int
    #: Its first answers.
    outputs: list[Answer]


class IndexState(NamedTuple):
    """Everything an :class:`EquivalenceIndex` learned, as plain values."""

    #: Least recently used first.
    groups: list[GroupState]
    #: ``(key, group id)``.
    entries: list[tuple[object, int]]
    next: int
    evicted: int


class Group:
    """One set of equivalent inputs and the last answers given to them."""

    __slots__ = ("guard", "keys", "members", "outputs", "sketch")

    def __init__(self, sketch: tuple[int, ...], guard: int, keys: list[object]) -> None:
        self.sketch = sketch
        self.guard = guard
        self.keys = keys
        self.members = 1
        #: (bottom-k sketch of the answer's content words, hash of its numbers), newest last.
        self.outputs: list[Answer] = []


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

    def observe(self, text: str, output: str, answers_per_group: int) -> float | None:
        """Group ``text``, and score ``output`` against the group's first answers: the mean
        estimated Jaccard similarity of their content words, each halved when the numbers
        of the two contradict ("30 days" against "14 days"); None while the group has no
        answer. ``output`` joins those answers if there are fewer than ``answers_per_group``.

        >>> index = EquivalenceIndex()
        >>> index.observe("What is the refund window?", "Refunds within 30 days.", 3) is None
        True
        >>> index.observe("what's the refund window", "Refunds within 14 days.", 3)
        0.5
        """
        answer = (content_sketch(output, ANSWER_SKETCH), numbers_hash(output))
        gid, _ = self.find_or_add(text)
        earlier = self.groups[gid].outputs
        score = None
        if earlier:
            total = 0.0
            for words_sketch, stated in earlier:
                s = similarity(answer[0], words_sketch, ANSWER_SKETCH)
                if answer[1] and stated and answer[1] != stated:
                    s *= 0.5
                total += s
            score = total / len(earlier)
        if len(earlier) < answers_per_group:
            earlier.append(answer)
        return score

    def observe_many(
        self, texts: Sequence[str], outputs: Sequence[str], answers_per_group: int
    ) -> list[float | None]:
        """``observe`` of each (text, output) pair in turn."""
        return [
            self.observe(text, output, answers_per_group)
            for text, output in zip(texts, outputs, strict=True)
        ]

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
        """Everything learned, as plain values (the compiled core's index reads and writes
        the same: :class:`~.native_index.NativeEquivalenceIndex`)."""
        groups = [
            GroupState(gid, g.sketch, g.guard, list(g.keys), g.members, list(g.outputs))
            for gid, g in self.groups.items()
        ]
        return IndexState(groups, list(self._index.items()), self._next, self.evicted)

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
