"""A windowed test of a categorical stream against a reference histogram (Hellinger, PSI)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: Calibration draws per expected exceedance of the threshold (see ``calibrate_threshold``).
_DRAWS_PER_EXCEEDANCE = 25
_MAX_DRAWS = 50_000
#: Beyond the draws' reach, the tail above this share of them is extrapolated.
_TAIL_SHARE = 0.01

#: The thread calibrations run on (made on first use; see ``WindowedHistogramTest``).
_calibrator: ThreadPoolExecutor | None = None


#: ``(start, scale)`` of the squared distances' tail fitted to ``_MAX_DRAWS`` draws: every
#: probability below what those draws reach gets its threshold from it.
Tail = tuple[float, float]


def _calibrate_in_background(
    reference: Sequence[int], window: int, false_alarm_probability: float, seed: int
) -> Future[tuple[float, Tail | None]]:
    global _calibrator  # noqa: PLW0603 - one thread for the process, made when first needed
    if _calibrator is None:
        _calibrator = ThreadPoolExecutor(1, thread_name_prefix="watchkeeper-calibrate")
    return _calibrator.submit(_calibrate, reference, window, false_alarm_probability, seed)


def _calibrate(
    reference: Sequence[int], window: int, false_alarm_probability: float, seed: int
) -> tuple[float, Tail | None]:
    """The threshold, and the tail it came from when it was extrapolated from
    ``_MAX_DRAWS`` draws (else None)."""
    draws = _draws(false_alarm_probability)
    if false_alarm_probability * draws >= _DRAWS_PER_EXCEEDANCE:
        return calibrate_threshold(reference, window, false_alarm_probability, seed), None
    tail = _fit_tail(_simulated(reference, window, draws, seed))
    return _extrapolated(tail, false_alarm_probability), tail if draws == _MAX_DRAWS else None


def _forget_calibrator() -> None:
    # A forked child has the executor object but not its thread: work sent to it would
    # never run.
    global _calibrator  # noqa: PLW0603
    _calibrator = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_calibrator)


def hellinger(counts: Sequence[int], reference: Sequence[int]) -> float:
    """Hellinger distance between two histograms, in [0, 1] (0: same shape).

    >>> hellinger([5, 5], [50, 50]), round(hellinger([10, 0], [0, 10]), 3)
    (0.0, 1.0)
    """
    n, m = sum(counts), sum(reference)
    if n == 0 or m == 0:
        return 0.0
    overlap = sum(math.sqrt(c * r) for c, r in zip(counts, reference, strict=True))
    return math.sqrt(max(0.0, 1.0 - overlap / math.sqrt(n * m)))


def psi(counts: Sequence[int], reference: Sequence[int]) -> float:
    """Population stability index, half a count added to every bucket (never infinite).

    The industry's rule of thumb reads below 0.1 as stable and above 0.25 as a major shift.

    >>> round(psi([30, 70], [50, 50]), 3)
    0.166
    """
    n, m = sum(counts), sum(reference)
    k = len(counts)
    total = 0.0
    for c, r in zip(counts, reference, strict=True):
        p = (c + 0.5) / (n + 0.5 * k)
        q = (r + 0.5) / (m + 0.5 * k)
        total += (p - q) * math.log(p / q)
    return total


def calibrate_threshold(
    reference: Sequence[int], window: int, false_alarm_probability: float, seed: int = 0
) -> float:
    """The Hellinger distance a window exceeds with the given probability on a stable stream.

    Simulated, not approximated: windows are drawn from the reference's frequencies, and so
    is a second reference of the same size (the reference is itself a sample), so the
    threshold holds for sparse buckets where chi-square approximations fail.

    A false-alarm budget asks for probabilities far below what ``_MAX_DRAWS`` draws can
    reach (one false page a week over 130 detector-keys at 10 calls/s: 3e-7 per window of
    250; the largest of 50,000 draws stands for about 2e-5, which made 35 times the false
    alarms asked for). There the threshold comes from the upper ``_TAIL_SHARE`` of the
    draws: the squared distance, a chi-square-like sum, has a tail that falls at least
    exponentially, so extending the exponential fitted to that share (its mean excess)
    errs high, towards fewer false alarms. On the benchmark's topic reference, checked
    against 20 million draws: asked 5e-6, got 5.6e-6; asked 1e-6, got 6.5e-7; asked
    3.2e-7, got about 1e-7.
    """
    import numpy as np  # only when a reference is frozen, never per call

    draws = _draws(false_alarm_probability)
    distances = _simulated(reference, window, draws, seed)
    if false_alarm_probability * draws >= _DRAWS_PER_EXCEEDANCE:
        return float(np.quantile(distances, 1.0 - false_alarm_probability))
    return _extrapolated(_fit_tail(distances), false_alarm_probability)


def _draws(false_alarm_probability: float) -> int:
    return min(_MAX_DRAWS, max(2000, int(_DRAWS_PER_EXCEEDANCE / false_alarm_probability)))


def _simulated(reference: Sequence[int], window: int, draws: int, seed: int) -> Any:
    """Hellinger distances of ``draws`` simulated windows from simulated references."""
    import numpy as np

    counts = np.asarray(reference, dtype=float)
    total = int(counts.sum())
    if total == 0:
        raise ValueError("the reference histogram is empty")
    probabilities = counts / counts.sum()
    rng = np.random.default_rng(seed)
    windows = rng.multinomial(window, probabilities, size=draws).astype(float)
    references = rng.multinomial(total, probabilities, size=draws).astype(float)
    overlap = np.sqrt(windows * references).sum(axis=1) / math.sqrt(window * total)
    return np.sqrt(np.clip(1.0 - overlap, 0.0, None))


def _fit_tail(distances: Any) -> Tail:
    import numpy as np

    squared = distances * distances
    start = float(np.quantile(squared, 1.0 - _TAIL_SHARE))
    excess = squared[squared > start] - start
    return start, float(excess.mean()) if excess.size else 0.0


def _extrapolated(tail: Tail, false_alarm_probability: float) -> float:
    start, scale = tail
    return math.sqrt(start + scale * math.log(_TAIL_SHARE / false_alarm_probability))


def _is_tail(false_alarm_probability: float) -> bool:
    """Whether this probability's threshold is extrapolated from ``_MAX_DRAWS`` draws."""
    draws = _draws(false_alarm_probability)
    return draws == _MAX_DRAWS and false_alarm_probability * draws < _DRAWS_PER_EXCEEDANCE


