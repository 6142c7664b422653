"""Faithfulness of RAG answers to their contexts, and drops in it beyond length effects."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from watchkeeper.detectors.base import CallView, Detector, DetectorBatch
from watchkeeper.detectors.change.rank_cusum import SelfStartingCusum
from watchkeeper.detectors.change.river_test import ChangeTest
from watchkeeper.detectors.descriptor_drift import SHIFT, TARGET_ARL
from watchkeeper.detectors.faithfulness.claims import ClaimGroundedness
from watchkeeper.detectors.faithfulness.groundedness import GroundednessScorer
from watchkeeper.detectors.faithfulness.length_control import LengthControl, coarse_length_bin
from watchkeeper.detectors.text.tokens import content_words

#: Weight of the latest call in the running means quoted by alarms (about 100 calls).
_RECENT_ALPHA = 0.01
#: Contexts an answer is scored against, in retrieval order: alignment costs grow with
#: the number of passages (100,000 took over a minute), and retrievers rank the best first.
MAX_CONTEXTS = 100


class FaithfulnessDrift(Detector):
    """Scores RAG answers for groundedness in their contexts; alarms when grounding drops.

    Per call with retrieved contexts and an answer:

    - ``faithfulness``: the scorer's support of the answer by the contexts, 1.0 = fully
      grounded (by default :class:`~watchkeeper.detectors.faithfulness.claims.ClaimGroundedness`,
      which checks each sentence of the answer against its best-aligned context sentence;
      ``LexicalGroundedness`` is the cheaper word-overlap scorer; any ``GroundednessScorer``,
      such as a local NLI model, can replace it: see
      :mod:`~watchkeeper.detectors.faithfulness.groundedness`);
    - ``faithfulness_length_control``: the score the answer's *length alone* predicts, from
      the first ``reference_calls`` scored answers (see
      :class:`~watchkeeper.detectors.faithfulness.length_control.LengthControl`), reported
      beside it always.

    The change detector watches what length does not explain: the score minus its
    length-only control, ranked among earlier answers of the same order of length (a
    one-sided :class:`~watchkeeper.detectors.change.rank_cusum.SelfStartingCusum` with one
    stratum per doubling of length; ``change_test`` replaces it, e.g. by a river detector
    through :class:`~watchkeeper.detectors.change.river_test.RiverChangeTest`). Answers
    merely getting longer or shorter do not read as a change in grounding; made-up content
    does, whatever its length. Alarm messages quote the recent means of both scores, so a
    reader sees at once how much of a fall in the raw score length alone explains.

    Examples
    --------
    >>> from watchkeeper.detectors import Call
    >>> detector = FaithfulnessDrift()
    >>> contexts = ["The Lumen Pro plan costs 12 dollars per month and includes sync."]
    >>> detector.update(Call("price?", "The Pro plan costs 12 dollars per month.", contexts))
    >>> detector.scores
    {'faithfulness': 1.0}
    >>> detector.update(Call("price?", "It costs 15 dollars.", []))  # no contexts: no score
    >>> detector.scores
    {}
    """

    name = "faithfulness_drift"
    score_name = "faithfulness"

    def __init__(
        self,
        scorer: GroundednessScorer | None = None,
        *,
        reference_calls: int = 300,
        target_arl: float = TARGET_ARL,
        shift: float = SHIFT,
        warmup: int = 50,
        seed: int = 0,
        change_test: ChangeTest | None = None,
    ) -> None:
        self.scorer: GroundednessScorer = scorer if scorer is not None else ClaimGroundedness()
        self.reference_calls = reference_calls
        self.target_arl = target_arl
        self.shift = shift
        self.warmup = warmup
        self.seed = seed
        self.control = LengthControl(reference_calls)
        #: A change test to use instead of the calibrated CUSUM (e.g. a
        #: ``RiverChangeTest``); kept as a template, each instance learns a fresh copy.
        self.change_test = change_test
        self._cusum: ChangeTest | SelfStartingCusum = (
            change_test.fresh()
            if change_test is not None
            else SelfStartingCusum(
                target_arl=target_arl, shift=shift, direction="down", warmup=warmup, seed=seed
            )
        )
        #: Running means of the score and of its length-only control (about 100 calls).
        self.recent_faithfulness = math.nan
        self.recent_control = math.nan
        self._scores: dict[str, float] = {}
        self._drift = False

    def update(self, call: CallView) -> None:
        """Score the answer against its contexts; watch the part length does not explain."""
        self._drift = False
        self._scores = {}
        contexts = call.contexts[:MAX_CONTEXTS]
        answer = call.output_text or ""
        if call.is_error or not contexts or not answer.strip():
            return
        if isinstance(self.scorer, ClaimGroundedness):
            score = self.scorer(answer, contexts, question=call.input_text or "")
        else:
            score = float(self.scorer(answer, contexts))
        if not math.isfinite(score):
            return
        score = min(1.0, max(0.0, score))
        length = len(content_words(answer))
        control = self.control
        if not control.frozen:
            control.learn(length, score)
            self._scores = {"faithfulness": score}
            return
        expected = control.predict(length)
        self._scores = {"faithfulness": score, "faithfulness_length_control": expected}
        if math.isnan(self.recent_faithfulness):
            self.recent_faithfulness, self.recent_control = score, expected
        else:
            self.recent_faithfulness += _RECENT_ALPHA * (score - self.recent_faithfulness)
            self.recent_control += _RECENT_ALPHA * (expected - self.recent_control)
        self._cusum.update(score - expected, stratum=coarse_length_bin(length))
        self._drift = self._cusum.drift_detected

    def update_many(self, calls: Sequence[CallView]) -> DetectorBatch:
        """``update`` with each call that has contexts (for the others it only says the
        call got nothing, which is then said of the last call if it is one of them)."""
        if type(self).update is not FaithfulnessDrift.update:
            return super().update_many(calls)
        found = self._update_each(calls, [i for i, call in enumerate(calls) if call.contexts])
        if calls and not calls[-1].contexts:
            self._drift = False
            self._scores = {}
        return found

    @property
    def scores(self) -> Mapping[str, float]:
        """``faithfulness`` and, once learned, ``faithfulness_length_control``."""
        return self._scores

    @property
    def scorer_version(self) -> str:
        """Name and version of the scoring behind ``faithfulness``: a change of it is a
        change in the data, not in the app."""
        return str(getattr(self.scorer, "version", type(self.scorer).__name__))

    @property
    def drift_detected(self) -> bool:
        """True when the last call completed the detection of a drop in grounding."""
        return self._drift

    @property
    def alarm_reason(self) -> str:
        """The recent faithfulness, the reference, and what length alone would predict."""
        if not self._drift:
            return ""
        return (
            f"answers less grounded in their contexts: faithfulness {self.recent_faithfulness:.2f}"
            f" (reference {self.control.reference_mean:.2f}), length-only control "
            f"{self.recent_control:.2f}"
        )

    def _params(self) -> dict[str, object]:
        return {
            "scorer": self.scorer,
            "reference_calls": self.reference_calls,
            "target_arl": self.target_arl,
            "shift": self.shift,
            "warmup": self.warmup,
            "seed": self.seed,
            "change_test": self.change_test,
        }
