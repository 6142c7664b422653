"""Consistency of answers to equivalent questions, and drops in it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

from watchkeeper.detectors.base import CallView, Detector, DetectorBatch
from watchkeeper.detectors.call_run import columns_of
from watchkeeper.detectors.change.rank_cusum import SelfStartingCusum
from watchkeeper.detectors.consistency.equivalence import EquivalenceIndex, IndexState
from watchkeeper.detectors.consistency.native_index import NativeEquivalenceIndex
from watchkeeper.detectors.consistency.semantic_index import Embed, SemanticIndex
from watchkeeper.detectors.descriptor_drift import SHIFT, TARGET_ARL
from watchkeeper.detectors.semantic.embedding_version import embedding_version

#: Weight of the latest call in the running group coverage (about the last 500 calls).
_COVERAGE_ALPHA = 1 / 500
#: Embeddings per call on average, with ``embed``: at about 10 ms of CPU each
#: (all-MiniLM-L6-v2 in numpy), about 100 µs per call.
EMBED_BUDGET = 0.01
#: Embeddings the budget may save up for a burst of new questions.
EMBED_BURST = 20.0


class AnswerIndex(Protocol):
    """Groups of equivalent inputs and their first answers: an
    :class:`~.equivalence.EquivalenceIndex`, or the same kept by the compiled core."""

    def observe(self, text: str, output: str, answers_per_group: int) -> float | None:
        """``EquivalenceIndex.observe``."""

    def observe_many(
        self, texts: Sequence[str], outputs: Sequence[str], answers_per_group: int
    ) -> list[float | None]:
        """``EquivalenceIndex.observe_many``."""

    def state(self) -> IndexState:
        """``EquivalenceIndex.state``."""


def _answer_index(index: EquivalenceIndex) -> AnswerIndex:
    """``index``, kept by the compiled core from now on where it can be."""
    return NativeEquivalenceIndex.of(index) or index


class ConsistencyDrift(Detector):
    """Scores how consistently equivalent questions are answered; alarms when that drops.

    Inputs are grouped online (see
    :class:`~watchkeeper.detectors.consistency.equivalence.EquivalenceIndex`: normalised
    hash, bottom-k MinHash LSH, guarded against number and name swaps). When a call's input
    joins a group that already has answers, its answer is compared with the group's first
    ``answers_per_group`` answers (its reference): the score ``consistency`` is the mean
    estimated Jaccard similarity of their content words, halved for an answer whose numbers
    contradict a reference answer ("30 days" against "14 days"). 1 means the same answer
    again. The reference is kept, not slid: comparing with the last answers would make one
    odd answer lower the next few scores of its group, and the change detector assumes
    scores that do not lean on each other. Drops in that stream (a new model, a higher
    temperature, a retrieval index gone stale) are detected with a one-sided
    :class:`~watchkeeper.detectors.change.rank_cusum.SelfStartingCusum`.

    ``consistency_coverage`` (every call) is the running share of calls that could be
    scored, i.e. whose question had been asked before: read consistency scores with it.

    With ``embed`` (text -> vector, e.g.
    :class:`~watchkeeper.detectors.semantic.minilm.MiniLmEmbedding`), questions the lexical
    index does not match also go to a
    :class:`~watchkeeper.detectors.consistency.semantic_index.SemanticIndex`: paraphrases
    found by the cosine of their embeddings (at least ``embed_threshold``), answers compared
    by theirs, scored as ``consistency_semantic`` (its own stratum of the CUSUM). Embeddings
    are made on a budget of ``embed_budget`` per call on average (saved up to 20 for a
    burst): calls beyond it get no semantic score. Off by default: at 0.01, about 100 µs
    per call on average with MiniLM (see docs/detectors.md).

    Parameters
    ----------
    max_groups
        Bound on groups of equivalent inputs kept (least recently used evicted).
    threshold
        Similarity of content words from which two inputs are equivalent.
    answers_per_group
        Earlier answers a new answer is compared with.
    target_arl, shift, warmup, seed
        As for :class:`~watchkeeper.detectors.descriptor_drift.DescriptorDrift`, counted in
        scored calls.
    embed, embed_budget, embed_threshold
        The embedding, embeddings per call on average, and the cosine from which two
        questions are equivalent (see above).

    Examples
    --------
    >>> from watchkeeper.detectors import Call
    >>> detector = ConsistencyDrift()
    >>> detector.update(Call("What is the refund window?", "Refunds are possible within 30 days."))
    >>> detector.scores
    {'consistency_coverage': 0.0}
    >>> detector.update(Call("what's the refund window", "You can get a refund within 30 days."))
    >>> round(detector.scores["consistency"], 2)
    0.75
    >>> detector.update(Call("What is the refund window", "Refunds are possible within 14 days."))
    >>> round(detector.scores["consistency"], 2)  # contradicts both earlier answers on "30"
    0.44
    """

    name = "consistency_drift"
    score_name = "consistency"
    # Defaults for checkpoints saved before the embedding option.
    embed: Embed | None = None
    embed_budget = EMBED_BUDGET
    embed_threshold = 0.8
    semantic: SemanticIndex | None = None
    _tokens = 1.0
    change_signal = "the consistency score of a call whose input had an earlier equivalent"

    def __init__(
        self,
        *,
        max_groups: int = 500,
        threshold: float = 0.7,
        answers_per_group: int = 3,
        target_arl: float = TARGET_ARL,
        shift: float = SHIFT,
        warmup: int = 50,
        seed: int = 0,
        embed: Embed | None = None,
        embed_budget: float = EMBED_BUDGET,
        embed_threshold: float = 0.8,
    ) -> None:
        self.max_groups = max_groups
        self.threshold = threshold
        self.answers_per_group = answers_per_group
        self.target_arl = target_arl
        self.shift = shift
        self.warmup = warmup
        self.seed = seed
        self.embed = embed
        self.embed_budget = embed_budget
        self.embed_threshold = embed_threshold
        #: The embedding index of questions the lexical one did not match (with ``embed``).
        self.semantic = (
            SemanticIndex(
                embed,
                max_groups=max_groups,
                threshold=embed_threshold,
                answers_per_group=answers_per_group,
            )
            if embed is not None
            else None
        )
        self._tokens = 1.0
        self._index = _answer_index(EquivalenceIndex(max_groups=max_groups, threshold=threshold))
        self._cusum = SelfStartingCusum(
            target_arl=target_arl, shift=shift, direction="down", warmup=warmup, seed=seed
        )
        #: Running share of calls whose input had an equivalent earlier input with an answer.
        self.coverage = 0.0
        self._seen = 0
        self._scores: dict[str, float] = {}
        self._drift = False

    @property
    def index(self) -> EquivalenceIndex:
        """The groups of equivalent inputs (a copy, when the compiled core keeps them)."""
        if isinstance(self._index, EquivalenceIndex):
            return self._index
        index = EquivalenceIndex(max_groups=self.max_groups, threshold=self.threshold)
        index.restore(self._index.state())
        return index

    def update(self, call: CallView) -> None:
        """Group the input, score the answer against the group's earlier answers."""
        self._drift = False
        if call.is_error:
            self._scores = {}
            return
        name, score = self._observe(call)
        if score is not None:
            stratum = 0 if name == "consistency" else 1
            if self._change is not None:
                self._drift = bool(self._plugged_alarm(score, "down", stratum))
            else:
                self._cusum.update(score, stratum)
                self._drift = self._cusum.drift_detected
            self._scores = {name: score, "consistency_coverage": self.coverage}
        else:
            self._scores = {"consistency_coverage": self.coverage}

    def update_many(self, calls: Sequence[CallView]) -> DetectorBatch:
        """``update`` with each call in turn: the scores first, then the CUSUM over them."""
        if type(self).update is not ConsistencyDrift.update or self.semantic is not None:
            return super().update_many(calls)  # a subclass's own update, or embeddings
        nan = math.nan
        consistency = [nan] * len(calls)
        coverage = [nan] * len(calls)
        columns = columns_of(calls)
        failed = columns.failed
        if True in failed:
            observed = [i for i, error in enumerate(failed) if not error]
            inputs = [columns.inputs[i] for i in observed]
            outputs = [columns.outputs[i] for i in observed]
        else:  # no call failed (the usual run): the shared columns as they are
            observed, inputs, outputs = list(range(len(calls))), columns.inputs, columns.outputs
        found = self._index.observe_many(inputs, outputs, self.answers_per_group)
        scored: list[float] = []
        at: list[int] = []
        for i, score in zip(observed, found, strict=True):
            coverage[i] = self._cover(score)
            if score is not None:
                consistency[i] = score
                scored.append(score)
                at.append(i)
        if self._change is not None:
            plugged = self._plugged_alarm
            changes = [(j, "down") for j, score in enumerate(scored) if plugged(score, "down")]
        else:
            _, changes = self._cusum.update_many(scored)
        alarms = [(at[j], self._reason(coverage[at[j]])) for j, _ in changes]
        if calls:  # describe the last call, as ``update`` would have
            last = len(calls) - 1
            self._scores = {
                name: column[last]
                for name, column in (
                    ("consistency", consistency),
                    ("consistency_coverage", coverage),
                )
                if not math.isnan(column[last])
            }
            self._drift = bool(alarms) and alarms[-1][0] == last
        return DetectorBatch({"consistency": consistency, "consistency_coverage": coverage}, alarms)

    def _observe(self, call: CallView) -> tuple[str, float | None]:
        """The call's score and its name (None when its input had no earlier equivalent
        with an answer); keeps the input's group and the running coverage up to date.

        With ``embed``, a question the lexical index did not match goes to the embedding
        index while the budget lasts: ``embed_budget`` embeddings per call on average.
        """
        text, output = call.input_text or "", call.output_text or ""
        score = self._index.observe(text, output, self.answers_per_group)
        name = "consistency"
        semantic = self.semantic
        if semantic is not None:
            self._tokens = min(EMBED_BURST, self._tokens + self.embed_budget)
            if score is None and self._tokens >= 1.0:
                made = semantic.embeddings
                score = semantic.observe(text, output)
                self._tokens -= semantic.embeddings - made
                name = "consistency_semantic"
        self._cover(score)
        return name, score

    def _cover(self, score: float | None) -> float:
        """The running coverage after a call scored ``score`` (None: no equivalent)."""
        self._seen += 1
        alpha = max(_COVERAGE_ALPHA, 1.0 / self._seen)
        self.coverage += alpha * ((0.0 if score is None else 1.0) - self.coverage)
        return self.coverage

    def __getstate__(self) -> dict[str, object]:
        # Checkpoints hold the Python index, whether or not the core keeps it.
        state = self.__dict__.copy()
        state["_index"] = self.index
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.__dict__.pop("_core", None)  # an unused slot some checkpoints hold
        self._index = _answer_index(self.index)

    @property
    def scores(self) -> Mapping[str, float]:
        """``consistency`` (when the input had earlier equivalents) and ``consistency_coverage``."""
        return self._scores

    @property
    def drift_detected(self) -> bool:
        """True when the last call completed the detection of a drop in consistency."""
        return self._drift

    @property
    def scorer_version(self) -> str | None:
        """The embedding's name when equivalent inputs are also found by ``embed``."""
        return embedding_version(self.embed)

    @property
    def alarm_reason(self) -> str:
        """Says consistency fell, with the group coverage it was measured on."""
        return self._reason(self.coverage) if self._drift else ""

    @staticmethod
    def _reason(coverage: float) -> str:
        return f"answers to equivalent inputs became less consistent (coverage {coverage:.0%})"

    def _params(self) -> dict[str, object]:
        return {
            "max_groups": self.max_groups,
            "threshold": self.threshold,
            "answers_per_group": self.answers_per_group,
            "target_arl": self.target_arl,
            "shift": self.shift,
            "warmup": self.warmup,
            "seed": self.seed,
            "embed": self.embed,
            "embed_budget": self.embed_budget,
            "embed_threshold": self.embed_threshold,
        }
