"""A comparison of two versions of a route over the calls the store holds.

The calls' scores are fed to a :class:`VersionComparison` in the order they were made, as
a live comparison would have seen them; the answer says where it stands now, when it
first decided, and which candidate calls scored worst (the ones to look at).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from watchkeeper.collector.store.versions import version_scores
from watchkeeper.collector.versions.comparison import VersionComparison
from watchkeeper.collector.versions.identity import DIMENSIONS
from watchkeeper.detectors import HIGHER_IS_BETTER

if TYPE_CHECKING:
    from watchkeeper.collector.store.store import Store


def compare_stored(
    store: Store,
    *,
    route: str,
    baseline: str,
    candidate: str,
    score: str = "faithfulness_drift.faithfulness",
    dimension: str = "model",
    since_ns: int = 0,
    alpha: float = 0.05,
    tolerance: float = 0.0,
    worst: int = 10,
) -> dict[str, Any]:
    """The verdict on ``candidate`` against ``baseline`` for one stored score."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}")
    name = score.rsplit(".", 1)[-1]
    comparison = VersionComparison(
        alpha=alpha, higher_is_better=name in HIGHER_IS_BETTER, tolerance=tolerance
    )
    rows = version_scores(
        store,
        route=route,
        baseline=baseline,
        candidate=candidate,
        score=score,
        dimension=dimension,
        since_ns=since_ns,
    )
    candidate_rows = []
    for row in rows:
        value = min(1.0, max(0.0, float(row["Value"])))
        if row["Version"] == candidate:
            comparison.add_candidate(value)
            candidate_rows.append(row)
        else:
            comparison.add_baseline(value)
    candidate_rows.sort(key=lambda r: float(r["Value"]), reverse=name not in HIGHER_IS_BETTER)
    return {
        "route": route,
        "dimension": dimension,
        "baseline": baseline,
        "candidate": candidate,
        "score": score,
        "higher_is_better": comparison.higher_is_better,
        "alpha": alpha,
        "tolerance": tolerance,
        **asdict(comparison.verdict()),
        "first_decision": comparison.decided if comparison.decided_at else None,
        "first_decision_after_calls": comparison.decided_at,
        "worst_candidate_calls": [
            {"trace_id": r["TraceId"], "span_id": r["SpanId"], "value": float(r["Value"])}
            for r in candidate_rows[:worst]
        ],
    }


def pick_versions(
    seen: list[dict[str, Any]], baseline: str | None, candidate: str | None
) -> tuple[str, str]:
    """The versions to compare: those named, else the newest (by first call) as candidate
    and the one before it as baseline."""
    names = [str(row["Version"]) for row in seen]
    candidate = candidate or (names[-1] if names else None)
    if baseline is None:
        older = [name for name in names if name != candidate]
        baseline = older[-1] if older else None
    if not baseline or not candidate:
        raise ValueError(f"need two versions to compare; seen: {', '.join(names) or 'none'}")
    if baseline == candidate:
        raise ValueError("baseline and candidate must differ")
    return baseline, candidate
