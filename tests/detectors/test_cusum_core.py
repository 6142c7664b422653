"""``SelfStartingCusum.update_many`` in the compiled core gives exactly what the Python does.

The core (``native/src/cusum.rs``) runs the values of a stratum whose reference is binned and
hands every other value back to ``update``. Each check runs the same seeded streams twice,
with the core and with it switched off in-process, and compares the outputs (``repr``: the
same doubles, NaNs and signs) and the checkpoints (``pickle.dumps``) after every run: continuous,
skewed, heavily tied, 0/1 and constant signals, shifts that raise alarms, None/NaN/infinite
and int values mixed in, several strata and more than ``MAX_STRATA``, every direction, runs
of every size with ``update`` calls and recalibrations in between. With
``WATCHKEEPER_NATIVE=0`` these checks are skipped.
"""

from __future__ import annotations

import math
import os
import pickle
import random
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from watchkeeper.detectors import native_core
from watchkeeper.detectors.change import rank_cusum
from watchkeeper.detectors.change.rank_cusum import (
    MAX_STRATA,
    SelfStartingCusum,
    _expected_score,
    _mid_score,
)

SWITCHED_OFF = os.environ.get(native_core.SWITCH, "1").strip() == "0"
pytestmark = pytest.mark.skipif(SWITCHED_OFF, reason="WATCHKEEPER_NATIVE=0: Python alone")


class CountingCore:
    """The core's loop, counting the values it scored."""

    def __init__(self, core: native_core.CusumCore) -> None:
        self.core = core
        self.scored = 0

    def cusum_steps(self, values: Any, strata: Any, start: int, z_mids: Any, **state: Any) -> Any:
        before = len(z_mids)
        progress = self.core.cusum_steps(values, strata, start, z_mids, **state)
        self.scored += len(z_mids) - before
        return progress


@contextmanager
def core_set_to(core: Any) -> Iterator[None]:
    saved = rank_cusum._CORE
    rank_cusum._CORE = core
    try:
        yield
    finally:
        rank_cusum._CORE = saved


def test_the_core_is_used_unless_switched_off() -> None:
    """Installed, the core passes the check of its arithmetic and ``update_many`` uses it."""
    assert native_core.cusum_core() is not None, "pip install ./native (needs cargo on PATH)"
    assert rank_cusum._CORE is not None


def random_cells(n: int, seed: int) -> tuple[list[float], list[float]]:
    """``n`` cells ``low < high`` of (0, 1): rank fractions ``below / size`` as the bins give
    them (sizes up to ten million), any doubles, far tails, and the ends 0 and 1."""
    rng = random.Random(seed)
    lows, highs = [], []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.6:
            size = int(10 ** rng.uniform(0.3, 7.0)) + 1
            below = rng.randrange(size)
            count = 1 + min(size - below - 1, int(size * rng.random() ** 4))
            low, high = below / size, (below + count) / size
        elif kind < 0.8:
            low, high = sorted((rng.random(), rng.random()))
        elif kind < 0.9:
            low = 10 ** rng.uniform(-300.0, -1.0)
            high = rng.choice((1.0, low * (1.0 + rng.random()), 1.0 - 10 ** rng.uniform(-16, -1)))
        else:
            low = rng.choice((0.0, rng.random() * 1e-9, 0.5))
            high = rng.choice((1.0, 1.0 - rng.random() * 1e-9, 1.0 - 2**-53))
        if high <= low:
            low, high = 0.0, 1.0
        lows.append(low)
        highs.append(high)
    return lows, highs


@pytest.mark.parametrize("seed", range(4))
def test_cell_scores_equal_the_python_doubles(seed: int) -> None:
    """The normal quantile (a port of CPython's C code) and libm's ``exp`` in the core give
    Python's doubles bit for bit, over half a million cells per seed."""
    core = native_core.cusum_core()
    assert core is not None
    lows, highs = random_cells(500_000, seed)
    z_mids, means = core.cell_scores(lows, highs)
    cells = list(zip(lows, highs, strict=True))
    assert array("d", z_mids).tobytes() == array("d", [_mid_score(*c) for c in cells]).tobytes()
    assert array("d", means).tobytes() == array("d", [_expected_score(*c) for c in cells]).tobytes()