class WindowedHistogramTest:
    """Compares each tumbling window of bucket ids with a frozen reference histogram.

    At the end of every ``window`` observations the Hellinger distance between the window's
    histogram and the reference is compared with a threshold calibrated by simulation so
    that a stable stream exceeds it once per ``target_arl`` observations on average (each
    window is an independent test with false-alarm probability ``window / target_arl``).
    PSI is computed alongside for readers used to it.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(3)
    >>> test = WindowedHistogramTest([400, 300, 200, 100], window=200, target_arl=100_000)
    >>> alarms = []
    >>> for i in range(4000):
    ...     weights = [4, 3, 2, 1] if i < 2000 else [1, 2, 3, 4]
    ...     test.update(rng.choices(range(4), weights)[0])
    ...     if test.drift_detected:
    ...         alarms.append(i)
    >>> alarms[0]
    2199
    """

    def __init__(
        self,
        reference: Sequence[int],
        window: int = 250,
        target_arl: float = 200_000,
        seed: int = 0,
    ) -> None:
        if window < 10:
            raise ValueError(f"window must be at least 10, got {window}")
        if target_arl <= window:
            raise ValueError("target_arl must be larger than the window")
        self.reference = list(reference)
        self.window = window
        self.target_arl = target_arl
        self.seed = seed
        if sum(self.reference) <= 0:
            raise ValueError("the reference histogram is empty")
        # The simulation (~0.1 s, numpy without the GIL for most of it) runs on another
        # thread: the threshold is first needed when the first window closes, ``window``
        # observations later, and the thread feeding the detectors goes on meanwhile.
        self._threshold: float | None = None
        self._calibration: Future[tuple[float, Tail | None]] | None = _calibrate_in_background(
            self.reference, window, window / target_arl, seed
        )
        #: Hellinger distance and PSI of the last completed window (NaN before the first).
        self.hellinger = math.nan
        self.psi = math.nan
        #: True when the last observation closed a window that exceeded the threshold.
        self.drift_detected = False
        #: True when the last observation closed a window.
        self.window_closed = False
        self._counts = [0] * len(self.reference)
        self._seen = 0

    @property
    def threshold(self) -> float:
        """The Hellinger distance a window must exceed to raise an alarm (waits for the
        calibration if it is still running)."""
        if self._threshold is None:
            assert self._calibration is not None
            self._threshold, tail = self._calibration.result()
            self._tail = tail or self._tail
            self._calibration = None
        return self._threshold

    def set_target_arl(self, target_arl: float) -> None:
        """Recalibrate for ``target_arl`` (in the background, as at start: the window under
        way is kept and waits for the new threshold only if it closes first)."""
        if target_arl <= self.window:
            raise ValueError("target_arl must be larger than the window")
        if target_arl != self.target_arl:
            self.target_arl = target_arl
            probability = self.window / target_arl
            if self._calibration is None and self._tail is not None and _is_tail(probability):
                # The same draws (same reference, window, seed and count) would be made
                # again: the fitted tail gives the threshold at once, the same value.
                self._threshold = _extrapolated(self._tail, probability)
                return
            self._threshold = None
            self._calibration = _calibrate_in_background(
                self.reference, self.window, probability, self.seed
            )

    #: The tail fitted to the reference's ``_MAX_DRAWS`` draws, once a calibration made it.
    _tail: Tail | None = None

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_threshold"] = self.threshold
        state["_calibration"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        if "threshold" in state:  # saved before calibrations ran in the background
            state["_threshold"] = state.pop("threshold")
            state["_calibration"] = None
        self.__dict__.update(state)

    def update(self, bucket: int) -> None:
        """Count one observation of ``bucket`` (an index into the reference)."""
        self._counts[bucket] += 1
        self._seen += 1
        self.drift_detected = False
        self.window_closed = self._seen >= self.window
        if self.window_closed:
            self.hellinger = hellinger(self._counts, self.reference)
            self.psi = psi(self._counts, self.reference)
            self.drift_detected = self.hellinger > self.threshold
            self._counts = [0] * len(self.reference)
            self._seen = 0
