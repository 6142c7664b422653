"""The tables of a batch's calls made from their shared columns (``CallColumns``) are the
tables each makes alone: bodies of every call or of some, scores of the calls and of
other records after them, with a value only Python converts among those records."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.collector.test_columns import _call
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.scores import BatchScores
from watchkeeper.collector.store.columns import (
    CallColumns,
    KeptBody,
    bodies_table,
    calls_table,
    scores_table,
)


def _scores(calls: list[CallRecord], others: list[CallRecord]) -> BatchScores:
    """Every call and other record scored but the second call; the last other's model is
    the one requested."""
    everyone = [*calls, *others]
    by_span = {c.span_id: {"judge.score": n / 8} for n, c in enumerate(everyone) if n != 1}
    return BatchScores.of(everyone, by_span)


def _same(made: pa.Table, alone: pa.Table) -> None:
    assert made.schema == alone.schema
    assert made.equals(alone)


@pytest.mark.parametrize("kept", ["every call", "some calls"])
@pytest.mark.parametrize("other_value", ["plain", "lone surrogate"])
def test_shared_columns_make_the_same_tables(kept: str, other_value: str) -> None:
    """Each table made with the calls' columns equals the one made without them."""
    calls = [_call(n) for n in range(5)]
    others = [_call(n) for n in range(10, 13)]
    others[-1].response_model = ""
    if other_value == "lone surrogate":
        others[0].route = "bad \ud800 route"
    bodies: list[KeptBody] = [(c, 0.5, "sampled") for c in calls]
    if kept == "some calls":
        bodies = bodies[1::2]
    scores = _scores(calls, others)
    made = CallColumns.of(calls)
    assert made.leading(calls) == len(calls)
    assert made.leading(scores.calls) == len(calls)
    assert made.leading([c for c, _, _ in bodies]) == (len(calls) if kept == "every call" else 0)
    _same(bodies_table(bodies, made), bodies_table(bodies))
    _same(scores_table(scores, {"judge": "v1"}, made), scores_table(scores, {"judge": "v1"}))
    _same(calls_table(calls, bodies, made), calls_table(calls, bodies))
    model = scores_table(scores, None, made).column("Model").to_pylist()
    assert model[-1] == others[-1].request_model


def test_columns_of_other_calls_are_not_shared() -> None:
    """Columns made of other calls (equal ones excepted) are not taken for these."""
    calls = [_call(n) for n in range(3)]
    made = CallColumns.of([_call(n) for n in range(3, 6)])
    assert made.leading(calls) == 0
    _same(calls_table(calls, [], made), calls_table(calls, []))
    assert CallColumns.of([_call(n) for n in range(3)]).leading(calls) == 3
