"""The ``spans`` rows the compiled core makes of ``TraceSpan`` values (``spans_table``
through ``columns.core_columns``) are the Python code's, Arrow table for Arrow table, the
texts of calls with kept bodies blanked in both; a value the core leaves to Python makes
the Python table."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from types import MappingProxyType

import pyarrow as pa
import pytest

from watchkeeper.collector.store import columns, spans
from watchkeeper.collector.store.columns import core_columns
from watchkeeper.collector.store.spans import spans_table
from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import TraceSpan

pytestmark = pytest.mark.skipif(
    columns.native_core.record_columns() is None,
    reason="compares the core's rows with Python's: needs the core (WATCHKEEPER_NATIVE=0)",
)


def _span(n: int, kind: str = kinds.LLM, **values: object) -> TraceSpan:
    start = 1_700_000_000_000_000_000 + n * 1000
    return TraceSpan(
        f"{n % 3:032x}", f"{n:016x}", f"{n + 100:016x}", f"name {n}", kind, start,
        start + 10 * n, "ERROR" if n % 4 == 0 else "OK", {"k": f"v{n}", "ü": "日本"},
        **values,  # type: ignore[arg-type]
    )  # fmt: skip


def _spans() -> list[TraceSpan]:
    """LLM calls with and without texts and documents, other kinds, an end before start."""
    return [
        _span(0, input_text="question ✓", output_text="answer", documents=(("doc", None),)),
        _span(1, input_text="kept question", documents=(("a", 0.5), ("b", None))),
        _span(2, kinds.RETRIEVAL, input_text="query", documents=(("passage é", 0.25),)),
        _span(3, kinds.AGENT, session_id="s", user_id="u", status_message="boom"),
        TraceSpan("ab" * 16, "cd" * 8, "", "late", kinds.TOOL, 20, 10, "OK", {}),
        _span(5, input_text="not kept", output_text="neither"),
    ]


def _python_table(spans_: Sequence[TraceSpan], bodies: Collection[str] | pa.Array) -> pa.Table:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(spans, "core_columns", lambda records, specs: None)
        return spans_table(spans_, bodies)


@pytest.mark.parametrize(
    "bodies",
    [(), {f"{0:016x}", f"{1:016x}", f"{2:016x}"}, pa.array([f"{1:016x}", "x"])],
    ids=["no bodies", "a set", "an array"],
)
def test_the_core_makes_the_python_rows(bodies: Collection[str] | pa.Array) -> None:
    """Every column the same: the LLM calls among ``bodies`` without texts or documents,
    the retrieval span among them (not a call) with its own."""
    rows = _spans()
    assert core_columns(rows, spans._SPECS) is not None
    table = spans_table(rows, bodies)
    reference = _python_table(rows, bodies)
    assert table.schema == reference.schema
    assert table.equals(reference)
    kept = set(bodies.to_pylist() if isinstance(bodies, pa.Array) else bodies)
    ids, inputs = (table.column(name).to_pylist() for name in ("SpanId", "InputText"))
    texts = dict(zip(ids, inputs, strict=True))
    assert texts[f"{1:016x}"] == ("" if f"{1:016x}" in kept else "kept question")
    assert texts[f"{2:016x}"] == "query"


def test_a_value_the_core_leaves_makes_the_python_rows() -> None:
    """A lone surrogate (stored as ``?``) and attributes that are not a
    dict (a read-only mapping): the core declines, and the table is Python's."""
    rows = _spans()
    rows[3].status_message = "bad \ud800 text"
    rows.append(
        TraceSpan(
            "ef" * 16, "01" * 8, "", "n", kinds.TOOL, 5, 6, "OK", MappingProxyType({"a": "b"})
        )
    )
    assert core_columns(rows, spans._SPECS) is None
    table = spans_table(rows, {f"{0:016x}"})
    assert table.equals(_python_table(rows, {f"{0:016x}"}))
    assert table.column("StatusMessage")[3].as_py() == "bad ? text"


def test_durations_of_times_before_1970_are_the_spans() -> None:
    """A negative start or end (whose difference a column of int64 might overflow): each
    span's own ``duration_ns``, as Python stores it."""
    rows = [*_spans(), TraceSpan("ef" * 16, "02" * 8, "", "n", kinds.TOOL, -20, 10, "OK", {})]
    table = spans_table(rows)
    assert table.equals(_python_table(rows, ()))
    assert table.column("Duration").to_pylist()[4:] == [0, 50, 30]


def test_calls_that_all_keep_their_bodies_have_no_texts() -> None:
    """Every span an LLM call with its body kept: no text read, every text empty."""
    rows = [s for s in _spans() if s.kind == kinds.LLM]
    table = spans_table(rows, {s.span_id for s in rows})
    assert table.equals(_python_table(rows, {s.span_id for s in rows}))
    assert set(table.column("InputText").to_pylist()) == {""}
    assert table.column("Documents").to_pylist() == [[]] * len(rows)


def test_a_text_the_core_leaves_makes_the_python_rows() -> None:
    """A lone surrogate in the text of a span that keeps it (a call whose body is kept
    beside it): Python's table, the text stored with ``?``."""
    rows = _spans()
    rows[5].input_text = "not \ud800 kept"
    table = spans_table(rows, {f"{0:016x}"})
    assert table.equals(_python_table(rows, {f"{0:016x}"}))
    assert table.column("InputText")[5].as_py() == "not ? kept"
