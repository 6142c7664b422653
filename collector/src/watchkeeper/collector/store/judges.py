"""What the judges read and write: verdicts (the cache), judge scores in ``call_scores``,
the calls a restart must still judge, and verdicts beside reviewers' labels.

Tables from migration 0014 (``judge_verdicts``; ``call_scores.JudgeMerged``) and 0018
(``judge_comparisons``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pyarrow as pa

from watchkeeper.collector.record import ns_to_clickhouse
from watchkeeper.collector.store.store import Store

#: A judge's newest verdicts of one prompt version, the oldest of them first: what fills
#: its in-memory cache (judge/cache.py) when the judges start, one read.
RECENT_VERDICTS: Final = """
SELECT SpanId, ContentHash, Dimension, Score, Reason
FROM (SELECT JudgedAt, SpanId, ContentHash, Dimension, Score, Reason
      FROM {db}.judge_verdicts
      WHERE Judge = {judge:String} AND PromptVersion = {version:String}
      ORDER BY JudgedAt DESC
      LIMIT {limit:UInt32})
ORDER BY JudgedAt
"""

#: A judge's verdicts on some calls or on the same texts: one read per batch of
#: ``watchkeeper replay`` before it judges the batch (ingestion never reads these).
VERDICTS_FOR: Final = """
SELECT SpanId, ContentHash, Dimension, Score, Reason
FROM {db}.judge_verdicts
WHERE Judge = {judge:String} AND PromptVersion = {version:String}
  AND (has(splitByChar(',', {span_ids:String}), SpanId)
       OR has(splitByChar(',', {hashes:String}), ContentHash))
ORDER BY JudgedAt
"""

#: The ``call_scores`` rows of a batch of calls, by the sorting key (ServiceName, Route,
#: SpanId) and the time range for the partitions: one read per flush of verdicts. The keys
#: come as three lists joined by the unit separator, which names and ids do not hold.
SCORE_ROWS: Final = """
SELECT Timestamp, TraceId, SpanId, ServiceName, Route, Model, DetectorKey, Scores,
       ScorerVersions
FROM {db}.call_scores FINAL
WHERE (ServiceName, Route, SpanId) IN (
        SELECT arrayJoin(arrayZip(splitByChar('\\x1F', {services:String}),
                                  splitByChar('\\x1F', {routes:String}),
                                  splitByChar('\\x1F', {span_ids:String}))))
  AND Timestamp >= fromUnixTimestamp64Nano({min_ns:Int64})
  AND Timestamp <= fromUnixTimestamp64Nano({max_ns:Int64})
"""

#: Stored calls with texts since a time, which queues they were routed to and which
#: detectors flagged them: what the sampler needs to re-derive a backlog after a restart.
#: A call is judged when it has the judge's verdicts or its scores (the verdict cache
#: answers calls in the hand-over without verdict rows: judge/reuse.py).
STORED_CANDIDATES: Final = """
SELECT c.TraceId AS TraceId, c.SpanId AS SpanId, c.ServiceName AS ServiceName,
       c.Route AS Route, if(c.ResponseModel != '', c.ResponseModel, c.RequestModel) AS Model,
       toUnixTimestamp64Nano(c.Timestamp) AS TimestampNs, c.StatusCode AS StatusCode,
       b.InputText AS InputText, b.OutputText AS OutputText, b.Contexts AS Contexts,
       r.Queues AS Queues, a.Detectors AS Detectors
FROM (SELECT * FROM {db}.calls FINAL
      WHERE Timestamp >= fromUnixTimestamp64Nano({since_ns:Int64}) AND HasBody = 1) AS c
INNER JOIN (SELECT SpanId, InputText, OutputText, Contexts FROM {db}.call_bodies FINAL
            WHERE Timestamp >= fromUnixTimestamp64Nano({since_ns:Int64})) AS b
    ON c.SpanId = b.SpanId
LEFT JOIN (SELECT SpanId, groupArray(Queue) AS Queues FROM {db}.review_items FINAL
           WHERE Timestamp >= fromUnixTimestamp64Nano({since_ns:Int64}) GROUP BY SpanId) AS r
    ON c.SpanId = r.SpanId
LEFT JOIN (SELECT SpanId, groupUniqArray(Detector) AS Detectors FROM {db}.alarms FINAL
           WHERE Timestamp >= fromUnixTimestamp64Nano({since_ns:Int64}) GROUP BY SpanId) AS a
    ON c.SpanId = a.SpanId
WHERE c.SpanId NOT IN (SELECT SpanId FROM {db}.judge_verdicts WHERE Judge = {judge:String})
  AND c.SpanId NOT IN (SELECT SpanId FROM {db}.call_scores
                       WHERE Timestamp >= fromUnixTimestamp64Nano({since_ns:Int64})
                         AND arrayExists(k -> startsWith(k, {prefix:String}), mapKeys(Scores)))
