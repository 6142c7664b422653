"""Drift in what inputs are about: a histogram test over keyword topics."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence

from watchkeeper.detectors.base import CallView, Detector, DetectorBatch
from watchkeeper.detectors.call_run import columns_of
from watchkeeper.detectors.change.histogram_test import WindowedHistogramTest
from watchkeeper.detectors.descriptor_drift import TARGET_ARL
from watchkeeper.detectors.text import ahead
from watchkeeper.detectors.text.tokens import content_words

#: Bound on distinct words counted while keywords are learned.
MAX_LEARNING_WORDS = 8192


class TopicDrift(Detector):
    """Detects a change in the mix of topics of inputs (PSI/Hellinger over topic buckets).

    Topics are keyword buckets, learned without a model: the ``keywords`` content words
    found in most inputs of the first ``learn_calls`` calls. An input's bucket is the most
    specific keyword it contains (the one found in fewest inputs), or ``other``. The
    bucket histogram of the next ``reference_calls`` calls is the reference; then every
    tumbling ``window`` of calls is compared with it (Hellinger distance, PSI alongside)
    by a :class:`~watchkeeper.detectors.change.histogram_test.WindowedHistogramTest`
    calibrated by simulation to ``target_arl`` calls between false alarms.

    The reference can be taken from an evalset (:meth:`with_reference`), frozen
    (:meth:`freeze`: it never changes, and an alarm is raised when the divergence first
    crosses the threshold, again only after it came back) or reset (:meth:`reset_reference`:
    learn from the next calls). An unfrozen reference is relearned after each alarm.

    The score ``topic_divergence`` (Hellinger distance of the last window, 0 = same mix,
    1 = disjoint) is reported on the call that closes a window; ``psi`` holds its PSI.

    Examples
    --------
    >>> from watchkeeper.detectors import Call
    >>> billing = ["refund my invoice", "invoice is wrong", "change billing card"]
    >>> detector = TopicDrift.with_reference(billing * 100, window=60)
    >>> detector.keyword_list
    ['invoice', 'billing', 'card', 'change', 'refund', 'wrong']
    >>> for text in ["the app crashes on login"] * 60:
    ...     detector.update(Call(text))
    >>> detector.drift_detected, round(detector.scores["topic_divergence"], 2)
    (True, 1.0)
    """

    name = "input_topic_drift"
    score_name = "topic_divergence"

    #: The keywords' word table (for the index it was made from), made when the stage
    #: asks for it; not pickled.
    _lookup: tuple[dict[str, int], ahead.AheadLookup] | None = None

    def __init__(
        self,
        *,
        keywords: int = 32,
        learn_calls: int = 500,
        reference_calls: int = 1000,
        window: int = 250,
        target_arl: float = TARGET_ARL,
        seed: int = 0,
    ) -> None:
        self.keywords = keywords
        self.learn_calls = learn_calls
        self.reference_calls = reference_calls
        self.window = window
        self.target_arl = target_arl
        self.seed = seed
        self.frozen = False
        #: Keywords, most common first; bucket ``i`` is ``keyword_list[i]``, the last is other.
        self.keyword_list: list[str] = []
        #: PSI of the last completed window (NaN before).
        self.psi = math.nan
        #: Topic bucket of the last call while monitoring (-1 before).
        self.last_bucket = -1
        self._index: dict[str, int] = {}
        self._learning: dict[str, int] = {}
        self._learned = 0
        self._reference: list[int] = []
        self._test: WindowedHistogramTest | None = None
        self._scores: dict[str, float] = {}
        self._drift = False
        self._above = False
        self._reason = ""

    # --- reference management --------------------------------------------------------------
    @classmethod
    def with_reference(cls, texts: Iterable[str], **params: object) -> TopicDrift:
        """A detector with keywords and reference histogram from ``texts``, frozen."""
        detector = cls(**params)  # type: ignore[arg-type]
        texts = list(texts)
        for text in texts:
            detector._learn(text)
        detector._choose_keywords()
        for text in texts:
            detector._reference[detector.bucket(text)] += 1
        detector._start_test()
        detector.frozen = True
        return detector

    def freeze(self) -> None:
        """Keep the current reference forever (alarms do not relearn it)."""
        self.frozen = True

    def reset_reference(self) -> None:
        """Forget keywords and reference; learn them again from the next calls."""
        self.keyword_list = []
        self._index = {}
        self._learning = {}
        self._learned = 0
        self._reference = []
        self._test = None
        self._above = False

    @property
    def reference_histogram(self) -> list[int]:
        """Calls per bucket in the reference (empty while keywords are learned)."""
        return list(self._reference)

    @property
    def monitoring(self) -> bool:
        """True once the reference is complete and windows are being tested."""
        return self._test is not None

    def bucket(self, text: str) -> int:
        """Topic bucket of ``text``: its most specific keyword, or the last bucket (other)."""
        return self._bucket(text, self._held_ahead())

    def _held_ahead(self) -> Mapping[str, tuple[int, int, int]]:
        """The counts of the keywords' table looked up ahead, by text (while the table is
        the current one's; none else)."""
        return ahead.held_for(self._lookup, self._index)

    def _bucket(self, text: str, held: Mapping[str, tuple[int, int, int]]) -> int:
        """``bucket``, with the counts found ahead (``_held_ahead``) at hand."""
        counts = held.get(text)
        if counts is not None:
            best: int = counts[2]  # the most specific keyword's index
        else:
            # The keywords among the words (a set operation in C), then the most specific.
            index = self._index
            best = max(map(index.__getitem__, index.keys() & content_words(text)), default=-1)
        return best if best >= 0 else len(self.keyword_list)

    def ahead_lookups(self) -> Sequence[ahead.AheadLookup]:
        """The keywords, once chosen, to look up in the next inputs ahead of them."""
        index = self._index
        if not index or not ahead.CAN_LOOK_UP:
            return ()
        held = self._lookup
        if held is None or held[0] is not index:
            table = ahead.lookup(self.name, index)
            if table is None:
                return ()
            held = self._lookup = (index, table)
        return (held[1],)

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state.pop("_lookup", None)  # made again from the keywords when needed
        return state

    # --- streaming ------------------------------------------------------------------------
    def update(self, call: CallView) -> None:
        """Learn keywords, then the reference, then test each window of calls."""
        self._scores = {}
        self._drift = False
        text = call.input_text or ""
        test = self._test
        if test is None:
            if self._learned < self.learn_calls:
                self._learn(text)
                if self._learned >= self.learn_calls:
                    self._choose_keywords()
                return
            self._reference[self.bucket(text)] += 1
            if sum(self._reference) >= self.reference_calls:
                self._start_test()
            return
        self.last_bucket = self.bucket(text)
        test.update(self.last_bucket)
        if test.window_closed:
            self._close_window(test)

    def update_many(self, calls: Sequence[CallView]) -> DetectorBatch:
        """``update`` with each call in turn; while windows are tested (most calls), the
        run's buckets are found with the counts looked up ahead read once for the run."""
        if type(self).update is not TopicDrift.update:
            return super().update_many(calls)  # a subclass's own update decides
        scores: dict[str, list[float]] = {}
        alarms: list[tuple[int, str]] = []
        i = 0
        while i < len(calls):
            if self._test is None:  # learning keywords or the reference: call by call
                found = self._update_each(calls, range(i, i + 1))
                for name, column in found.scores.items():
                    scores.setdefault(name, [math.nan] * len(calls))[i] = column[i]
                alarms.extend(found.alarms)
                i += 1
            else:
                i = self._monitor(calls, i, scores, alarms)
        return DetectorBatch(scores, alarms)

    def _monitor(
        self,
        calls: Sequence[CallView],
        start: int,
        scores: dict[str, list[float]],
        alarms: list[tuple[int, str]],
    ) -> int:
        """``update`` of ``calls[start:]`` while a window test runs: until the end, or the
        call after an alarm that relearns the reference; returns where it stopped."""
        test = self._test
        assert test is not None
        held = self._held_ahead()
        bucket = self._bucket
        inputs = columns_of(calls).inputs
        for i in range(start, len(calls)):
            self.last_bucket = found = bucket(inputs[i], held)
            test.update(found)
            if not test.window_closed:
                continue
            self._drift = False
            self._close_window(test)
            scores.setdefault(self.score_name, [math.nan] * len(calls))[i] = float(test.hellinger)
            if self._drift:
                alarms.append((i, self._reason))
            if self._test is not test:  # relearning from the next call
                return i + 1
        if not test.window_closed:  # the last call closed no window: as ``update`` leaves it
            self._scores = {}
            self._drift = False
        return len(calls)

    def _close_window(self, test: WindowedHistogramTest) -> None:
        """The scores and the alarm of the window ``test`` just closed (``_drift`` is
        False before)."""
        self.psi = test.psi
        self._scores = {self.score_name: test.hellinger}
        if test.drift_detected and not self._above:
            self._drift = True
            self._reason = (
                f"topic mix changed: Hellinger {test.hellinger:.2f} > {test.threshold:.2f}, "
                f"PSI {test.psi:.2f}"
            )
        self._above = test.drift_detected
        if self._drift and not self.frozen:
            self.reset_reference()

    def _learn(self, text: str) -> None:
        counts = self._learning
        room = len(counts) < MAX_LEARNING_WORDS
        for w in set(content_words(text)):
            if w in counts:
                counts[w] += 1
            elif room:
                counts[sys.intern(w)] = 1
        self._learned += 1

    def _choose_keywords(self) -> None:
        ranked = sorted(self._learning.items(), key=lambda item: (-item[1], item[0]))
        self.keyword_list = [w for w, n in ranked[: self.keywords] if n >= 2]
        self._index = {w: i for i, w in enumerate(self.keyword_list)}
        self._learning = {}
        self._reference = [0] * (len(self.keyword_list) + 1)

    def set_target_arl(self, target_arl: float) -> None:
        """Recalibrate the window test too (a false-alarm budget moves the target as the
        traffic and the number of keys settle); learning is kept."""
        self.target_arl = target_arl
        if self._test is not None:
            self._test.set_target_arl(target_arl)

    def _start_test(self) -> None:
        self._test = WindowedHistogramTest(
            self._reference, window=self.window, target_arl=self.target_arl, seed=self.seed
        )

    # --- results --------------------------------------------------------------------------
    @property
    def scores(self) -> Mapping[str, float]:
        """``topic_divergence`` on the call that closes a window; empty on other calls."""
        return self._scores

    @property
    def drift_detected(self) -> bool:
        """True when the last call closed a window whose divergence crossed the threshold."""
        return self._drift

    @property
    def alarm_reason(self) -> str:
        """The divergence and threshold of the window that raised the alarm."""
        return self._reason if self._drift else ""

    def _params(self) -> dict[str, object]:
        return {
            "keywords": self.keywords,
            "learn_calls": self.learn_calls,
            "reference_calls": self.reference_calls,
            "window": self.window,
            "target_arl": self.target_arl,
            "seed": self.seed,
        }