# --- streams ----------------------------------------------------------------------------------
def stream(kind: str, n: int, seed: int) -> tuple[list[Any], list[int] | None]:
    """``n`` values of a kind of signal, their strata, shifted from 60% of the way on (up for
    even seeds, down for odd ones)."""
    rng = random.Random(seed)
    up = seed % 2 == 0
    values: list[Any] = []
    strata: list[int] | None = None
    for i in range(n):
        shifted = i >= 0.6 * n
        if kind == "continuous":
            values.append(rng.gauss(0.0, 1.0) + (0.0 if not shifted else 0.6 if up else -0.6))
        elif kind == "skewed":
            values.append(rng.expovariate(1.0) * (1.0 if not shifted else 1.6 if up else 0.6))
        elif kind == "tied":
            step = 0 if not shifted or rng.random() < 0.7 else 1 if up else -1
            values.append(rng.randint(0, 4) + step)
        elif kind == "binary":
            rate = 0.05 if not shifted else 0.12 if up else 0.005
            values.append(float(rng.random() < rate))
        elif kind == "constant":
            values.append((3.0 if up else 1.0) if shifted and rng.random() < 0.2 else 2.0)
        elif kind == "mixed":
            roll = rng.random()
            odd = (None, math.nan, math.inf, -math.inf, True, 2**60, -(2**53), 7)
            values.append(rng.choice(odd) if roll < 0.1 else round(rng.gauss(5, 2), 1))
        else:
            raise ValueError(kind)
    if kind in {"tied", "mixed"}:  # runs of a stratum, from one value to dozens
        strata = [rng.randrange(3)]
        for _ in range(n - 1):
            strata.append(rng.randrange(3) if rng.random() < 0.08 else strata[-1])
    elif kind == "skewed":
        strata = [rng.randrange(MAX_STRATA + 8) if rng.random() < 0.02 else 0 for _ in range(n)]
    return values, strata


CASES = [
    (kind, direction, small)
    for kind in ("continuous", "skewed", "tied", "binary", "constant", "mixed")
    for direction in ("both", "up", "down")
    for small in (True, False)
]


def feed(
    kind: str, direction: str, small: bool, seed: int, core: Any
) -> Iterator[tuple[str, bytes]]:
    """Each run's output (and each ``update``'s ``z_mid`` and alarm) and the pickle after."""
    sizes = {"reference_size": 32, "bins": 4, "warmup": 10} if small else {}
    n = 6_000 if small else 24_000
    values, strata = stream(kind, n, seed)
    rng = random.Random(seed)
    cusum = SelfStartingCusum(direction=direction, seed=seed, **sizes)  # type: ignore[arg-type]
    i = 0
    while i < n:
        size = rng.choice((256, 256, 1, 7, 300, 64, 0))
        run, keys = values[i : i + size], None if strata is None else strata[i : i + size]
        if rng.random() < 0.2:  # tuples are read as well as lists
            run, keys = tuple(run), None if keys is None else tuple(keys)
        with core_set_to(core):  # not across a yield: the other stream runs then
            found = cusum.update_many(run, keys)
        yield repr(found), pickle.dumps(cusum)
        i += size
        for _ in range(rng.choice((0, 0, 1, 2))):
            x = values[i] if i < n else 1.0
            if x is not None:
                cusum.update(x, 0 if strata is None or i >= n else strata[i])
                yield repr((cusum.z_mid, cusum.z, cusum.drift_detected)), b""
            i += 1
        if rng.random() < 0.01:
            cusum.set_target_arl(cusum.target_arl * 2)


@pytest.mark.parametrize(("kind", "direction", "small"), CASES)
def test_update_many_in_the_core_equals_python(kind: str, direction: str, small: bool) -> None:
    """Same ``z_mid`` values, alarms and checkpoints after every run, core on or off."""
    assert rank_cusum._CORE is not None
    counting = CountingCore(rank_cusum._CORE)
    alarms = 0
    for seed in range(2):
        with_core = feed(kind, direction, small, seed, counting)
        python = feed(kind, direction, small, seed, None)
        for step, (got, expected) in enumerate(zip(with_core, python, strict=True)):
            assert got == expected, f"seed {seed}, step {step}"
            alarms += got[0].count("'up')") + got[0].count("'down')")
    # The comparison means something: the core scored most values, and alarms were raised.
    values = (6_000 if small else 24_000) * 2
    assert counting.scored > values / 2
    if kind != "mixed":
        assert alarms > 0


def test_checkpoints_cross_between_core_and_python() -> None:
    """A checkpoint taken with the core continues without it as it would have with it."""
    values, _ = stream("tied", 30_000, seed=5)
    cusum = SelfStartingCusum()
    cusum.update_many(values[:20_000])
    saved = pickle.dumps(cusum)
    with_core = pickle.loads(saved)
    found = with_core.update_many(values[20_000:])
    with core_set_to(None):
        python = pickle.loads(saved)
        expected = python.update_many(values[20_000:])
    assert repr(found) == repr(expected)
    assert pickle.dumps(with_core) == pickle.dumps(python)
