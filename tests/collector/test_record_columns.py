"""The compiled core's columns of call records (``native/src/columns.rs``) are the Python
code's, Arrow table for Arrow table, and it hands every value it would not store exactly
as pyarrow converts it back to the Python code."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pytest

from tests.collector.test_columns import _call
from tests.support.otlp_messages import message
from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.pipeline import Decode, Normalize, Payload, PreparedBatch
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.scores import BatchScores
from watchkeeper.collector.store import columns
from watchkeeper.collector.store.columns import KeptBody, bodies_table, calls_table, scores_table

pytestmark = pytest.mark.skipif(
    columns._RECORD_COLUMNS is None,
    reason="compares the core's columns with Python's: needs the core (WATCHKEEPER_NATIVE=0)",
)


class _StrSubclass(str):
    pass


def _tables(calls: list[CallRecord], bodies: list[KeptBody]) -> list[pa.Table]:
    """The calls, call_bodies and call_scores tables (every call but the second scored)."""
    scored = {c.span_id: {"judge.score": n / 8, "other.score": 1.0} for n, c in enumerate(calls)}
    scored.pop(calls[1].span_id, None)
    scores = BatchScores.of(calls, scored)
    return [calls_table(calls, bodies), bodies_table(bodies), scores_table(scores)]


def _same_with_and_without_core(
    calls: list[CallRecord], monkeypatch: pytest.MonkeyPatch
) -> list[bool]:
    """Asserts the three tables are the same made by the core and by Python; returns, per
    call to the core, whether it made the columns."""
    bodies: list[KeptBody] = [(call, 0.25, "sampled") for call in calls]
    core = columns._RECORD_COLUMNS
    assert core is not None
    made: list[bool] = []

    def counted(records: Sequence[object], fields: Sequence[tuple[str, int]]) -> object:
        buffers = core(records, fields)
        made.append(buffers is not None)
        return buffers

    monkeypatch.setattr(columns, "_RECORD_COLUMNS", counted)
    native = _tables(calls, bodies)
    monkeypatch.setattr(columns, "_RECORD_COLUMNS", None)
    for table, reference in zip(native, _tables(calls, bodies), strict=True):
        assert table.schema == reference.schema
        assert table.equals(reference)
    return made


def test_the_core_makes_the_python_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls whose every field differs, letters beyond ASCII, empty lists and maps: the
    same three tables, and the core made them."""
    calls = [_call(n) for n in range(6)]
    calls[2].contexts, calls[2].finish_reasons, calls[2].attributes = [], [], {}
    calls[3].input_text = "ünïcödé ✓ 日本語 " * 50
    calls[4].response_model = ""  # its model is the one requested
    made = _same_with_and_without_core(calls, monkeypatch)
    assert made == [True, True, True]


def test_the_benchmark_calls_make_the_same_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's messages, normalised as the pipeline does: the same tables."""
    payloads = [Payload(message(i, "columns")[1], "test") for i in range(300)]
    prepared = PreparedBatch(0.0, payloads)
    Decode()(prepared)
    Normalize(PipelineMetrics())(prepared)
    assert len(prepared.calls) == 300
    assert _same_with_and_without_core(prepared.calls, monkeypatch) == [True, True, True]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_text", "lone \ud800 surrogate"),
        ("route", _StrSubclass("route/sub")),
        ("input_tokens", 2**40),
        ("input_tokens", True),
        ("sample_rate", 1),
        ("contexts", ("a", "tuple")),
        ("attributes", {"k": 7}),
        ("output_text", "x" * 70_000),
    ],
)
def test_values_the_core_declines_are_the_python_codes(
    field: str, value: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value the core does not take whole (a lone surrogate, a str subclass, an int out
    of range or a bool, an int for a float, a tuple for a list, a dict of non-strings) gets
    the Python code's columns, or the Python code's error; a long text is taken."""
    calls = [_call(0), _call(1)]
    setattr(calls[1], field, value)
    try:
        monkeypatch.setattr(columns, "_RECORD_COLUMNS", None)
        failed = _tables(calls, [(call, 0.25, "sampled") for call in calls]) and None
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
        failed = exc
    monkeypatch.undo()
    if failed is not None:
        with pytest.raises(type(failed)):
            _tables(calls, [(call, 0.25, "sampled") for call in calls])
        return
    made = _same_with_and_without_core(calls, monkeypatch)
    # each table reads some of the fields: the table that reads it whole declines
    assert all(made) if field == "output_text" else not all(made)