ORDER BY c.Timestamp, c.SpanId
LIMIT {limit:UInt32}
"""

#: A judge's verdicts on calls reviewers labelled, beside the labels' scores.
JUDGED_LABELS: Final = """
SELECT v.SpanId AS SpanId, v.Dimension AS Dimension, v.Score AS JudgeScore,
       v.AnswerChars AS AnswerChars, v.AppModel AS AppModel, v.JudgeModel AS JudgeModel,
       l.Reviewer AS Reviewer, l.Scores AS LabelScores,
       toUnixTimestamp64Milli(l.LabelledAt) AS LabelledAtMs
FROM (SELECT * FROM {db}.judge_verdicts FINAL WHERE Judge = {judge:String}) AS v
INNER JOIN (SELECT SpanId, Reviewer, Scores, LabelledAt FROM {db}.review_labels FINAL
            WHERE LabelledAt >= fromUnixTimestamp64Milli({since_ms:Int64})) AS l
    ON v.SpanId = l.SpanId
WHERE mapContains(l.Scores, v.Dimension)
ORDER BY l.LabelledAt, v.SpanId, l.Reviewer
"""

#: A judge's pairwise comparisons (migration 0018): each one's winner in both orders.
COMPARISONS: Final = """
SELECT Dimension, AFirst, BFirst
FROM {db}.judge_comparisons FINAL
WHERE Judge = {judge:String} AND ComparedAt >= fromUnixTimestamp64Milli({since_ms:Int64})
ORDER BY Dimension, ComparedAt
"""

#: Joins the keys of :data:`SCORE_ROWS`.
SEPARATOR: Final = "\x1f"


class JudgeStore:
    """The judges' reads and writes over a :class:`Store` (its backend and database)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        #: A scores row is read, extended and written again: two judges finishing one call
        #: at once would each write the row without the other's scores.
        self.scores_lock = threading.Lock()

    def recent_verdicts(self, judge: str, version: str, limit: int) -> list[dict[str, Any]]:
        """The judge's newest ``limit`` verdict rows of ``version``, oldest first."""
        return self.store.select(RECENT_VERDICTS, judge=judge, version=version, limit=limit)

    def verdicts_for(
        self, judge: str, version: str, span_ids: Sequence[str], hashes: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The judge's verdict rows of ``version`` on these calls or these texts."""
        if not span_ids and not hashes:
            return []
        return self.store.select(
            VERDICTS_FOR,
            judge=judge,
            version=version,
            span_ids=",".join(span_ids),
            hashes=",".join(hashes),
        )

    def write_verdicts(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``judge_verdicts`` rows."""
        self.store.backend.insert_rows(f"{self.store.database}.judge_verdicts", rows)

    def add_scores(self, call: Mapping[str, Any], scores: Mapping[str, float]) -> None:
        """Add judge scores (``{"judge.<name>.<dimension>": value}``) to the call's
        ``call_scores`` row; ``call`` has the span columns (TraceId, SpanId, TimestampNs,
        ServiceName, Route, Model, DetectorKey), for a call with no row yet."""
        self.add_scores_many([(call, scores)])

    def add_scores_many(
        self, items: Sequence[tuple[Mapping[str, Any], Mapping[str, float]]]
    ) -> None:
        """:meth:`add_scores` for many calls: one read of their rows, one insert. Rows
        that hold the scores already are not written again. A call given with the scores
        it was stored with (``StoredScores``: the pipeline's row, empty for none) is not
        read; only one writer may add scores to it then (the workers give them for a
        single judge)."""
        with self.scores_lock:
            rows = self.score_rows(items)
            self.store.backend.insert_rows(f"{self.store.database}.call_scores", rows)

    def write_score_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert :meth:`score_rows` rows."""
        self.store.backend.insert_rows(f"{self.store.database}.call_scores", rows)

    def score_rows(
        self, items: Sequence[tuple[Mapping[str, Any], Mapping[str, float]]]
    ) -> list[dict[str, Any]]:
        """The ``call_scores`` rows :meth:`add_scores_many` writes (reading the rows of
        calls given without their stored scores)."""
        merged: dict[tuple[str, str, str], tuple[Mapping[str, Any], dict[str, float]]] = {}
        for call, scores in items:
            key = (str(call["ServiceName"]), str(call["Route"]), str(call["SpanId"]))
            merged.setdefault(key, (call, {}))[1].update(scores)
        if not merged:
            return []
        found = _known_rows(merged, self.store.scorer_versions)
        unknown = {k: v for k, v in merged.items() if k not in found}
        if unknown:
            found |= self._score_rows(unknown)
        return [
            row
            for key, (call, scores) in merged.items()
            if (row := _scores_row(found.get(key), call, scores)) is not None
        ]

    def _score_rows(
        self, merged: Mapping[tuple[str, str, str], tuple[Mapping[str, Any], Any]]
    ) -> dict[tuple[str, str, str], dict[str, Any]]:
        times = [int(call["TimestampNs"]) for call, _ in merged.values()]
        found = self.store.select(
            SCORE_ROWS,
            services=SEPARATOR.join(k[0] for k in merged),
            routes=SEPARATOR.join(k[1] for k in merged),
            span_ids=SEPARATOR.join(k[2] for k in merged),
            min_ns=min(times),
            max_ns=max(times),
        )
        return {(str(r["ServiceName"]), str(r["Route"]), str(r["SpanId"])): r for r in found}

    def stored_candidates(self, judge: str, since_ns: int, limit: int) -> list[dict[str, Any]]:
        """Stored calls with texts since ``since_ns`` this judge has no verdict on."""
        return self.store.select(
            STORED_CANDIDATES,
            judge=judge,
            since_ns=since_ns,
            limit=limit,
            prefix=f"judge.{judge}.",
        )

    def judged_labels(self, judge: str, since_ms: int = 0) -> list[dict[str, Any]]:
        """This judge's verdicts on labelled calls, one row per (call, dimension, reviewer)."""
        return self.store.select(JUDGED_LABELS, judge=judge, since_ms=since_ms)

    def write_comparisons(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``judge_comparisons`` rows (pairwise comparisons in both orders)."""
        self.store.backend.insert_rows(f"{self.store.database}.judge_comparisons", rows)

    def comparisons(self, judge: str, since_ms: int = 0) -> list[dict[str, Any]]:
        """This judge's comparisons since ``since_ms``: Dimension, AFirst, BFirst."""
        return self.store.select(COMPARISONS, judge=judge, since_ms=since_ms)

    def add_review_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``review_items`` rows (judged calls sent to reviewers)."""
        self.store.backend.insert_rows(f"{self.store.database}.review_items", items)


def scores_table(rows: Sequence[Mapping[str, Any]], times_ns: Sequence[int]) -> pa.Table:
    """:meth:`JudgeStore.score_rows` rows (at ``times_ns``) as Arrow columns, for the
    pipeline's own ``call_scores`` insert (``WriteBatch.score_tables``)."""
    texts = ("TraceId", "SpanId", "ServiceName", "Route", "Model", "DetectorKey")
    return pa.table(
        {
            "Timestamp": pa.array(times_ns, pa.timestamp("ns", tz="UTC")),
            **{c: pa.array([str(row[c]) for row in rows], pa.string()) for c in texts},
            "Scores": pa.array(
                [[(k, float(v)) for k, v in row["Scores"].items()] for row in rows],
                pa.map_(pa.string(), pa.float64()),
            ),
            "ScorerVersions": pa.array(
                [list(row.get("ScorerVersions", {}).items()) for row in rows],
                pa.map_(pa.string(), pa.string()),
            ),
            "JudgeMerged": pa.array([int(row["JudgeMerged"]) for row in rows], pa.uint8()),
            "JudgeKeys": pa.array(
                [list(row.get("JudgeKeys", ())) for row in rows], pa.list_(pa.string())
            ),
        }
    )


def _known_rows(
    merged: Mapping[tuple[str, str, str], tuple[Mapping[str, Any], Any]],
    versions: Mapping[str, str],
) -> dict[tuple[str, str, str], dict[str, Any] | None]:
    """The stored scores rows the calls came with (None for a call stored without one),
    with the ``versions`` of the detectors whose scores they hold."""
    out: dict[tuple[str, str, str], dict[str, Any] | None] = {}
    for key, (call, _) in merged.items():
        stored = call.get("StoredScores")
        if stored is None:
            continue
        if not stored:
            out[key] = None
            continue
        row = {k: call[k] for k in ("TraceId", "SpanId", "ServiceName", "Route", "Model")}
        row |= {
            "Timestamp": ns_to_clickhouse(int(call["TimestampNs"])),
            "DetectorKey": call["DetectorKey"],
            "Scores": dict(stored),
            "ScorerVersions": {
                d: v for d, v in versions.items() if any(k.startswith(f"{d}.") for k in stored)
            },
        }
        out[key] = row
    return out


def _scores_row(
    found: Mapping[str, Any] | None, call: Mapping[str, Any], scores: Mapping[str, float]
) -> dict[str, Any] | None:
    """The call's scores row with the judge scores added; None when it holds them."""
    if found is not None and all(found["Scores"].get(k) == v for k, v in scores.items()):
        return None
    if found is not None:
        row = {**found, "JudgeMerged": 1, "JudgeKeys": list(scores)}
    else:
        row = {k: call[k] for k in ("TraceId", "SpanId", "ServiceName", "Route", "Model")}
        row |= {
            "Timestamp": ns_to_clickhouse(int(call["TimestampNs"])),
            "DetectorKey": call["DetectorKey"],
            "Scores": {},
            "JudgeMerged": 0,
        }
    row["Scores"] = {**row["Scores"], **scores}
    return row
