"""Signal values turned into columns: what reading them value by value gives."""

from __future__ import annotations

import math
import random

import pytest

from watchkeeper.collector.traces.signals.value_columns import value_columns

_NAMES = ("a", "b", "c", "d")
_VALUES = (0.0, 1.0, 2.5, math.nan, math.inf)


def _one_by_one(
    items: list[dict[str, float]], finite: bool
) -> dict[str, tuple[list[int], list[float]]]:
    out: dict[str, tuple[list[int], list[float]]] = {}
    for at, values in enumerate(items):
        for name, value in values.items():
            if finite and not math.isfinite(value):
                continue
            ats, kept = out.setdefault(name, ([], []))
            ats.append(at)
            kept.append(value)
    return out


@pytest.mark.parametrize("finite", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_columns_are_the_values_read_one_by_one(seed: int, finite: bool) -> None:
    """Items of several shapes (names in differing orders, some missing), non-finite values
    among them: each signal's items and values in item order, as a loop over the values
    gives them (NaN compared as a string)."""
    rng = random.Random(seed)
    items = [
        {name: rng.choice(_VALUES) for name in rng.sample(_NAMES, rng.randint(0, 4))}
        for _ in range(300)
    ]
    found = value_columns(items, finite=finite)
    expected = _one_by_one(items, finite)
    assert sorted(found) == sorted(expected)
    for name, (ats, values) in expected.items():
        assert found[name][0] == ats
        assert list(map(repr, found[name][1])) == list(map(repr, values))
