"""Sequential ranks of a stream of values, in bounded memory."""

from __future__ import annotations

import bisect
import random
from array import array
from statistics import NormalDist


class SequentialRanks:
    """The rank of each new value among the values before it, as a fraction in (0, 1).

    For independent values from one distribution, sequential ranks are exactly uniform and
    independent of each other, whatever the distribution: the fact that makes
    :class:`~watchkeeper.detectors.change.rank_cusum.SelfStartingCusum` calibrated without
    knowing anything about the signal. Ties are broken by a jitter drawn when a value
    arrives and kept with it, so (value, jitter) pairs are distinct and their ranks exact;
    redrawing the position among ties at each lookup would bias the ranks of discrete
    signals early on.

    The first ``reference_size`` values are kept exactly (two arrays of floats); then
    their quantiles become ``bins`` bin edges, denser in the tails, and only counts per bin
    are kept, the position within a bin drawn at random. Every value joins the reference
    at once: holding values back (to keep a change from diluting the reference) would make
    successive ranks share an outdated reference, which measurably raises false alarms.

    >>> import random
    >>> ranks = SequentialRanks()
    >>> rng = random.Random(0)
    >>> [round(ranks.rank(x, rng)[1], 2) for x in [5.0, 1.0, 3.0, 3.0, 9.0]]  # mid ranks
    [0.5, 0.25, 0.5, 0.5, 0.9]
    """

    __slots__ = (
        "_counts",
        "_edge_jitters",
        "_edge_values",
        "_jitters",
        "_total",
        "_values",
        "bins",
        "reference_size",
    )

    def __init__(self, reference_size: int = 256, bins: int = 32) -> None:
        if bins < 2 or reference_size < bins:
            raise ValueError("need bins >= 2 and reference_size >= bins")
        self.reference_size = reference_size
        self.bins = bins
        # Exact phase: values and their tie-breaking jitters, sorted by (value, jitter).
        self._values: array[float] | None = array("d")
        self._jitters = array("d")
        # Binned phase: (value, jitter) edges, as two sorted lists, and counts per bin.
        self._edge_values: list[float] = []
        self._edge_jitters: list[float] = []
        self._counts: list[int] = []
        self._total = 0

    @property
    def count(self) -> int:
        """Values ranked so far (the reference the next value is ranked against)."""
        return len(self._values) if self._values is not None else self._total

    def rank(self, x: float, rng: random.Random) -> tuple[float, float]:
        """``(u, mid)`` for ``x``, then ``x`` joins the reference.

        ``u`` is the randomised rank, exactly uniform on a stable stream; ``mid`` places
        ``x`` at the middle of the values equal to it (equal values, equal ``mid``).
        """
        if self._values is not None:
            return self._rank_exact(x, rng)
        # Binned (the steady state), inline: this runs for every call of several detectors.
        values = self._edge_values
        counts = self._counts
        jitter = rng.random()
        lo = bisect.bisect_left(values, x)
        hi = bisect.bisect_right(values, x, lo)
        # Bin j holds the (value, jitter) pairs between edges j-1 and j; only when x equals
        # edge values does its jitter decide the bin (and then the spread within the bin
        # needs a draw of its own).
        if hi > lo:
            j = bisect.bisect_right(self._edge_jitters, jitter, lo, hi)
            spread = rng.random()
        else:
            j, spread = lo, jitter
        size = self._total + 1
        below = sum(counts[:j])
        u = (below + spread * (counts[j] + 1)) / size
        if hi > lo:  # equal values fill several bins: report the middle of all of them
            low = sum(counts[:lo])
            mid = (low + 0.5 * (sum(counts[lo : hi + 1]) + 1)) / size
        else:
            mid = (below + 0.5 * (counts[j] + 1)) / size
        counts[j] += 1
        self._total = size
        return u, mid

    def _rank_exact(self, x: float, rng: random.Random) -> tuple[float, float]:
        jitter = rng.random()
        values = self._values
        assert values is not None
        jitters = self._jitters
        lo = bisect.bisect_left(values, x)
        hi = bisect.bisect_right(values, x, lo)
        rank = lo + bisect.bisect_left(jitters[lo:hi], jitter) if hi > lo else lo
        size = len(values) + 1
        values.insert(rank, x)
        jitters.insert(rank, jitter)
        if size >= self.reference_size:
            self._bin(values, jitters)
        return (rank + rng.random()) / size, (lo + 0.5 * (hi - lo + 1)) / size

    def _bin(self, values: array[float], jitters: array[float]) -> None:
        """Turn the exact reference into bins: edges at quantiles, denser in the tails."""
        m = len(values)
        cut = NormalDist().cdf
        spread = 2.5
        edges: list[tuple[float, float]] = []
        for i in range(1, self.bins):
            at = min(m - 1, int(cut(-spread + 2.0 * spread * i / self.bins) * m))
            edge = (values[at], jitters[at])
            if not edges or edge > edges[-1]:
                edges.append(edge)
        counts = [0] * (len(edges) + 1)
        for pair in zip(values, jitters, strict=True):
            counts[bisect.bisect_right(edges, pair)] += 1
        self._edge_values = [value for value, _ in edges]
        self._edge_jitters = [jitter for _, jitter in edges]
        self._counts = counts
        self._total = m
        self._values = None
        self._jitters = array("d")
