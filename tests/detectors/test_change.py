"""Calibrated change detection: thresholds from false-alarm targets, and the tests using them."""

from __future__ import annotations

import math
import pickle
import random

import pytest

from watchkeeper.detectors.change.calibration import (
    cusum_arl,
    cusum_threshold,
    tilted_cusum_arl,
)
from watchkeeper.detectors.change.cell_scores import calibrate_cells, expected_normal_score
from watchkeeper.detectors.change.histogram_test import (
    WindowedHistogramTest,
    calibrate_threshold,
    hellinger,
    psi,
)
from watchkeeper.detectors.change.rank_cusum import SelfStartingCusum
from watchkeeper.detectors.change.sequential_ranks import SequentialRanks


@pytest.mark.parametrize("target", [500, 20_000, 1_000_000])
def test_threshold_inverts_the_run_length(target: int) -> None:
    """The threshold for a target gives back that target (Siegmund's approximation)."""
    h = cusum_threshold(target, k=0.15)
    assert cusum_arl(0.15, h) == pytest.approx(target, rel=1e-6)
    assert cusum_arl(0.15, h, shift=0.5) < target / 10


def _markov_chain_arl(increments: list[float], shares: list[float], h: float) -> float:
    """Run length of ``max(0, S + y)`` to ``S > h`` by Brook and Evans' Markov chain.

    400 grid points on ``[0, h]``; each increment is split between the two grid points
    around where it lands so that its mean is kept exactly.
    """
    import numpy as np

    nodes = 400
    dx = h / nodes
    position = np.arange(nodes + 1)[:, None] + np.asarray(increments)[None, :] / dx
    below = np.floor(position)
    upper_share = position - below
    transitions = np.zeros((nodes + 1, nodes + 2))  # the last column: above h
    rows = np.broadcast_to(np.arange(nodes + 1)[:, None], position.shape).ravel()
    p = np.asarray(shares)
    for column, weight in ((below, (1.0 - upper_share) * p), (below + 1.0, upper_share * p)):
        target = np.clip(column, 0, nodes + 1).astype(np.intp).ravel()
        np.add.at(transitions, (rows, target), weight.ravel())
    system = np.eye(nodes + 1) - transitions[:, : nodes + 1]
    return float(np.linalg.solve(system, np.ones(nodes + 1))[0])


@pytest.mark.parametrize(
    "shares",
    [
        [0.5, 0.5],
        [0.9, 0.1],
        [0.95, 0.05],
        [0.876, 0.116, 0.008],  # a language mix
        [0.01] * 10 + [0.9],  # one dominant value at the top
        [0.05, 0.15, 0.22, 0.22, 0.17, 0.1, 0.05, 0.04],  # small counts
    ],
    ids=["coin", "10%", "5%", "languages", "dominant", "counts"],
)
def test_tied_scores_meet_the_target_on_each_side(shares: list[float]) -> None:
    """Siegmund's approximation, written for the tilted increments of tied scores, gives
    the run length an exact Markov chain gives, within 10%, on both sides."""
    shift, target = 0.3, 20_000.0
    cells = calibrate_cells(shares, shift)
    assert cells is not None
    low, scores = 0.0, []
    for p in shares:
        scores.append(expected_normal_score(low, min(1.0, low + p)))
        low += p
    assert sum(p * m for p, m in zip(shares, scores, strict=True)) == pytest.approx(0.0, abs=1e-9)
    for side in (cells.up, cells.down):
        h = side.threshold(target, shift)
        assert tilted_cusum_arl(h, shift, side.drift, side.overshoot) == pytest.approx(target)
        increments = [side.slope * m - side.drift for m in scores]
        assert _markov_chain_arl(increments, shares, h) == pytest.approx(target, rel=0.1)


def test_threshold_rejects_meaningless_targets() -> None:
    """A target of one observation or less, or a non-positive k, is an error."""
    with pytest.raises(ValueError, match="target_arl"):
        cusum_threshold(1.0, k=0.1)
    with pytest.raises(ValueError, match="k must"):
        cusum_threshold(100.0, k=0.0)


def _count_alarms(values: list[float], **params: object) -> int:
    cusum = SelfStartingCusum(**params)  # type: ignore[arg-type]
    alarms = 0
    for x in values:
        cusum.update(x)
        alarms += cusum.drift_detected
    return alarms


