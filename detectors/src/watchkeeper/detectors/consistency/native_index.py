"""``EquivalenceIndex.observe`` in the compiled core: the same groups and scores."""

from __future__ import annotations

from collections.abc import Sequence

from watchkeeper.detectors import native_core
from watchkeeper.detectors.consistency.equivalence import (
    ANSWER_SKETCH,
    EquivalenceIndex,
    GroupState,
    IndexState,
)
from watchkeeper.detectors.text.tokens import (
    SKETCH_SIZE,
    content_sketch,
    guard_digest,
    numbers_hash,
    text_facts,
    words_digest,
)


class NativeEquivalenceIndex:
    """The groups of an :class:`~.equivalence.EquivalenceIndex` and their answers, kept
    and searched by the compiled core (the index work of a batch without the GIL).

    The core reads each text's facts from the memo of :mod:`~watchkeeper.detectors.text.tokens`:
    its own analysis of the text as it is, or the facts the Python code found for a text
    it left to Python.
    """

    def __init__(self, core: native_core.ConsistencyIndex, sketch_size: int) -> None:
        self._core = core
        self._sketch_size = sketch_size

    @classmethod
    def of(cls, index: EquivalenceIndex) -> NativeEquivalenceIndex | None:
        """The core's index holding what ``index`` learned, or None (without the core, or
        for parameters only the Python code handles: the core compares answers with the
        index's sketch size, which must then be the answers' own)."""
        if index.sketch_size != ANSWER_SKETCH or ANSWER_SKETCH != SKETCH_SIZE:
            return None
        core = native_core.consistency_index(
            index.max_groups, index.threshold, index.sketch_size, index.index_keys
        )
        if core is None:
            return None
        core.restore(*index.state())
        return cls(core, index.sketch_size)

    def observe(self, text: str, output: str, answers_per_group: int) -> float | None:
        """``EquivalenceIndex.observe``."""
        return self._core.observe(self._question(text), self._answer(output), answers_per_group)

    def observe_many(
        self, texts: Sequence[str], outputs: Sequence[str], answers_per_group: int
    ) -> list[float | None]:
        """``EquivalenceIndex.observe_many``, in one call into the core."""
        questions = [self._question(text) for text in texts]
        answers = [self._answer(output) for output in outputs]
        return self._core.observe_many(questions, answers, answers_per_group)

    def _question(self, text: str) -> native_core.TextAnalysis | native_core.Question:
        found = text_facts(text).analysis
        if found is not None:
            return found
        sketch = content_sketch(text, self._sketch_size)
        return native_core.question(words_digest(text), sketch, guard_digest(text))

    @staticmethod
    def _answer(output: str) -> native_core.TextAnalysis | native_core.Answer:
        found = text_facts(output).analysis
        if found is not None:
            return found
        return native_core.answer(content_sketch(output, ANSWER_SKETCH), numbers_hash(output))

    def state(self) -> IndexState:
        """``EquivalenceIndex.state`` of what the core learned."""
        groups, entries, next_id, evicted = self._core.state()
        return IndexState([GroupState(*group) for group in groups], entries, next_id, evicted)
