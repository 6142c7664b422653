"""chDB's Arrow inserts leave the collapse of a key's duplicates within one insert to
merges and ``FINAL`` on tables that feed no materialized view (spans, call_bodies), and
keep it where views are fed (calls, call_scores) for inserts that repeat a span id: what
the trace view, the call reads and the views' rollups return does not change either way."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from tests.collector.test_columns import _call
from watchkeeper.collector.store import monitoring_queries
from watchkeeper.collector.store.chdb_backend import ChdbBackend, repeats_a_span
from watchkeeper.collector.store.columns import KeptBody
from watchkeeper.collector.store.spans import read_trace
from watchkeeper.collector.store.store import Store, WriteBatch
from watchkeeper.collector.traces.assemble import TraceSpan

TRACE = "ab" * 16
#: now, so that the table's TTL keeps the rows through a merge
START_NS = time.time_ns()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated chDB store of its own."""
    opened = Store(ChdbBackend(tmp_path / "chdb"), "collapse")
    opened.migrate()
    yield opened
    opened.close()


def _span(n: int, output: str = "answer") -> TraceSpan:
    return TraceSpan(
        trace_id=TRACE,
        span_id=f"{n:016x}",
        parent_span_id="" if n == 1 else f"{1:016x}",
        name=f"step {n}",
        kind="tool",
        start_ns=START_NS + n,
        end_ns=START_NS + n + 1000,
        status="OK",
        attributes={"k": str(n)},
        output_text=output,
    )


def _part_rows(store: Store, table: str) -> int:
    rows = store.backend.select(
        "SELECT sum(rows) AS n FROM system.parts "
        "WHERE database = {db:String} AND table = {table:String} AND active",
        {"db": store.database, "table": table},
    )
    return int(rows[0]["n"])


def test_a_span_sent_twice_in_one_batch_reads_once(store: Store) -> None:
    """Both copies of a repeated span land in the insert's part (no collapse on insert),
    and the trace view reads the span once, its later copy as a merge would keep it."""
    spans = [_span(1), _span(2, "first"), _span(3), _span(2, "again")]
    store.write(WriteBatch(spans=spans))
    assert _part_rows(store, "spans") == 4
    read = read_trace(store, TRACE)
    assert [s.span_id for s in read] == [f"{n:016x}" for n in (1, 2, 3)]
    assert read[1].output_text == "again"
    store.backend.command(f"OPTIMIZE TABLE {store.database}.spans FINAL")
    assert _part_rows(store, "spans") == 3
    assert read_trace(store, TRACE) == read


def test_tables_that_feed_views_still_collapse_on_insert(store: Store) -> None:
    """A call repeated in one batch is one row of calls' part and two of call_bodies'
    part; the call's full row reads once, with its texts."""
    call = _call(1)
    body: KeptBody = (call, 1.0, "sampled")
    store.write(WriteBatch(calls=[call, replace(call)], bodies=[body, body]))
    assert _part_rows(store, "calls") == 1
    assert _part_rows(store, "call_bodies") == 2
    rows = store.select(
        monitoring_queries.CALLS_BY_ID,
        span_ids=call.span_id,
        from_ns=call.timestamp_ns - 1,
        to_ns=call.timestamp_ns + 1,
    )
    assert [(r["SpanId"], r["InputText"]) for r in rows] == [(call.span_id, call.input_text)]


def test_an_insert_repeats_a_span_when_a_span_id_is_on_two_rows() -> None:
    """Tables that feed views keep the collapse only for inserts that repeat a span id
    (without one it changes nothing); a table without span ids is taken to repeat one."""
    assert not repeats_a_span(pa.table({"SpanId": ["a", "b", "c"]}))
    assert repeats_a_span(pa.table({"SpanId": ["a", "b", "a"]}))
    two_chunks = pa.concat_tables([pa.table({"SpanId": ["a", "b"]}), pa.table({"SpanId": ["a"]})])
    assert repeats_a_span(two_chunks)
    assert repeats_a_span(pa.table({"Queue": ["q"]}))


def test_rollups_are_the_same_with_or_without_the_collapse(store: Store) -> None:
    """Distinct calls go in without the collapse, a repeated call with it: the views read
    the insert as given either way, so a call sent twice counts as the views always
    counted it (once among distinct calls, twice in the versions' call count)."""
    calls = [_call(n) for n in range(1, 4)]
    store.write(WriteBatch(calls=calls))
    store.write(WriteBatch(calls=[calls[0], replace(calls[0])]))
    rows = store.select("SELECT sum(Calls) AS n FROM {db}.call_versions")
    assert int(rows[0]["n"]) == 5
    rows = store.select("SELECT uniqMerge(Calls) AS n FROM {db}.calls_minutely")
    assert int(rows[0]["n"]) == 3
    assert _part_rows(store, "calls") == 4
    assert store.count_calls() == 3
