"""Embedded ClickHouse through chDB: the default, data in a local directory."""

from __future__ import annotations

import itertools
import json
import shutil
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from watchkeeper.collector.store.backend import StoreError

if TYPE_CHECKING:
    import pyarrow as pa


class ChdbBackend:
    """ClickHouse in-process, persisting MergeTree tables under ``path``.

    chDB runs one engine per process and its session is not safe for concurrent use, so
    every call holds one lock; the pipeline batches writes, which keeps the lock cheap.
    """

    def __init__(self, path: Path) -> None:
        import chdb.session

        self.path = path
        self._lock = threading.Lock()
        #: Arrow streams handed to chDB as files, one per insert, removed once read: in the
        #: data directory, which is writable and this process's alone (chDB locks it)
        self._spool = path / "watchkeeper_inserts"
        self._spooled = itertools.count()
        #: table -> whether materialized views read its inserts (``_feeds_views``)
        self._feeds_views_of: dict[str, bool] = {}
        try:
            self._session = chdb.session.Session(str(path))
        except Exception as exc:
            raise StoreError(f"cannot open chDB data directory {path}: {exc}") from exc
        shutil.rmtree(self._spool, ignore_errors=True)  # what a killed process left
        try:
            self._spool.mkdir()
        except OSError as exc:
            raise StoreError(f"cannot create {self._spool} for chDB's inserts: {exc}") from exc

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns no rows."""
        self._run(sql, "CSV", params)

    def select(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a query, rows as dicts (decoded from JSONEachRow)."""
        text = self._run(sql, "JSONEachRow", params)
        return [json.loads(line) for line in text.splitlines() if line]

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows with one statement.

        Rows that share their keys in one order (one function built them) go as
        JSONCompactEachRow (values only), which ClickHouse parses in about two thirds of
        the time of JSONEachRow (no key to match per value); anything else goes as
        JSONEachRow. The values are encoded in one ``orjson.dumps`` of all rows, brackets
        dropped: ClickHouse takes rows separated by commas. The statement goes to chDB as
        UTF-8 bytes, as orjson made them.
        """
        if not rows:
            return
        columns = tuple(rows[0])
        if all(map(columns.__eq__, map(tuple, rows))):
            names = ", ".join(f"`{c}`" for c in columns)
            head = f"INSERT INTO {table} ({names}) FORMAT JSONCompactEachRow\n".encode()
            body = orjson.dumps([list(row.values()) for row in rows])[1:-1]
        else:
            head = f"INSERT INTO {table} FORMAT JSONEachRow\n".encode()
            body = b"\n".join(map(orjson.dumps, rows))
        self._run(head + body, "CSV", None)

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        """Insert an Arrow table's rows, handed to chDB as an Arrow IPC stream in a file.

        Writing the stream copies each buffer once without the GIL, and chDB reads the file
        without it too: about 0.3 ms of GIL per insert. Reading the table in place (chDB's
        ``Python()`` table function) held the GIL for 1.5-8 ms per insert of 2,000 rows,
        time the thread preparing the next batch waited for. Each file is read once, so
        its inferred schema is not cached.
        """
        if data.num_rows == 0:
            return
        import pyarrow as pa

        settings = self._insert_settings(table, data)
        spooled = self._spool / f"{next(self._spooled)}.arrows"
        try:
            with pa.OSFile(str(spooled), "wb") as sink, pa.ipc.new_stream(sink, data.schema) as out:
                out.write_table(data)
            names = ", ".join(f"`{c}`" for c in data.column_names)
            # file(), not FROM INFILE: read that way the materialized views ran on the
            # calling thread alone, at about 5 times its CPU.
            self._run(
                f"INSERT INTO {table} ({names}) "
                f"SELECT * FROM file({_quoted(str(spooled))}, 'ArrowStream') "
                f"SETTINGS {settings}",
                "CSV",
                None,
            )
        except OSError as exc:
            raise StoreError(f"cannot spool rows for chDB in {self._spool}: {exc}") from exc
        finally:
            spooled.unlink(missing_ok=True)

    def _insert_settings(self, table: str, data: pa.Table) -> str:
        """The settings of an Arrow insert of ``data`` into ``table``.

        A ReplacingMergeTree table collapses rows that share their key within each insert
        unless ``optimize_on_insert`` is off, and to do so copies every row of the insert
        once more, one at a time: for 5-span traces, 11 of the spans insert's 27 µs of CPU
        per LLM call (``python -m bench.collector.spans_insert_cost``), 6 of call_scores'
        16 and 3 of calls' 9 (``python -m bench.collector.store_cost``). Every query reads
        through the duplicates a replayed batch leaves in another part (``FINAL``, ``LIMIT
        1 BY``), so tables that feed no materialized view leave the collapse to merges. A
        table that feeds views keeps it when the insert repeats a span id: the collapse is
        a no-op otherwise, since every such table's key ends in the span id and the views'
        rollups get one row per key of their ``GROUP BY`` (the views read the insert as it
        was given, collapsed or not).
        """
        settings = "schema_inference_use_cache_for_file = 0"
        if self._feeds_views(table) and repeats_a_span(data):
            return settings
        return settings + ", optimize_on_insert = 0"

    def _feeds_views(self, table: str) -> bool:
        """Whether materialized views read ``table``'s inserts (asked of chDB once)."""
        feeds = self._feeds_views_of.get(table)
        if feeds is None:
            database, _, name = table.rpartition(".")
            rows = self.select(
                "SELECT dependencies_table AS views FROM system.tables "
                "WHERE database = if({database:String} = '', currentDatabase(), "
                "{database:String}) AND name = {name:String}",
                {"database": database, "name": name},
            )
            feeds = self._feeds_views_of[table] = not rows or bool(rows[0]["views"])
        return feeds

    def close(self) -> None:
        """Close the chDB session (idempotent)."""
        with self._lock:
            session, self._session = getattr(self, "_session", None), None
            if session is not None:
                session.close()
            shutil.rmtree(self._spool, ignore_errors=True)

    def _run(self, sql: str | bytes, fmt: str, params: Mapping[str, Any] | None) -> str:
        with self._lock:
            if self._session is None:
                raise StoreError("the chDB store is closed")
            try:
                if params:
                    result = self._session.query(sql, fmt, params=dict(params))
                else:
                    result = self._session.query(sql, fmt)
            except Exception as exc:
                raise StoreError(f"chDB: {_first_line(exc)}") from exc
        data = result.data() if result is not None else ""
        return str(data)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def repeats_a_span(data: pa.Table) -> bool:
    """Whether some span id is on two rows of ``data`` (True without a ``SpanId`` column)."""
    if "SpanId" not in data.column_names:
        return True
    import pyarrow.compute as pc

    distinct = pc.count_distinct(data.column("SpanId"), mode="all").as_py()
    return bool(distinct < data.num_rows)


def _quoted(text: str) -> str:
    """``text`` as a ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
