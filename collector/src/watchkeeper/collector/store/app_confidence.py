"""Reviewed calls with the app's own confidence: the span attribute the SDK records, the
answer (for confidence phrases) and the reviewers' verdicts."""

from __future__ import annotations

from typing import Any, Final

from watchkeeper.collector.store.store import Store

#: One row per (call, reviewer) labelled since a time.
LABELLED_CONFIDENCE: Final = """
SELECT l.SpanId AS SpanId, l.Verdict AS Verdict,
       toString(toDate(l.LabelledAt)) AS Day,
       c.Model AS Model, c.Confidence AS Confidence, b.OutputText AS OutputText
FROM (SELECT SpanId, Verdict, LabelledAt FROM {db}.review_labels FINAL
      WHERE LabelledAt >= fromUnixTimestamp64Milli({since_ms:Int64})) AS l
INNER JOIN (SELECT SpanId, if(ResponseModel != '', ResponseModel, RequestModel) AS Model,
                   SpanAttributes[{attribute:String}] AS Confidence
            FROM {db}.calls FINAL
            WHERE SpanId IN (SELECT SpanId FROM {db}.review_labels
                             WHERE LabelledAt >= fromUnixTimestamp64Milli({since_ms:Int64}))
           ) AS c
    ON l.SpanId = c.SpanId
LEFT JOIN (SELECT SpanId, OutputText FROM {db}.call_bodies FINAL
           WHERE SpanId IN (SELECT SpanId FROM {db}.review_labels
                            WHERE LabelledAt >= fromUnixTimestamp64Milli({since_ms:Int64}))
          ) AS b
    ON l.SpanId = b.SpanId
ORDER BY l.LabelledAt, l.SpanId
"""


def labelled_confidence(store: Store, attribute: str, since_ms: int = 0) -> list[dict[str, Any]]:
    """Labelled calls since ``since_ms`` with their confidence attribute and answer."""
    return store.select(LABELLED_CONFIDENCE, attribute=attribute, since_ms=since_ms)
