"""A CUSUM on sequential-rank normal scores: calibrated for any signal, from the first call."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from statistics import NormalDist

from watchkeeper.detectors import native_core
from watchkeeper.detectors.change.calibration import cusum_threshold
from watchkeeper.detectors.change.cell_scores import CellScores, calibrate_cells
from watchkeeper.detectors.change.sequential_ranks import SequentialRanks
from watchkeeper.detectors.native_core import (
    BinnedReference,
    CellIncrements,
    CusumProgress,
    CusumState,
    StratumState,
)

try:  # the C function behind NormalDist.inv_cdf, without the Python call around it
    from _statistics import _normal_dist_inv_cdf  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - interpreters without the C accelerator

    def _normal_dist_inv_cdf(p: float, mu: float, sigma: float) -> float:
        return NormalDist(mu, sigma).inv_cdf(p)


#: Normal scores are clipped here: beyond, ranks among a few thousand values carry no signal.
_U_MIN = 1e-9
_U_MAX = 1.0 - _U_MIN
DIRECTIONS = ("both", "up", "down")
#: Bound on strata kept apart by one CUSUM.
MAX_STRATA = 32
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
#: A stratum's cell shares are recalibrated each time its reference grows this many
#: times, up to ``_LAST_CALIBRATION`` times its first size (by then they barely move).
_CALIBRATION_GROWTH = 4
_LAST_CALIBRATION = 64
#: Values of one stratum a call of the compiled core needs ahead to pay for itself (a call
#: costs about what ``update`` costs for one value).
_CORE_RUN = 4


def _mid_score(low: float, high: float) -> float:
    """The normal score at the middle of the cell ``[low, high]`` (clipped): ``z_mid``."""
    mid = 0.5 * (low + high)
    if not _U_MIN < mid < _U_MAX:
        mid = _U_MIN if mid <= _U_MIN else _U_MAX
    score: float = _normal_dist_inv_cdf(mid, 0.0, 1.0)
    return score


def _expected_score(low: float, high: float) -> float:
    """``E[Phi^-1(U)]`` for ``U`` uniform on the cell ``[low, high]``:
    ``(phi(Phi^-1(low)) - phi(Phi^-1(high))) / (high - low)``."""
    if low > 0.0:
        q = _normal_dist_inv_cdf(low, 0.0, 1.0)
        density_low = math.exp(-0.5 * q * q)
    else:
        density_low = 0.0
    if high < 1.0:
        q = _normal_dist_inv_cdf(high, 0.0, 1.0)
        density_high = math.exp(-0.5 * q * q)
    else:
        density_high = 0.0
    return (density_low - density_high) * _INV_SQRT_2PI / (high - low)


class _Stratum:
    """One stratum's reference and, once binned, how its cells' scores feed the CUSUM."""

    __slots__ = (
        "calibrate_at",
        "cells",
        "down_drift",
        "down_slope",
        "ranks",
        "seen",
        "unit",
        "up_drift",
        "up_slope",
    )

    def __init__(self, ranks: SequentialRanks) -> None:
        self.ranks = ranks
        self.seen = 0
        self.calibrate_at: float = ranks.reference_size
        #: None until the reference is binned (and while it has a single occupied cell).
        self.cells: CellScores | None = None
        self.unit = self.up_slope = self.up_drift = self.down_slope = self.down_drift = 0.0


class SelfStartingCusum:
    """Detects a shift in a stream of numbers, with a false-alarm rate set in advance.

    Each value is replaced by its *normal score*: its rank among the values seen so far,
    turned into a standard normal quantile. For a stable stream of independent values,
    sequential ranks are exactly uniform and independent of each other whatever the
    distribution, so the scores are exactly standard normal and a CUSUM on them has the
    false-alarm rate computed by
    :func:`~watchkeeper.detectors.change.calibration.cusum_threshold` — for skewed lengths,
    latencies, rates with many zeros or scores in [0, 1] alike, without a warm-up that
    estimates a mean and variance. A shift of the stream moves the scores' mean, which the
    CUSUM accumulates: ``S+ = max(0, S+ + z - k)`` (and ``S-`` mirrored), ``k = shift / 2``.

    A value tied with earlier ones can take several ranks (a *cell*). While the reference
    is exact (its first ``reference_size`` values) the rank is drawn at random in the
    cell, seeded. Once it is binned, a value is scored by its normal score's expectation
    over its cell instead, which drops the noise of that draw (on 0/1 or few-valued
    signals, most of the score's variance) and keeps its mean; each side of the CUSUM then
    sums the log-likelihood ratio of the cells' distribution against the one whose mean
    moved by ``shift``, calibrated on the reference's cell shares so that the false-alarm
    target still holds (see :mod:`~watchkeeper.detectors.change.cell_scores`). On signals
    without ties this only drops the small noise of the draw within a bin: the CUSUM is
    the same, ``k = shift / 2`` and all.

    Ranks live in bounded memory (see
    :class:`~watchkeeper.detectors.change.sequential_ranks.SequentialRanks`). With
    ``stratum``, each value is ranked only among earlier values of the same stratum (e.g.
    answers of similar length): the scores stay calibrated when the mix of strata changes,
    so only changes *within* strata alarm. After an alarm everything is relearned from the
    new regime.

    Parameters
    ----------
    target_arl
        Mean number of observations between false alarms on a stable stream.
    shift
        The shift, in standard deviations of the signal, detected fastest; smaller and
        larger shifts are detected too, a little later than an optimally tuned CUSUM would.
    direction
        ``both``, ``up`` (only increases alarm) or ``down``. One-sided detection puts the
        whole false-alarm budget on one side, which shortens delays.
    warmup
        Observations learned before the CUSUM starts accumulating.
    seed
        Seed of the tie-breaking generator: same stream and seed, same alarms.
    reference_size, bins
        Memory of each stratum's reference (see ``SequentialRanks``).

    Examples
    --------
    >>> import random
    >>> rng = random.Random(1)
    >>> cusum = SelfStartingCusum(target_arl=100_000)
    >>> alarms = []
    >>> for i in range(6000):
    ...     x = rng.expovariate(1.0) + (0.5 if i >= 3000 else 0.0)  # skewed, then shifted
    ...     cusum.update(x)
    ...     if cusum.drift_detected:
    ...         alarms.append((i, cusum.change))
    >>> alarms
    [(3052, 'up')]
    """

    def __init__(
        self,
        target_arl: float = 200_000,
        *,
        shift: float = 0.3,
        direction: str = "both",
        warmup: int = 100,
        seed: int = 0,
        reference_size: int = 256,
        bins: int = 32,
    ) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        if shift <= 0:
            raise ValueError(f"shift must be positive, got {shift}")
        SequentialRanks(reference_size, bins)  # validates the sizes
        self.shift = shift
        self.direction = direction
        self.warmup = warmup
        self.seed = seed
        self.reference_size = reference_size
        self.bins = bins
        self.k = shift / 2.0
        self._rng = random.Random(seed)
        self.target_arl = target_arl
        self.threshold = self._threshold_for(target_arl)
        #: Normal score of the last value as the CUSUM sees it, variance 1 on a stable
        #: stream: ties broken at random while the reference is exact, then the score's
        #: expectation over the value's cell, standardised.
        self.z = 0.0
        #: Normal score of the last value at the middle of its ties: the same value at the
        #: same point of the stream always gets the same ``z_mid`` (what detectors report).
        self.z_mid = 0.0
        #: True when the last value completed a detection.
        self.drift_detected = False
        #: ``up`` or ``down``: the side of the last detection.
        self.change = ""
        #: Alarms raised so far.
        self.alarms = 0
        #: Observations since the last reset, and the two CUSUM statistics.
        self.n = 0
        self.upper = 0.0
        self.lower = 0.0
        self._reset()

    # --- calibration ----------------------------------------------------------------------
    def _threshold_for(self, target_arl: float) -> float:
        sides = 2 if self.direction == "both" else 1
        return cusum_threshold(target_arl * sides, self.k)

    def set_target_arl(self, target_arl: float) -> None:
        """Recalibrate for a new false-alarm target (cheap; statistics are kept)."""
        if target_arl != self.target_arl:
            self.target_arl = target_arl
            self.threshold = self._threshold_for(target_arl)
            for state in self._strata.values():
                self._scale(state)

    # --- streaming ------------------------------------------------------------------------
    def update(self, x: float, stratum: int = 0) -> None:
        """Score ``x`` against the values before it (of its stratum), then add it.

        NaN and infinities are ignored. At most ``MAX_STRATA`` strata are kept apart; a
        stratum number beyond is folded onto the last one.
        """
        self.drift_detected = False
        if not math.isfinite(x):
            return
        state = self._strata.get(stratum) or self._new_stratum(stratum)
        low, high = state.ranks.cell(x)
        self.z_mid = _mid_score(low, high)
        if state.cells is not None:
            m = _expected_score(low, high)
            self.z = m * state.unit
            up = state.up_slope * m - state.up_drift
            down = state.down_slope * m - state.down_drift
        else:
            u = low + self._rng.random() * (high - low)
            if not _U_MIN < u < _U_MAX:
                u = _U_MIN if u <= _U_MIN else _U_MAX
            z = _normal_dist_inv_cdf(u, 0.0, 1.0)
            self.z = z
            up = z - self.k
            down = -z - self.k
        state.seen += 1
        if state.seen >= state.calibrate_at:
            self._calibrate(state)
        self.n += 1
        if self.n <= self.warmup:
            return
        threshold = self.threshold
        direction = self.direction
        if direction != "down":
            upper = self.upper + up
            self.upper = upper if upper > 0.0 else 0.0
        if direction != "up":
            lower = self.lower + down
            self.lower = lower if lower > 0.0 else 0.0
        if self.upper > threshold or self.lower > threshold:
            self._alarm("up" if self.upper > threshold else "down")

    def _alarm(self, change: str) -> None:
        self.change = change
        self.drift_detected = True
        self.alarms += 1
        self._reset()

    def update_many(
        self,
        values: Sequence[float | None],
        strata: Sequence[int] | None = None,
        *,
        until_alarm: bool = False,
    ) -> tuple[list[float], list[tuple[int, str]]]:
        """``update`` with each value in turn (``strata[i]`` its stratum, else 0).

        Returns each value's ``z_mid`` (NaN for a value skipped: None, NaN or infinite)
        and ``(index, change)`` for each value that completed a detection. Afterwards the
        CUSUM is where ``update`` value by value would leave it. ``until_alarm``: stop after
        the first value that completes a detection (the ``z_mid`` returned say how far).

        With the compiled core, runs of values of a stratum whose reference is binned are
        scored there, with the same results; ``update`` runs for the others.
        """
        nan = math.nan
        isfinite = math.isfinite
        update = self.update
        core = _CORE
        # The core reads lists.
        run = values if type(values) is list else list(values)
        keys = strata if strata is None or type(strata) is list else list(strata)
        z_mids: list[float] = []
        alarms: list[tuple[int, str]] = []
        i = 0
        while i < len(run) and not (until_alarm and alarms):
            x = run[i]
            if x is None or not isfinite(x):
                z_mids.append(nan)
                i += 1
                continue
            stratum = keys[i] if keys is not None else 0
            if core is not None:
                state = self._strata.get(stratum)
                if (
                    state is not None
                    and state.ranks.binned
                    and len(run) - i >= _CORE_RUN
                    and (keys is None or keys[i : i + _CORE_RUN].count(stratum) == _CORE_RUN)
                ):
                    stop = self._run_in_core(
                        core, state, stratum, run, keys, start=i, found=(z_mids, alarms)
                    )
                    if stop > i:
                        i = stop
                        continue
            update(x, stratum)
            z_mids.append(self.z_mid)
            if self.drift_detected:
                alarms.append((i, self.change))
            i += 1
        return z_mids, alarms

    def _run_in_core(
        self,
        core: native_core.CusumCore,
        state: _Stratum,
        stratum: int,
        values: list[float | None],
        strata: list[int] | None,
        *,
        start: int,
        found: tuple[list[float], list[tuple[int, str]]],
    ) -> int:
        """``update`` for ``values[start:]`` in the core, as far as it goes, adding to the
        ``(z_mids, alarms)`` of ``update_many``: returns where it stopped (``start`` when
        that value needs ``update``)."""
        z_mids, alarms = found
        ranks = state.ranks
        cells = None
        draw = None
        if state.cells is not None:
            cells = CellIncrements(
                state.unit, state.up_slope, state.up_drift, state.down_slope, state.down_drift
            )
        else:  # ties are broken at random, by this generator (called from the core)
            draw = self._rng.random
        cusum = CusumState(
            self.n, self.warmup, self.upper, self.lower, self.threshold, self.k, self.direction
        )
        progress = CusumProgress(
            *core.cusum_steps(
                values,
                strata,
                start,
                z_mids,
                cusum=cusum,
                stratum=StratumState(stratum, state.seen, state.calibrate_at, cells),
                bins=BinnedReference(*ranks.bin_lists, ranks.count),
                draw=draw,
            )
        )
        self.n, self.upper, self.lower = progress.n, progress.upper, progress.lower
        state.seen = progress.seen
        ranks.recount(progress.total)
        if progress.last is not None:
            self.z, self.z_mid = progress.last
            self.drift_detected = False
        if progress.change is not None:  # the last value it processed raised an alarm
            # This module's own (interned) strings, as ``update`` stores: pickles memoise
            # strings by identity, so another "up" would make another checkpoint.
            change = "up" if progress.change == "up" else "down"
            alarms.append((progress.stop - 1, change))
            self._alarm(change)
        return progress.stop

    def _new_stratum(self, stratum: int) -> _Stratum:
        strata = self._strata
        if len(strata) >= MAX_STRATA:
            return strata[max(strata)]
        state = strata[stratum] = _Stratum(SequentialRanks(self.reference_size, self.bins))
        return state

    def _calibrate(self, state: _Stratum) -> None:
        """Score the stratum by its cells from now on, calibrated on their current shares."""
        last = state.ranks.reference_size * _LAST_CALIBRATION
        growth = _CALIBRATION_GROWTH * state.calibrate_at
        state.calibrate_at = growth if growth <= last else math.inf
        state.cells = calibrate_cells(state.ranks.cell_shares(), self.shift)
        self._scale(state)

    def _scale(self, state: _Stratum) -> None:
        if state.cells is not None:
            state.unit = state.cells.unit
            sides = 2 if self.direction == "both" else 1
            increments = state.cells.increments(self.target_arl * sides, self.shift, self.threshold)
            state.up_slope, state.up_drift, state.down_slope, state.down_drift = increments

    @property
    def statistic(self) -> float:
        """Evidence of a change so far, as a fraction of the threshold (alarm above 1)."""
        return max(self.upper, self.lower) / self.threshold

    @property
    def reference_count(self) -> int:
        """Values in the references the next values are ranked against (all strata)."""
        return sum(state.ranks.count for state in self._strata.values())

    def _reset(self) -> None:
        self.n = 0
        self.upper = 0.0
        self.lower = 0.0
        self._strata: dict[int, _Stratum] = {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        if "_references" in state:  # saved before cells: relearn rather than fail
            del self.__dict__["_references"]
            self._reset()

    def __repr__(self) -> str:
        return (
            f"SelfStartingCusum(target_arl={self.target_arl!r}, shift={self.shift!r}, "
            f"direction={self.direction!r}, warmup={self.warmup!r}, seed={self.seed!r})"
        )


def _core_if_exact() -> native_core.CusumCore | None:
    """The compiled core, if it scores cells with exactly this module's doubles here.

    It ports CPython's normal quantile and calls the same libm; a CPython whose C code was
    compiled with fused multiply-adds (GCC's default on some platforms) would round
    differently, and the Python code then runs alone.
    """
    core = native_core.cusum_core()
    if core is None:
        return None
    cells = [(0.0, 1.0), (0.0, 1e-12), (1.0 - 1e-12, 1.0), (1e-300, 1.0), (0.0, 1e-300)]
    cells += [(k / 251, (k + 1) / 251) for k in range(251)]
    for size in (2, 3, 7, 100, 257, 1000, 4099, 65_537, 1_000_003):
        for below in {0, 1, size // 7, size // 3, size // 2, size - 2 * size // 5, size - 1}:
            for count in {1, 2, size // 10 + 1}:
                if below + count <= size:
                    cells.append((below / size, (below + count) / size))
    lows = [low for low, _ in cells]
    highs = [high for _, high in cells]
    expected = (
        [_mid_score(low, high) for low, high in cells],
        [_expected_score(low, high) for low, high in cells],
    )
    return core if repr(core.cell_scores(lows, highs)) == repr(expected) else None


#: The compiled core's loop, or None: ``update_many`` then runs ``update`` alone.
_CORE = _core_if_exact()
