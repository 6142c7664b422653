"""Equivalent questions found by their embeddings, answers compared by theirs, on a budget."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from watchkeeper.detectors.text.tokens import guard_digest, numbers_hash

Embed = Callable[[str], Sequence[float]]
#: Characters of an answer kept until it is embedded (only once its group gets a match).
ANSWER_CHARS = 2000


class SemanticGroup:
    """A question as embedded, and its first answers (text until embedded, then vector)."""

    __slots__ = ("answers", "guard", "vector")

    def __init__(self, vector: Any, guard: int) -> None:
        self.vector = vector
        self.guard = guard
        #: ``[text or vector, numbers hash]`` per reference answer, first ones kept.
        self.answers: list[list[Any]] = []


class SemanticIndex:
    """Groups questions whose embeddings are close; scores answers by cosine similarity.

    A question joins the group whose question embedding is most similar (cosine at least
    ``threshold``) among those that mention the same numbers and capitalised names (the
    lexical index's guard: "order 1234" is not "order 1243", however close their
    embeddings); else it starts a group. An answer to a question that joined a group is
    scored by its mean cosine similarity (below 0 counted as 0) with the group's first
    ``answers_per_group`` answers, halved where their numbers contradict. A group's
    answers are embedded only once another question joins it, so a question asked once
    costs one embedding and a repeat two (plus its references' the first time).
    ``embeddings`` counts the embeddings made.

    >>> def embed(text):  # a toy embedding: letter counts
    ...     return [text.count(ch) for ch in "abcdefghijklmnopqrstuvwxyz"]
    >>> index = SemanticIndex(embed, threshold=0.9)
    >>> index.observe("what is the refund window", "thirty days") is None
    True
    >>> round(index.observe("refund window, what is it", "thirty days"), 2)
    1.0
    >>> index.embeddings
    4
    """

    def __init__(
        self,
        embed: Embed,
        *,
        max_groups: int = 500,
        threshold: float = 0.8,
        answers_per_group: int = 3,
    ) -> None:
        self.embed = embed
        self.max_groups = max_groups
        self.threshold = threshold
        self.answers_per_group = answers_per_group
        self.embeddings = 0
        self.groups: OrderedDict[int, SemanticGroup] = OrderedDict()
        self._next = 0
        self._matrix: Any = None  # question vectors of ``groups``, in their order

    def observe(self, text: str, output: str) -> float | None:
        """Group ``text``; score ``output`` against the group's answers (None for a new
        group); ``output`` joins the group's answers while it has fewer than it keeps."""
        vector = self._vector(text)
        guard = guard_digest(text)
        gid = self._match(vector, guard)
        stated = numbers_hash(output)
        if gid is None:
            group = self._add(vector, guard)
            group.answers.append([output[:ANSWER_CHARS], stated])
            return None
        group = self.groups[gid]
        self.groups.move_to_end(gid)
        self._matrix = None
        answer = self._vector(output)
        references = len(group.answers)
        total = 0.0
        for reference in group.answers:
            if isinstance(reference[0], str):
                reference[0] = self._vector(reference[0])
            s = max(0.0, float(reference[0] @ answer))
            if stated and reference[1] and stated != reference[1]:
                s *= 0.5
            total += s
        if references < self.answers_per_group:
            group.answers.append([answer, stated])
        return min(1.0, total / references) if references else None

    def _vector(self, text: str) -> Any:
        import numpy as np

        self.embeddings += 1
        vector = np.asarray(self.embed(text), dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 and math.isfinite(norm) else vector * 0.0

    def _match(self, vector: Any, guard: int) -> int | None:
        if not self.groups:
            return None
        import numpy as np

        if self._matrix is None:
            self._matrix = np.stack([group.vector for group in self.groups.values()])
        similarities = self._matrix @ vector
        best, best_similarity = None, self.threshold
        for gid, group, s in zip(self.groups, self.groups.values(), similarities, strict=True):
            if s >= best_similarity and group.guard == guard:
                best, best_similarity = gid, float(s)
        return best

    def _add(self, vector: Any, guard: int) -> SemanticGroup:
        group = self.groups[self._next] = SemanticGroup(vector, guard)
        self._next += 1
        if len(self.groups) > self.max_groups:
            self.groups.popitem(last=False)
        self._matrix = None
        return group

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_matrix"] = None  # rebuilt from the groups
        return state
