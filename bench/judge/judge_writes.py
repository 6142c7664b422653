"""What the store is asked per turn of the judge's collector benchmark: inserts by table and
queries, for each way, counted by a shim around the chDB backend.

    python -m bench.judge.judge_writes --rounds 2 --calls 20000 --window 30

Runs :mod:`bench.judge.judge_collector` with its arguments, then prints, per way (each
way writes a database of its own), the inserts per turn into each table and the rows they
held, and the queries per turn (the benchmark's own ``system.merges`` polls left out):
what a judge adds to chDB's inserts, and so to the parts chDB later merges.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from bench.judge import judge_collector


class CountingBackend:
    """A backend that counts inserts (and their rows) by table and queries by database."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.inserts: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()
        self.queries: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def select(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        if "system.merges" not in sql:
            database = next((w for w in judge_collector.WAYS if f"judge_bench_{w}" in sql), "?")
            with self._lock:
                self.queries[database] += 1
        return list(self.backend.select(sql, params))

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._count(table, len(rows))
        self.backend.insert_rows(table, rows)

    def insert_arrow(self, table: str, data: Any) -> None:
        if data.num_rows:
            self._count(table, data.num_rows)
        self.backend.insert_arrow(table, data)

    def _count(self, table: str, rows: int) -> None:
        with self._lock:
            self.inserts[table] += 1
            self.rows[table] += rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with the counting backend and print the counts per turn."""
    from watchkeeper.collector.store import store as store_module

    args = sys.argv[1:] if argv is None else argv
    shims: list[CountingBackend] = []
    opened = store_module.open_store

    def counting_store(settings: Any) -> Any:
        store = opened(settings)
        shim = CountingBackend(store.backend)
        store.backend = shim
        shims.append(shim)
        return store

    store_module.open_store = counting_store
    judge_collector.main(args)
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 7
    turns = rounds + 1  # the warm-up turn too
    for shim in shims:
        print(f"store work per turn ({turns} turns per way):")
        for table in sorted(shim.inserts):
            print(
                f"  {table}: {shim.inserts[table] / turns:.1f} inserts, "
                f"{shim.rows[table] / turns:,.0f} rows"
            )
        for way, count in sorted(shim.queries.items()):
            print(f"  queries of {way}: {count / turns:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
