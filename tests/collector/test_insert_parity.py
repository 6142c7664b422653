"""The store's Arrow inserts land the same rows as chDB reading the same Arrow tables in
place (its ``Python()`` table function, the reference): every column of calls,
call_bodies, call_scores and spans, and what their materialized views aggregate, for
batches of the benchmarks' messages through the whole pipeline. Passes with and without
the compiled core (``WATCHKEEPER_NATIVE=0``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from tests.collector.test_columns import _call
from tests.support.otlp_messages import message
from watchkeeper.collector.pipeline import Payload
from watchkeeper.collector.runtime import build_pipeline
from watchkeeper.collector.settings import Settings
from watchkeeper.collector.store.backend import Backend
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.columns import bodies_table, calls_table, scores_table
from watchkeeper.collector.store.spans import spans_table
from watchkeeper.collector.store.store import Store, WriteBatch

CALLS, BATCH = 600, 200
#: one key column per table, so rows compare in one order
TABLES = {"calls": "SpanId", "call_bodies": "SpanId", "call_scores": "SpanId", "spans": "SpanId"}
#: the materialized views' targets, finalised, ordered by every grouping column (float sums
#: rounded: chDB's threads add the parts in no fixed order)
AGGREGATES = {
    "calls_minutely": (
        "SELECT Minute, ServiceName, Route, Model, uniqMerge(Calls) AS Calls, "
        "uniqIfMerge(Errors) AS Errors, avgMerge(Weight) AS Weight, "
        "avgMerge(InputTokens) AS InputTokens, avgMerge(OutputTokens) AS OutputTokens, "
        "quantilesTDigestMerge(0.5, 0.95)(Latency) AS Latency "
        "FROM {db}.calls_minutely GROUP BY ALL ORDER BY ALL"
    ),
    "scores_minutely": (
        "SELECT Minute, ServiceName, Route, Model, Score, sum(N) AS N, round(sum(Sum), 9) AS Sum, "
        "min(Min) AS Min, max(Max) AS Max FROM {db}.scores_minutely GROUP BY ALL ORDER BY ALL"
    ),
    "call_versions": (
        "SELECT ServiceName, Route, Model, PromptVersion, min(FirstSeen) AS FirstSeen, "
        "max(LastSeen) AS LastSeen, sum(Calls) AS Calls "
        "FROM {db}.call_versions GROUP BY ALL ORDER BY ALL"
    ),
}


def _read_in_place(backend: Backend, table: str, data: pa.Table) -> None:
    """The reference insert: chDB reads the Arrow table in place, found by its name."""
    if data.num_rows == 0:
        return
    _watchkeeper_reference_rows = data  # read by name by chDB, below
    names = ", ".join(f"`{c}`" for c in data.column_names)
    backend.command(
        f"INSERT INTO {table} ({names}) SELECT * FROM Python(_watchkeeper_reference_rows)"
    )


class _AlsoInPlace(Store):
    """A store that, after each batch, inserts the batch's tables into ``reference`` the
    reference way."""

    reference = "reference"

    def write(self, batch: WriteBatch) -> None:
        super().write(batch)
        into = f"{self.reference}."
        _read_in_place(self.backend, into + "calls", calls_table(batch.calls, batch.bodies))
        _read_in_place(self.backend, into + "call_bodies", bodies_table(batch.bodies))
        if batch.scores:
            scores = scores_table(batch.scores, batch.scorer_versions)
            _read_in_place(self.backend, into + "call_scores", scores)
        bodies = {body[0].span_id for body in batch.bodies}
        _read_in_place(self.backend, into + "spans", spans_table(batch.spans, bodies))


def _stored_columns(store: Store, table: str) -> list[str]:
    """The table's columns but those stamped at insert (``now()`` defaults)."""
    rows = store.backend.select(
        "SELECT name, default_expression FROM system.columns "
        "WHERE database = {db:String} AND table = {table:String} ORDER BY position",
        {"db": store.database, "table": table},
    )
    return [f"`{r['name']}`" for r in rows if "now" not in r["default_expression"].lower()]


def _rows(store: Store, database: str, table: str) -> list[dict[str, Any]]:
    columns = ", ".join(_stored_columns(store, table))
    order = TABLES[table]
    return store.backend.select(
        f"SELECT {columns} FROM {database}.{table} FINAL ORDER BY {order}, Timestamp"
    )


def test_arrow_inserts_store_what_reading_in_place_stores(tmp_path: Path) -> None:
    """Every stored row and aggregate of the benchmark's calls is the same, column by
    column, whichever way chDB received the Arrow tables."""
    settings = Settings(data_dir=tmp_path)  # type: ignore[call-arg]  # pydantic-settings
    store = _AlsoInPlace(ChdbBackend(tmp_path / "chdb"))
    store.migrate()
    reference = Store(store.backend, database=store.reference)
    reference.migrate()
    pipeline = build_pipeline(settings, store)
    try:
        payloads = [Payload(message(i, "parity")[1], "test") for i in range(CALLS)]
        for start in range(0, CALLS, BATCH):
            pipeline.write(pipeline.prepare(payloads[start : start + BATCH]))
        assert len(_rows(store, store.database, "calls")) == CALLS
        for table in TABLES:
            stored = _rows(store, store.database, table)
            assert stored, table
            assert stored == _rows(store, reference.database, table), table
        for name, sql in AGGREGATES.items():
            stored = store.backend.select(sql.replace("{db}", store.database))
            assert stored, name
            assert stored == store.backend.select(sql.replace("{db}", reference.database)), name
    finally:
        pipeline.close()
        store.close()


def test_spooled_inserts_leave_no_file(tmp_path: Path) -> None:
    """Each insert's file is removed once chDB read it; what a killed process left is
    removed when the store opens again, and the folder when it closes."""
    folder = tmp_path / "chdb" / "watchkeeper_inserts"
    store = Store(ChdbBackend(tmp_path / "chdb"))
    store.migrate()
    store.write(WriteBatch(calls=[_call(1)]))
    assert store.count_calls() == 1
    assert list(folder.iterdir()) == []
    (folder / "0.arrows").write_bytes(b"left by a killed process")
    store.close()
    assert not folder.exists()
    folder.mkdir()
    (folder / "0.arrows").write_bytes(b"left by a killed process")
    store = Store(ChdbBackend(tmp_path / "chdb"))
    try:
        assert list(folder.iterdir()) == []
        assert store.count_calls() == 1
    finally:
        store.close()
