"""Inter-annotator agreement: Krippendorff's alpha, Fleiss' kappa and Cohen's kappa.

Krippendorff's alpha is what the queues report: it takes any number of reviewers per item,
items with missing labels, and ordered scales (a 4 against a 5 is a smaller disagreement
than a 1 against a 5). The two kappas are here for teams that report those; all three
are checked against published worked examples in ``tests/review/test_agreement.py``.

Values: 1 is perfect agreement, 0 is what chance gives, below 0 is systematic
disagreement. A common reading (Krippendorff): trust a dimension from 0.8, draw tentative
conclusions from 0.667.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Literal

Level = Literal["nominal", "ordinal", "interval", "ratio"]


def krippendorff_alpha(
    units: Sequence[Sequence[float]] | Mapping[Hashable, Sequence[float]],
    level: Level = "nominal",
) -> float | None:
    """Krippendorff's alpha over ``units``: the values given to each item (any count).

    Items with fewer than two values carry no information about agreement and are left
    out. Returns ``None`` when alpha is undefined: fewer than two pairable values, or no
    variation at all (every value the same).

    >>> krippendorff_alpha([[1, 1], [2, 2], [3, 3]])
    1.0
    >>> round(krippendorff_alpha([[1, 2], [2, 1]]), 3)
    -0.5
    """
    values = list(units.values()) if isinstance(units, Mapping) else list(units)
    pairable = [list(v) for v in values if len(v) >= 2]
    # Coincidence matrix: each ordered pair of values within an item, weighted 1/(m-1).
    coincidences: defaultdict[tuple[float, float], float] = defaultdict(float)
    for unit in pairable:
        weight = 1.0 / (len(unit) - 1)
        for i, first in enumerate(unit):
            for j, second in enumerate(unit):
                if i != j:
                    coincidences[(first, second)] += weight
    totals: defaultdict[float, float] = defaultdict(float)
    for (first, _), weight in coincidences.items():
        totals[first] += weight
    n = sum(totals.values())
    if n <= 1:
        return None
    categories = sorted(totals)
    delta = _distance(level, categories, totals)
    observed = sum(w * delta(c, k) for (c, k), w in coincidences.items())
    expected = sum(totals[c] * totals[k] * delta(c, k) for c in categories for k in categories)
    if expected == 0:
        return None
    return 1.0 - (n - 1) * observed / expected


def _distance(
    level: Level, categories: list[float], totals: Mapping[float, float]
) -> Callable[[float, float], float]:
    """Squared difference function delta^2(c, k) of the measurement level."""
    if level == "nominal":
        return lambda c, k: 0.0 if c == k else 1.0
    if level == "interval":
        return lambda c, k: float(c - k) ** 2
    if level == "ratio":
        return lambda c, k: 0.0 if c == k else ((c - k) / (c + k)) ** 2
    if level != "ordinal":
        raise ValueError(f"unknown level {level!r}")
    # Ordinal: how many values lie between c and k, counting the ends half.
    rank = {value: index for index, value in enumerate(categories)}
    cumulative = [0.0]
    for value in categories:
        cumulative.append(cumulative[-1] + totals[value])

    def ordinal(c: float, k: float) -> float:
        low, high = sorted((rank[c], rank[k]))
        between = cumulative[high + 1] - cumulative[low]
        return (between - (totals[c] + totals[k]) / 2.0) ** 2

    return ordinal


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from a table: one row per item, one column per category, each row
    counting how many raters chose that category; every row must sum to the same number
    of raters (at least two). ``None`` when undefined (all ratings in one category).

    >>> fleiss_kappa([[2, 0], [0, 2], [2, 0]])
    1.0
    """
    if not counts:
        return None
    raters = sum(counts[0])
    if raters < 2 or any(sum(row) != raters for row in counts):
        raise ValueError("every item needs the same number of ratings, at least two")
    items = len(counts)
    per_item = [(sum(c * c for c in row) - raters) / (raters * (raters - 1)) for row in counts]
    observed = sum(per_item) / items
    shares = [sum(row[j] for row in counts) / (items * raters) for j in range(len(counts[0]))]
    expected = sum(p * p for p in shares)
    if math.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1.0 - expected)


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters who labelled the same items (in the same order).

    >>> cohen_kappa(["a", "b", "a"], ["a", "b", "a"])
    1.0
    """
    if len(first) != len(second):
        raise ValueError("both raters must label the same items")
    if not first:
        return None
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    count_a, count_b = Counter(first), Counter(second)
    expected = sum(count_a[c] * count_b[c] for c in count_a) / (n * n)
    if math.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1.0 - expected)


def category_counts(units: Sequence[Sequence[Hashable]]) -> list[list[int]]:
    """The items x categories count table Fleiss' kappa reads, from raw ratings per item.

    >>> category_counts([["pass", "pass"], ["pass", "fail"]])
    [[0, 2], [1, 1]]
    """
    categories = sorted({value for unit in units for value in unit}, key=str)
    return [[Counter(unit)[c] for c in categories] for unit in units]
