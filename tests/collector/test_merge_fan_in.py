"""Migration 0023: the tables every batch writes merge ten parts of a size at a time."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import watchkeeper.collector.store.store as store_module
from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.store import Store

#: Tables that take a part per pipeline batch (or per judge round), views' rollups included.
BATCH_TABLES = (
    "calls",
    "call_scores",
    "call_bodies",
    "spans",
    "alarms",
    "review_items",
    "feedback",
    "judge_verdicts",
    "calls_minutely",
    "calls_hourly",
    "call_versions",
    "scores_minutely",
    "scores_hourly",
)


def _fan_in(store: Store) -> dict[str, int]:
    """merge_selector_base of each table of the store that sets it."""
    rows = store.select(
        "SELECT name, create_table_query FROM system.tables WHERE database = {db:String}",
        db=store.database,
    )
    found = {}
    for row in rows:
        match = re.search(r"merge_selector_base = (\d+)", row["create_table_query"])
        if match:
            found[row["name"]] = int(match.group(1))
    return found


def _stored(store: Store) -> dict[str, Any]:
    """What queries read back: calls, bodies, scores and the minute rollup's call count."""
    minutely = store.select("SELECT uniqMerge(Calls) AS n FROM {db}.calls_minutely")[0]["n"]
    return {
        "calls": store.count_calls(),
        "bodies": store.count_bodies(),
        "scores": [
            (r["Detector"], r["ScoreName"], int(r["N"]), r["Mean"]) for r in store.score_summary()
        ],
        "minutely": int(minutely),
    }


def test_a_fresh_store_merges_ten_parts_at_a_time(store: Store) -> None:
    """Every table a batch writes has merge_selector_base 10 in a new store."""
    assert _fan_in(store) == dict.fromkeys(BATCH_TABLES, 10)


def test_an_existing_store_takes_0023_and_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store migrated before 0023, with calls in it, gets the setting from 0023 alone;
    what it held reads the same afterwards, and new batches are stored as before."""
    every = list(store_module._migrations())
    older: Any = lambda: [m for m in every if m[0] < 23]  # noqa: E731 - the older release
    monkeypatch.setattr(store_module, "_migrations", older)
    old = Store(ChdbBackend(tmp_path / "chdb"))
    try:
        old.migrate()
        pipeline = Pipeline(old)
        for _ in range(3):  # three batches, three parts per table
            pipeline.process([Payload(protobuf_payload(answer_spans(4)), "test")])
        before = _stored(old)
        assert before["calls"] == 12
        assert _fan_in(old) == {}
        monkeypatch.undo()
        assert old.migrate() == [name for version, name, _ in every if version >= 23]
        assert _fan_in(old) == dict.fromkeys(BATCH_TABLES, 10)
        assert _stored(old) == before
        pipeline.process([Payload(protobuf_payload(answer_spans(4)), "test")])
        assert old.count_calls() == 16
    finally:
        old.close()


def _with_extra_migration(monkeypatch: pytest.MonkeyPatch, sql: str) -> list[tuple[int, str, str]]:
    every = list(store_module._migrations())
    extra = (every[-1][0] + 1, "9999_extra.sql", sql)
    monkeypatch.setattr(store_module, "_migrations", lambda: [*every, extra])
    return every


UNKNOWN_SETTING = "ALTER TABLE {db}.calls MODIFY SETTING no_such_merge_tree_setting = 1;\n"


def test_a_refused_tuning_migration_warns_once_and_the_store_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A server without a setting (an older ClickHouse) refuses a tuning-only migration:
    one warning, the rest of it skipped, the version recorded, the store usable."""
    every = _with_extra_migration(
        monkeypatch, f"{store_module.TUNING_ONLY}\n{UNKNOWN_SETTING}{UNKNOWN_SETTING}"
    )
    store = Store(ChdbBackend(tmp_path / "chdb"))
    try:
        with caplog.at_level("WARNING", logger="watchkeeper.collector.store"):
            applied = store.migrate()
        assert applied[-1] == "9999_extra.sql"
        assert len(applied) == len(every) + 1
        refused = [r for r in caplog.records if "9999_extra.sql not applied" in r.getMessage()]
        assert len(refused) == 1
        assert store.migrate() == []
    finally:
        store.close()


def test_a_refused_ordinary_migration_still_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the mark, a refused statement is an error: the schema would be wrong."""
    _with_extra_migration(monkeypatch, UNKNOWN_SETTING)
    store = Store(ChdbBackend(tmp_path / "chdb"))
    try:
        with pytest.raises(store_module.StoreError):
            store.migrate()
    finally:
        store.close()
