"""Experiment and red-team runs in the store (migration 0016, ``experiment_results``).

A run is written once, when it has finished, one row per case; the run id is derived
from the results, so writing the same run again replaces its rows.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from watchkeeper.collector.experiments.results import CaseResult

if TYPE_CHECKING:
    from watchkeeper.collector.store.store import Store

#: Runs, newest first: what they ran, when, and their metrics' means.
RUNS: Final = """
SELECT RunId, any(Kind) AS Kind, any(Evalset) AS Evalset, any(Target) AS Target,
       toUnixTimestamp64Milli(max(FinishedAt)) AS FinishedMs, count() AS Cases,
       countIf(Ok = 0) AS Failed, sumMap(Metrics) AS MetricSums,
       sumMap(mapApply((k, v) -> (k, 1.0), Metrics)) AS MetricCounts
FROM {db}.experiment_results FINAL
GROUP BY RunId
HAVING {target:String} = '' OR Target = {target:String}
ORDER BY FinishedMs DESC
LIMIT {limit:UInt32}
"""

RUN_RESULTS: Final = """
SELECT CaseId, Ok, Output, Error, LatencySeconds, Metrics, Tags
FROM {db}.experiment_results FINAL
WHERE RunId = {run_id:String}
ORDER BY CaseId
"""


def save_run(store: Store, kind: str, evalset: str, results: Sequence[CaseResult]) -> str:
    """Write a finished run; returns its id."""
    digest = hashlib.sha256(kind.encode())
    for result in results:
        digest.update(result.to_json().encode("utf-8"))
    run_id = digest.hexdigest()[:16]
    finished = time.time_ns() // 1_000_000
    rows = [
        {
            "FinishedAt": f"{finished // 1000}.{finished % 1000:03d}",
            "RunId": run_id,
            "Kind": kind,
            "Evalset": evalset,
            "Target": result.target,
            "CaseId": result.case_id,
            "Ok": int(result.ok),
            "Output": result.output or "",
            "Error": result.error or "",
            "LatencySeconds": result.latency_s,
            "Metrics": result.metrics,
            "Tags": result.tags,
        }
        for result in results
    ]
    if rows:
        store.backend.insert_rows(f"{store.database}.experiment_results", rows)
    return run_id


def runs(store: Store, target: str = "", limit: int = 50) -> list[dict[str, Any]]:
    """The latest runs (of ``target``, or all), each with its metrics' means."""
    found = store.select(RUNS, target=target, limit=limit)
    for row in found:
        sums, counts = row.pop("MetricSums"), row.pop("MetricCounts")
        row["Means"] = {name: sums[name] / counts[name] for name in sums if counts.get(name)}
    return found


def run_results(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Every case of one run."""
    return store.select(RUN_RESULTS, run_id=run_id)


def case_results(store: Store, run_id: str) -> list[CaseResult]:
    """One run's cases as results (to compare two stored runs)."""
    return [
        CaseResult(
            case_id=str(row["CaseId"]),
            target="",
            fingerprint="",
            ok=bool(row["Ok"]),
            output=str(row["Output"]) if row["Ok"] else None,
            error=str(row["Error"]) or None,
            latency_s=float(row["LatencySeconds"]),
            metrics={str(k): float(v) for k, v in row["Metrics"].items()},
            tags={str(k): str(v) for k, v in row["Tags"].items()},
        )
        for row in run_results(store, run_id)
    ]