@pytest.mark.parametrize(
    "draw",
    [
        lambda r: r.expovariate(1.0),  # skewed
        lambda r: float(r.randint(0, 3)),  # few distinct values: ties everywhere
        lambda r: float(r.random() < 0.05),  # rare events
        lambda r: 1.0 if r.random() < 0.9 else r.random(),  # one dominant value
    ],
    ids=["skewed", "discrete", "binary", "dominant"],
)
def test_false_alarm_rate_matches_the_target_whatever_the_distribution(draw: object) -> None:
    """Sequential ranks make the calibration distribution-free.

    Target 2,000 over 300,000 stable values: about 150 alarms expected. The bounds are
    wide enough for chance (Poisson) and narrow enough to catch a 1.5x miscalibration.
    """
    rng = random.Random(11)
    values = [draw(rng) for _ in range(300_000)]  # type: ignore[operator]
    alarms = _count_alarms(values, target_arl=2000, seed=3)
    assert 100 <= alarms <= 220


@pytest.mark.parametrize(
    "draw",
    [
        lambda r: float(r.random() < 0.05),
        lambda r: 1.0 if r.random() < 0.9 else r.random(),
        lambda r: float(min(r.randint(0, 6), r.randint(0, 6))),
    ],
    ids=["binary", "dominant", "discrete"],
)
def test_tied_signals_keep_the_calibration_once_scored_by_cells(draw: object) -> None:
    """Past the exact phase, tied values are scored by their cells: still calibrated.

    Target 10,000 over 600,000 stable values, so that most values are scored by cells:
    about 60 alarms expected.
    """
    rng = random.Random(21)
    values = [draw(rng) for _ in range(600_000)]  # type: ignore[operator]
    alarms = _count_alarms(values, target_arl=10_000, seed=4)
    assert 38 <= alarms <= 90


def test_scores_of_tied_values_keep_their_mean_without_the_tie_noise() -> None:
    """On 0/1 values at 5%, binned: two scores, mean 0 and variance 1 on a stable stream,
    and a rise to 6.1% (half a standard deviation) found twice as fast as by breaking
    ties at random would (about 220 values then)."""
    rng = random.Random(13)
    cusum = SelfStartingCusum(target_arl=1e12)
    scores = []
    for i in range(20_000):
        cusum.update(float(rng.random() < 0.05))
        if i >= 1000:
            scores.append(cusum.z)
    # The standardised values (0 - 0.05) / 0.218 and (1 - 0.05) / 0.218, up to the cell
    # shares being estimates.
    assert all(abs(z + 0.229) < 0.05 or abs(z - 4.36) < 0.4 for z in scores)
    assert sum(scores) / len(scores) == pytest.approx(0.0, abs=0.05)
    assert sum(z * z for z in scores) / len(scores) == pytest.approx(1.0, abs=0.1)
    delays = []
    for s in range(20):
        rng = random.Random(100 + s)
        cusum = SelfStartingCusum()
        for i in range(10_000):
            p = 0.05 if i < 5000 else 0.05 + 0.5 * math.sqrt(0.05 * 0.95)
            cusum.update(float(rng.random() < p))
            if cusum.drift_detected and i >= 5000:
                delays.append(i - 5000)
                break
    assert len(delays) == 20
    assert sum(delays) / len(delays) < 150


def test_detects_a_half_sigma_shift_and_says_which_way() -> None:
    """A 0.5 standard-deviation rise in a skewed signal is found within 300 values."""
    rng = random.Random(5)
    cusum = SelfStartingCusum(target_arl=200_000)
    found = None
    for i in range(8000):
        cusum.update(rng.gauss(0.0, 1.0) + (0.5 if i >= 5000 else 0.0))
        if cusum.drift_detected:
            found = i
            break
    assert found is not None
    assert 5000 <= found < 5300
    assert cusum.change == "up"


def test_one_sided_detection_ignores_the_other_direction() -> None:
    """``direction='up'`` never alarms on a fall, however large."""
    rng = random.Random(6)
    values = [rng.gauss(0.0, 1.0) - (3.0 if i >= 1000 else 0.0) for i in range(3000)]
    assert _count_alarms(values, direction="up") == 0
    assert _count_alarms(values, direction="down") >= 1


def test_non_finite_values_are_ignored() -> None:
    """NaN and infinities neither count as observations nor move the statistics."""
    cusum = SelfStartingCusum(warmup=0)
    for x in [1.0, math.nan, math.inf, -math.inf, 2.0]:
        cusum.update(x)
    assert cusum.n == 2
    assert cusum.reference_count == 2


