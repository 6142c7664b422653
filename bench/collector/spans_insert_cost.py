"""chDB's CPU for the spans of 5-span traces, and where it goes: the same rows inserted in
several ways, then merged.

    python -m bench.collector.spans_insert_cost                      # 6 batches, 3 rounds
    python -m bench.collector.spans_insert_cost --batches 4 --rounds 2

The benchmark's traced calls (``bench.collector.trace_messages``: five spans per LLM call)
go through ``Pipeline.prepare`` with the default detectors first (not timed), and each
batch's ``spans`` rows are spooled as the Arrow file the store's chDB backend hands to
``file()``: as ``Store.write`` makes them (the texts of calls with kept bodies left to
``call_bodies``), and with those texts in the rows as well. Then, in rounds that alternate
the variants, each batch is inserted into a fresh store's ``spans`` table as
``ChdbBackend.insert_arrow`` inserts it, and the parts are merged into one (``OPTIMIZE ...
FINAL``). Printed: the process's CPU (chDB's threads and the calling thread; nothing else
runs) per LLM call, the inserts' sum and the merge's share per batch, the rows, and the
store thread's CPU making each batch's table (``spans_table``). The last variants are
not the store's: they say where the inserts' CPU goes (reading the Arrow file alone, into
a ``Null`` table; the texts stored uncompressed; the rows sorted by the table's key
beforehand, which chDB then need not do).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

#: variant -> (the files inserted, statements run on the fresh table before the inserts)
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "LLM texts in the rows too (before)": ("texts", ()),
    "LLM texts in call_bodies only (now)": ("now", ()),
    "now, read into a Null table": (
        "now",
        (
            "CREATE TABLE spans_cost.discard AS spans_cost.spans ENGINE = Null",
            "RENAME TABLE spans_cost.spans TO spans_cost.kept, "
            "spans_cost.discard TO spans_cost.spans",
        ),
    ),
    "now, texts uncompressed": (
        "now",
        tuple(
            f"ALTER TABLE spans_cost.spans MODIFY COLUMN {c} CODEC(NONE)"
            for c in ("InputText String", "OutputText String", "Documents Array(String)")
        ),
    ),
    "now, rows sorted beforehand": ("sorted", ()),
}
COLUMNS = (
    "Timestamp, TraceId, SpanId, ParentSpanId, SpanName, Kind, ServiceName, Duration, "
    "StatusCode, StatusMessage, SessionId, UserId, InputText, OutputText, Documents, "
    "DocumentScores, SpanAttributes"
)
#: layout -> each batch's file; layout -> the store thread's CPU seconds making them
SpooledSpans = tuple[dict[str, list[Path]], dict[str, float]]


def spooled_spans(backend: Any, folder: Path, batches: int, calls: int) -> SpooledSpans:
    """Each prepared batch's spans rows as Arrow stream files, by layout (``VARIANTS``),
    and the store thread's CPU seconds making the tables as ``Store.write`` makes them
    ("now") and with the calls' texts in the rows ("texts")."""
    from bench.collector.store_cost import prepared_batches
    from bench.collector.trace_messages import trace_message

    files: dict[str, list[Path]] = {"texts": [], "now": [], "sorted": []}
    making = dict.fromkeys(("texts", "now"), 0.0)
    for n, batch in enumerate(prepared_batches(backend, trace_message, batches * calls, calls)):
        bodies = {body[0].span_id for body in batch.bodies}
        for layout, kept in (("texts", ()), ("now", bodies)):
            started = time.thread_time()
            data = _spans_rows(batch, kept)
            making[layout] += time.thread_time() - started
            files[layout].append(_spooled(data, folder / f"{layout}{n}.arrows"))
        data = data.sort_by([("TraceId", "ascending"), ("SpanId", "ascending")])
        files["sorted"].append(_spooled(data, folder / f"sorted{n}.arrows"))
    return files, making


def _spans_rows(batch: Any, bodies: Collection[str]) -> pa.Table:
    import pyarrow as pa

    from watchkeeper.collector.store.spans import spans_table

    tables = [t for t in batch.span_tables if t.num_rows]
    if batch.spans:
        tables.insert(0, spans_table(batch.spans, bodies))
    return pa.concat_tables(tables)


def _spooled(data: pa.Table, path: Path) -> Path:
    import pyarrow as pa

    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, data.schema) as out:
        out.write_table(data)
    return path


def cpu_of(backend: Any, sql: str) -> float:
    """Process CPU seconds of one statement."""
    started = time.process_time()
    backend.command(sql)
    return time.process_time() - started


def one_round(
    backend: Any, files: Sequence[Path], before: Sequence[str], calls: int
) -> tuple[float, float, int]:
    """(the inserts' µs per call; the merge's µs per call; rows in the parts), the
    statements ``before`` run on the fresh table first."""
    from watchkeeper.collector.store.store import Store

    store = Store(backend, "spans_cost")
    store.migrate()
    for statement in before:
        backend.command(statement)
    inserts = sum(
        cpu_of(
            backend,
            f"INSERT INTO spans_cost.spans ({COLUMNS}) SELECT * FROM file('{path}', "
            "'ArrowStream') SETTINGS schema_inference_use_cache_for_file = 0, "
            "optimize_on_insert = 0",
        )
        for path in files
    )
    rows = backend.select(
        "SELECT sum(rows) AS n FROM system.parts "
        "WHERE database = 'spans_cost' AND table = 'spans' AND active"
    )
    stored = int(rows[0]["n"] or 0)
    merge = cpu_of(backend, "OPTIMIZE TABLE spans_cost.spans FINAL") if stored else 0.0
    backend.command("DROP DATABASE spans_cost SYNC")
    per = 1e6 / calls / len(files)
    return inserts * per, merge * per, stored


def main(argv: list[str] | None = None) -> int:
    """Print the spans inserts' and merge's CPU per LLM call in each variant."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batches", type=int, default=6, help="batches inserted per round")
    parser.add_argument("--calls", type=int, default=10_000, help="LLM calls per batch")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from watchkeeper.collector.runtime import tune_for_throughput
    from watchkeeper.collector.store.chdb_backend import ChdbBackend

    with tempfile.TemporaryDirectory() as tmp:
        backend = ChdbBackend(Path(tmp) / "chdb")
        tune_for_throughput()
        files, making = spooled_spans(backend, Path(tmp), args.batches, args.calls)
        per = 1e6 / (args.batches * args.calls)
        print(f"load average {os.getloadavg()[0]:.1f}; {args.batches} batches of {args.calls:,}")
        print(
            "store thread making the spans tables, µs per call: "
            f"LLM texts in the rows {making['texts'] * per:.1f}, now {making['now'] * per:.1f}"
        )
        print("| round | variant | inserts, µs per call | merge, µs per call | rows |")
        print("|---|---|---:|---:|---:|")
        for n in range(args.rounds):
            for label, (layout, before) in VARIANTS.items():
                insert, merge, rows = one_round(backend, files[layout], before, args.calls)
                print(f"| {n + 1} | {label} | {insert:.1f} | {merge:.1f} | {rows:,} |", flush=True)
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
