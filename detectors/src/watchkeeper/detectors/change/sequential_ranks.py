"""Sequential ranks of a stream of values, in bounded memory."""

from __future__ import annotations

import bisect
import math
from array import array
from statistics import NormalDist
from typing import NamedTuple


class BinLists(NamedTuple):
    """The binned reference of a :class:`SequentialRanks`: values strictly between
    ``edges[i - 1]`` and ``edges[i]`` count in bin ``before[i]``, values equal to ``edges[i]``
    in bin ``at[i]``; ``counts`` per bin."""

    edges: list[float]
    before: list[int]
    at: list[int]
    counts: list[int]


class SequentialRanks:
    """Where each new value ranks among the values before it, as a cell of (0, 1).

    For independent values from one distribution, sequential ranks are exactly uniform and
    independent of each other, whatever the distribution: the fact that makes
    :class:`~watchkeeper.detectors.change.rank_cusum.SelfStartingCusum` calibrated without
    knowing anything about the signal. A value tied with ``t`` earlier values can take any
    of ``t + 1`` ranks, so what is known is a *cell* ``[low, high]`` of rank fractions:
    broken at random inside it, the rank is exactly uniform; its expected normal score
    over the cell carries the same information without the noise of the draw.

    The first ``reference_size`` values are kept exactly (one sorted array); then their
    quantiles become bin edges, denser in the tails, and only counts per bin are kept (at
    most ``2 * bins``): a value's cell is then its bin. An edge value seen more than once
    (a tie) gets a bin of its own, between the bins below and above it, so ties are never
    split between bins nor mixed with other values, old or new. Every value joins the
    reference at once: holding values back (to keep a change from diluting the reference)
    would make successive ranks share an outdated reference, which measurably raises
    false alarms.

    >>> ranks = SequentialRanks()
    >>> [ranks.cell(x) for x in [5.0, 1.0, 3.0, 3.0]]
    [(0.0, 1.0), (0.0, 0.5), (0.3333333333333333, 0.6666666666666666), (0.25, 0.75)]
    """

    __slots__ = (
        "_at",
        "_before",
        "_counts",
        "_edges",
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
        # Exact phase: the values, sorted.
        self._values: array[float] | None = array("d")
        # Binned phase: values strictly between edges[i - 1] and edges[i] go to bin
        # before[i], values equal to edges[i] to bin at[i]: a bin of their own for a tie,
        # else the bin before. The last edge is infinity (above the quantiles).
        self._edges: list[float] = []
        self._before: list[int] = []
        self._at: list[int] = []
        self._counts: list[int] = []
        self._total = 0

    def __setstate__(self, state: tuple[None, dict[str, object]]) -> None:
        _, slots = state
        if "_edge_jitters" in slots:  # saved before value bins: relearn rather than fail
            size, bins = slots["reference_size"], slots["bins"]
            assert isinstance(size, int)
            assert isinstance(bins, int)
            fresh = SequentialRanks(size, bins)
            slots = {name: getattr(fresh, name) for name in SequentialRanks.__slots__}
        for name, value in slots.items():
            setattr(self, name, value)

    @property
    def count(self) -> int:
        """Values ranked so far (the reference the next value is ranked against)."""
        return len(self._values) if self._values is not None else self._total

    @property
    def binned(self) -> bool:
        """True once only bin counts are kept (cells are bins rather than tie blocks)."""
        return self._values is None

    @property
    def bin_lists(self) -> BinLists:
        """The lists of the binned reference themselves (empty before binning), for the
        compiled core's loop, which adds to the counts in place (then :meth:`recount`)."""
        return BinLists(self._edges, self._before, self._at, self._counts)

    def recount(self, total: int) -> None:
        """Set the number of values ranked after ``bin_lists.counts`` were added to."""
        self._total = total

    def cell(self, x: float) -> tuple[float, float]:
        """``(low, high)``: the rank fractions ``x`` can take, then ``x`` joins the reference.

        Before binning this is ``x``'s block of ties, exactly; after, ``x``'s bin. A rank
        drawn uniformly in the cell is exactly uniform on a stable stream before binning,
        and very nearly so after.
        """
        values = self._values
        if values is not None:
            lo = bisect.bisect_left(values, x)
            hi = bisect.bisect_right(values, x, lo)
            values.insert(lo, x)
            size = len(values)
            if size >= self.reference_size:
                self._bin(values)
            return lo / size, (hi + 1) / size
        # Binned (the steady state), inline: this runs for every call of several detectors.
        counts = self._counts
        edges = self._edges
        i = bisect.bisect_left(edges, x)
        j = self._at[i] if edges[i] == x else self._before[i]
        size = self._total + 1
        below = sum(counts[:j])
        count = counts[j] + 1
        counts[j] = count
        self._total = size
        return below / size, (below + count) / size

    def cell_shares(self) -> list[float]:
        """The shares of the reference's cells, in rank order (empty before binning).

        What the cell of the next value of a stable stream is drawn from: the distribution
        :class:`~watchkeeper.detectors.change.rank_cusum.SelfStartingCusum` calibrates on.
        """
        if self._values is not None:
            return []
        total = self._total
        return [c / total for c in self._counts if c]

    def _bin(self, values: array[float]) -> None:
        """Turn the exact reference into bins: edges at quantiles, denser in the tails."""
        m = len(values)
        cut = NormalDist().cdf
        spread = 2.5
        picks = {
            values[min(m - 1, int(cut(-spread + 2.0 * spread * i / self.bins) * m))]
            for i in range(1, self.bins)
        }
        edges = sorted(picks)
        before, at = [], []
        j = 0
        for edge in edges:
            before.append(j)
            first = bisect.bisect_left(values, edge)
            tied = bisect.bisect_right(values, edge, first) - first > 1
            at.append(j + 1 if tied else j)
            j += 2 if tied else 1
        edges.append(math.inf)
        before.append(j)
        at.append(j)
        self._edges, self._before, self._at = edges, before, at
        counts = [0] * (j + 1)
        for x in values:
            i = bisect.bisect_left(edges, x)
            counts[at[i] if edges[i] == x else before[i]] += 1
        self._counts = counts
        self._total = m
        self._values = None