def test_memory_is_bounded_by_bins_after_the_exact_phase() -> None:
    """Past ``reference_size`` values only bin counts are kept (twice the bins at most)."""
    rng = random.Random(7)
    for draw in (rng.random, lambda: float(rng.randint(0, 1000) // 7)):
        ranks = SequentialRanks(reference_size=128, bins=32)
        for _ in range(5000):
            ranks.cell(draw())
        assert ranks.count == 5000
        assert ranks.binned
        assert len(ranks._counts) <= 64
        assert ranks._values is None


def test_a_tie_is_one_cell_before_and_after_binning() -> None:
    """Equal values share one cell that holds them all and nothing else, binned or not."""
    rng = random.Random(12)
    ranks = SequentialRanks(reference_size=64, bins=16)
    values = [float(min(rng.randint(0, 6), rng.randint(0, 6))) for _ in range(5000)]
    for x in values[:-1]:
        ranks.cell(x)
    assert ranks.binned
    low, high = ranks.cell(3.0)
    below = sum(v < 3.0 for v in values[:-1])
    tied = sum(v == 3.0 for v in values[:-1]) + 1
    assert (low, high) == pytest.approx((below / 5000, (below + tied) / 5000))
    assert sum(ranks.cell_shares()) == pytest.approx(1.0)


def test_strata_keep_the_calibration_when_their_mix_changes() -> None:
    """Two strata with different levels: a change in how often each occurs is no alarm.

    Without strata the same stream alarms (its overall level moved).
    """
    rng = random.Random(9)
    stream = []
    for i in range(12_000):
        share = 0.1 if i < 6000 else 0.9
        stratum = int(rng.random() < share)
        stream.append((rng.gauss(3.0 * stratum, 1.0), stratum))
    stratified, pooled = SelfStartingCusum(), SelfStartingCusum()
    alarms_stratified = alarms_pooled = 0
    for x, stratum in stream:
        stratified.update(x, stratum)
        pooled.update(x)
        alarms_stratified += stratified.drift_detected
        alarms_pooled += pooled.drift_detected
    assert alarms_stratified == 0
    assert alarms_pooled >= 1


def test_hellinger_and_psi_agree_on_identical_and_disjoint_histograms() -> None:
    """Same shape gives 0; disjoint support gives Hellinger 1 and a large PSI."""
    assert hellinger([1, 2, 3], [10, 20, 30]) == pytest.approx(0.0, abs=1e-9)
    assert psi([1, 2, 3], [10, 20, 30]) < 0.01
    assert hellinger([5, 0], [0, 5]) == pytest.approx(1.0)
    assert psi([50, 0], [0, 50]) > 3.0


def test_histogram_threshold_grows_as_false_alarms_get_rarer() -> None:
    """A rarer false alarm needs a larger distance."""
    reference = [300, 200, 100, 50, 10, 5]
    loose = calibrate_threshold(reference, 200, 0.05)
    strict = calibrate_threshold(reference, 200, 0.001)
    assert 0 < loose < strict < 1


def test_histogram_test_calibrates_in_the_background_to_the_same_threshold() -> None:
    """The threshold computed on the calibration thread is ``calibrate_threshold``'s; a
    test pickled while it runs, and one saved before calibrations ran in the background,
    come back with it; an empty reference is refused at once."""
    reference = [300, 200, 100, 50, 10, 5]
    test = WindowedHistogramTest(reference, window=100, target_arl=100_000, seed=3)
    copy = pickle.loads(pickle.dumps(test))  # most likely still calibrating
    expected = calibrate_threshold(reference, 100, 100 / 100_000, 3)
    assert test.threshold == copy.threshold == expected
    old = test.__getstate__()
    old["threshold"] = old.pop("_threshold")
    del old["_calibration"]
    restored = WindowedHistogramTest.__new__(WindowedHistogramTest)
    restored.__setstate__(old)
    assert restored.threshold == expected
    with pytest.raises(ValueError, match="empty"):
        WindowedHistogramTest([0, 0], window=100, target_arl=100_000)


def test_histogram_test_is_quiet_on_a_stable_mix_and_fires_on_a_new_one() -> None:
    """A stable stream drawn like the reference rarely alarms; a changed mix does, soon."""
    rng = random.Random(8)
    weights = [40, 30, 20, 10]
    reference = [0] * 4
    for _ in range(2000):
        reference[rng.choices(range(4), weights)[0]] += 1
    test = WindowedHistogramTest(reference, window=100, target_arl=100_000)
    stable = 0
    for _ in range(100_000):
        test.update(rng.choices(range(4), weights)[0])
        stable += test.drift_detected
    assert stable <= 5
    changed = None
    for i in range(1000):
        test.update(rng.choices(range(4), [10, 20, 30, 40])[0])
        if test.drift_detected:
            changed = i
            break
    assert changed is not None
    assert changed < 300
