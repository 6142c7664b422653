"""chDB's CPU for the spans of 5-span traces: inserted with and without the collapse of a
key's duplicates on insert (``optimize_on_insert``), then merged.

    python -m bench.collector.spans_insert_cost                      # 6 batches, 3 rounds
    python -m bench.collector.spans_insert_cost --batches 4 --rounds 2

The benchmark's traced calls (``bench.collector.trace_messages``: five spans per LLM call)
go through ``Pipeline.prepare`` with the default detectors first (not timed), and each
batch's ``spans`` rows are spooled as the Arrow file the store's chDB backend hands to
``file()``. Then, in rounds that alternate the two settings, each batch is inserted into
a fresh store's ``spans`` table as ``ChdbBackend.insert_arrow`` inserts it, and the parts
are merged into one (``OPTIMIZE ... FINAL``). Printed: the process's CPU (chDB's threads
and the calling thread; nothing else runs) per LLM call, the inserts' median and the
merge's share per batch, and the parts' rows (the same either way: the batches hold no
duplicates).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: label -> the inserts' settings besides the store's ``schema_inference_use_cache_for_file``
SETTINGS = {
    "collapse on insert (before)": "optimize_on_insert = 1",
    "collapse left to merges (now)": "optimize_on_insert = 0",
}
COLUMNS = (
    "Timestamp, TraceId, SpanId, ParentSpanId, SpanName, Kind, ServiceName, Duration, "
    "StatusCode, StatusMessage, SessionId, UserId, InputText, OutputText, Documents, "
    "DocumentScores, SpanAttributes"
)


def spooled_spans(backend: Any, folder: Path, batches: int, calls: int) -> list[Path]:
    """Each prepared batch's spans rows as an Arrow stream file (``Store.write``'s table)."""
    import pyarrow as pa

    from bench.collector.store_cost import prepared_batches
    from bench.collector.trace_messages import trace_message
    from watchkeeper.collector.store.spans import spans_table

    files = []
    for n, batch in enumerate(prepared_batches(backend, trace_message, batches * calls, calls)):
        tables = [t for t in batch.span_tables if t.num_rows]
        if batch.spans:
            tables.insert(0, spans_table(batch.spans))
        data = pa.concat_tables(tables)
        path = folder / f"spans{n}.arrows"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, data.schema) as out:
            out.write_table(data)
        files.append(path)
    return files


def cpu_of(backend: Any, sql: str) -> float:
    """Process CPU seconds of one statement."""
    started = time.process_time()
    backend.command(sql)
    return time.process_time() - started


def one_round(
    backend: Any, files: Sequence[Path], settings: str, calls: int
) -> tuple[float, float, int]:
    """(insert µs per call, median of the batches; merge µs per call; rows in the parts)."""
    from watchkeeper.collector.store.store import Store

    store = Store(backend, "spans_cost")
    store.migrate()
    inserts = [
        cpu_of(
            backend,
            f"INSERT INTO spans_cost.spans ({COLUMNS}) SELECT * FROM file('{path}', "
            f"'ArrowStream') SETTINGS schema_inference_use_cache_for_file = 0, {settings}",
        )
        for path in files
    ]
    rows = backend.select(
        "SELECT sum(rows) AS n FROM system.parts "
        "WHERE database = 'spans_cost' AND table = 'spans' AND active"
    )
    merge = cpu_of(backend, "OPTIMIZE TABLE spans_cost.spans FINAL")
    backend.command("DROP DATABASE spans_cost SYNC")
    per = 1e6 / calls
    return statistics.median(inserts) * per, merge * per / len(files), int(rows[0]["n"])


def main(argv: list[str] | None = None) -> int:
    """Print the spans inserts' and merge's CPU per LLM call under each setting."""
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
        files = spooled_spans(backend, Path(tmp), args.batches, args.calls)
        print(f"load average {os.getloadavg()[0]:.1f}; {args.batches} batches of {args.calls:,}")
        print("| round | setting | insert, µs per call | merge, µs per call | rows |")
        print("|---|---|---:|---:|---:|")
        for n in range(args.rounds):
            for label, settings in SETTINGS.items():
                insert, merge, rows = one_round(backend, files, settings, args.calls)
                print(f"| {n + 1} | {label} | {insert:.1f} | {merge:.1f} | {rows:,} |", flush=True)
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
