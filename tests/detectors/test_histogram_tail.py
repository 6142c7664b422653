"""The topic test's threshold keeps its false-alarm probability below what its simulation
can reach, as a false-page budget asks (3e-7 per window at the benchmark's traffic)."""

from __future__ import annotations

import math

import numpy as np

from watchkeeper.detectors.change import histogram_test
from watchkeeper.detectors.change.histogram_test import WindowedHistogramTest, calibrate_threshold

#: The benchmark's topic reference (bench.alerting.false_pages, seed 0): 33 buckets, many
#: of them sparse or empty.
REFERENCE = [1, 39, 0, 33, 7, 0, 49, 0, 55, 61, 0, 57, 0, 0, 59, 45, 0, 49, 0, 49, 24, 49,
             7, 42, 20, 2, 7, 14, 0, 9, 2, 10, 310]  # fmt: skip
WINDOW = 250


def _exceeding(threshold: float, draws: int, seed: int) -> int:
    """Stable windows (and references, themselves samples) over ``threshold``."""
    rng = np.random.default_rng(seed)
    counts = np.asarray(REFERENCE, dtype=float)
    probabilities, total = counts / counts.sum(), int(counts.sum())
    over = 0
    for start in range(0, draws, 100_000):
        size = min(100_000, draws - start)
        windows = rng.multinomial(WINDOW, probabilities, size=size).astype(float)
        references = rng.multinomial(total, probabilities, size=size).astype(float)
        overlap = np.sqrt(windows * references).sum(axis=1) / math.sqrt(WINDOW * total)
        over += int((np.sqrt(np.clip(1.0 - overlap, 0.0, None)) > threshold).sum())
    return over


def test_rarer_false_alarms_need_larger_distances_beyond_the_draws() -> None:
    """Below the draws' reach (2e-5 for 50,000) the threshold still grows as the asked
    probability falls; read off the draws, it stopped at their largest (0.223 here, which
    alarmed 35 times as often as asked at 3.2e-7)."""
    thresholds = [calibrate_threshold(REFERENCE, WINDOW, p) for p in (1e-4, 1e-5, 1e-6, 3.2e-7)]
    assert thresholds == sorted(thresholds)
    assert len(set(thresholds)) == 4
    assert thresholds[-1] > 0.235


def test_an_extrapolated_threshold_keeps_its_probability() -> None:
    """Asked 1e-4 per window (beyond 25 draws per exceedance, so extrapolated), 400,000
    stable windows exceed it about 40 times; fewer is the safe side, more than 1.5 times
    that would spend more than the budget."""
    threshold = calibrate_threshold(REFERENCE, WINDOW, 1e-4)
    over = _exceeding(threshold, 400_000, seed=5)
    assert 10 <= over <= 60, over


def test_a_new_target_reaches_a_running_topic_test() -> None:
    """A budget that moves a topic detector's target (more keys, more traffic) recalibrates
    its running window test to it, keeping what it learned; before, the test kept the
    target it started with."""
    from watchkeeper.detectors import Call
    from watchkeeper.detectors.drift.topic import TopicDrift

    detector = TopicDrift.with_reference(["refund my invoice", "reset my password"] * 200)
    before = detector.reference_histogram
    detector.set_target_arl(1e9)
    detector.update(Call("refund my invoice"))
    assert detector.reference_histogram == before
    assert detector._test is not None
    assert detector._test.threshold == calibrate_threshold(before, 250, 250 / 1e9)


def test_a_moved_target_reuses_the_fitted_tail_with_the_same_threshold() -> None:
    """Moving the target within the extrapolated range gives at once (no new simulation)
    the threshold a fresh calibration gives, exactly; a target whose threshold is a
    quantile of fewer draws is calibrated again."""
    reference = [400, 300, 200, 100, 50]
    test = WindowedHistogramTest(reference, window=250, target_arl=2e10)
    assert test.threshold == calibrate_threshold(reference, 250, 250 / 2e10)
    for target in (2.5e10, 1.7e10, 3e9):
        test.set_target_arl(target)
        assert test._calibration is None
        assert test.threshold == calibrate_threshold(reference, 250, 250 / target)
    test.set_target_arl(1e5)  # p = 2.5e-3: a quantile of 10,000 draws
    assert histogram_test._draws(250 / 1e5) == 10_000
    assert test._calibration is not None
    assert test.threshold == calibrate_threshold(reference, 250, 250 / 1e5)
