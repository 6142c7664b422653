"""Drift in vocabulary: the share of input words never seen in a frozen reference."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.call_run import columns_of
from watchkeeper.detectors.descriptor_drift import SHIFT, TARGET_ARL, DescriptorDrift
from watchkeeper.detectors.text import ahead
from watchkeeper.detectors.text.tokens import content_words


class InputVocabularyDrift(DescriptorDrift):
    """Detects a change in the out-of-vocabulary (OOV) rate of inputs.

    The vocabulary is learned from the first ``reference_calls`` inputs of the key (or
    given with :meth:`with_reference`, e.g. from an evalset) and then frozen: at most
    ``max_vocabulary`` content words, the most frequent. Each later input's descriptor is
    the share of its content words (no stopwords, no numbers) missing from it. New
    products, topics, jargon or another language raise the rate long before anyone reads
    the traffic. The score is ``|z|`` of that share.

    Parameters
    ----------
    reference_calls
        Inputs the vocabulary is learned from before monitoring starts.
    max_vocabulary
        Bound on the words kept.
    target_arl, shift, warmup, seed
        As for :class:`~watchkeeper.detectors.descriptor_drift.DescriptorDrift`.

    Examples
    --------
    >>> from watchkeeper.detectors import Call
    >>> detector = InputVocabularyDrift.with_reference(
    ...     ["how do I reset my password", "where is my invoice", "cancel my plan"]
    ... )
    >>> detector.update(Call("how do I reset my password"))
    >>> detector.oov_rate
    0.0
    >>> detector.update(Call("kubernetes pod crashloop password"))
    >>> detector.oov_rate
    0.75
    """

    name = "input_vocabulary_drift"
    score_name = "input_drift"
    describes = "out-of-vocabulary rate of inputs"

    #: The vocabulary's word table (for the vocabulary it was made from), made when the
    #: stage asks for it; not pickled.
    _lookup: tuple[frozenset[str], ahead.AheadLookup] | None = None

    def __init__(
        self,
        *,
        reference_calls: int = 500,
        max_vocabulary: int = 4096,
        target_arl: float = TARGET_ARL,
        shift: float = SHIFT,
        warmup: int = 100,
        seed: int = 0,
    ) -> None:
        super().__init__(target_arl=target_arl, shift=shift, warmup=warmup, seed=seed)
        self.reference_calls = reference_calls
        self.max_vocabulary = max_vocabulary
        self.vocabulary: frozenset[str] | None = None
        #: OOV share of the last input (NaN while learning or without content words).
        self.oov_rate = float("nan")
        self._learning: dict[str, int] = {}
        self._learned_calls = 0

    @classmethod
    def with_reference(cls, texts: Iterable[str], **params: object) -> InputVocabularyDrift:
        """A detector whose vocabulary is frozen from ``texts`` (an evalset's inputs)."""
        detector = cls(**params)  # type: ignore[arg-type]
        for text in texts:
            detector._learn(text)
        detector._freeze()
        return detector

    def reset_reference(self) -> None:
        """Forget the vocabulary and learn a new one from the next ``reference_calls`` inputs."""
        self.vocabulary = None
        self._learning = {}
        self._learned_calls = 0

    def descriptor(self, call: CallView) -> float | None:
        """OOV share of the input's content words; None while learning or without any."""
        text = call.input_text or ""
        if self.vocabulary is None:
            self._learn(text)
            if self._learned_calls >= self.reference_calls:
                self._freeze()
            self.oov_rate = float("nan")
            return None
        # The counts of the vocabulary's table, looked up ahead (while it is the current one).
        vocabulary = self.vocabulary
        counts = ahead.held_for(self._lookup, vocabulary).get(text)
        if counts is not None:
            count, known, _ = counts
        else:
            found = content_words(text)
            count, known = len(found), sum(map(self.vocabulary.__contains__, found))
        if not count:
            self.oov_rate = float("nan")
            return None
        self.oov_rate = (count - known) / count
        return self.oov_rate

    def descriptors(self, calls: Sequence[CallView]) -> list[float | None]:
        """``descriptor`` of each call; once the vocabulary is frozen, with the counts
        looked up ahead read once for the run."""
        vocabulary = self.vocabulary
        if vocabulary is None:  # learning (it may freeze within the run): call by call
            return super().descriptors(calls)
        counted = ahead.held_for(self._lookup, vocabulary)
        out: list[float | None] = []
        rate = float("nan")
        for text in columns_of(calls).inputs:
            counts = counted.get(text)
            if counts is not None:
                count, known, _ = counts
            else:
                found = content_words(text)
                count, known = len(found), sum(map(vocabulary.__contains__, found))
            rate = (count - known) / count if count else float("nan")
            out.append(rate if count else None)
        if out:
            self.oov_rate = rate
        return out

    def ahead_lookups(self) -> Sequence[ahead.AheadLookup]:
        """The vocabulary, once learned, to look up in the next inputs ahead of them."""
        if self.vocabulary is None or not ahead.CAN_LOOK_UP:
            return ()
        held = self._lookup
        if held is None or held[0] is not self.vocabulary:
            table = ahead.lookup(self.name, dict.fromkeys(self.vocabulary, 0))
            if table is None:
                return ()
            held = self._lookup = (self.vocabulary, table)
        return (held[1],)

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state.pop("_lookup", None)  # made again from the vocabulary when needed
        return state

    def _learn(self, text: str) -> None:
        counts = self._learning
        room = len(counts) < 4 * self.max_vocabulary
        for w in content_words(text):
            if w in counts:
                counts[w] += 1
            elif room:
                counts[sys.intern(w)] = 1
        self._learned_calls += 1

    def _freeze(self) -> None:
        ranked = sorted(self._learning.items(), key=lambda item: (-item[1], item[0]))
        self.vocabulary = frozenset(w for w, _ in ranked[: self.max_vocabulary])
        self._learning = {}

    def _params(self) -> dict[str, object]:
        return {
            "reference_calls": self.reference_calls,
            "max_vocabulary": self.max_vocabulary,
            **super()._params(),
        }
