"""Every query the collector runs, in one place, for chDB and ClickHouse servers alike.

``{db}`` is the configured database (a validated identifier); everything that comes from
a request is a ``{name:Type}`` parameter bound by ClickHouse.
"""

from __future__ import annotations

from typing import Final

COUNT_CALLS: Final = "SELECT count() AS n FROM {db}.calls FINAL"

CALLS_BY_TRACE: Final = """
SELECT TraceId, SpanId, ParentSpanId, ServiceName, SpanName, Route, Operation, Provider,
       RequestModel, ResponseModel, InputText, OutputText, InputTokens, OutputTokens,
       FinishReasons, Duration, StatusCode, ErrorType, UserId, ConversationId, SampleRate,
       Source, toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM {db}.calls FINAL
WHERE TraceId = {trace_id:String}
ORDER BY Timestamp
"""

RECENT_CALLS: Final = """
SELECT TraceId, SpanId, ServiceName, Route, RequestModel, InputText, OutputText,
       Duration, StatusCode, toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM {db}.calls FINAL
ORDER BY Timestamp DESC
LIMIT {limit:UInt32}
"""

QUEUE_DEPTHS: Final = """
SELECT i.Queue AS Queue, count() AS Depth
FROM (SELECT Queue, SpanId FROM {db}.review_items FINAL) AS i
LEFT ANTI JOIN (SELECT DISTINCT Queue, SpanId FROM {db}.review_labels FINAL) AS l
    ON i.Queue = l.Queue AND i.SpanId = l.SpanId
GROUP BY i.Queue
ORDER BY i.Queue
"""

PENDING_REVIEW_ITEMS: Final = """
SELECT i.Queue AS Queue, i.TraceId AS TraceId, i.SpanId AS SpanId, i.Reason AS Reason,
       i.Priority AS Priority, i.Model AS Model, i.InputText AS InputText,
       i.OutputText AS OutputText, toUnixTimestamp64Nano(i.Timestamp) AS TimestampNs
FROM (SELECT * FROM {db}.review_items FINAL WHERE Queue = {queue:String}) AS i
LEFT ANTI JOIN (SELECT DISTINCT SpanId FROM {db}.review_labels FINAL
                WHERE Queue = {queue:String}) AS l
    ON i.SpanId = l.SpanId
ORDER BY i.Priority DESC, i.Timestamp
LIMIT {limit:UInt32}
"""

REVIEW_ITEM: Final = """
SELECT Queue, TraceId, SpanId, Reason, Priority, Model, InputText, OutputText,
       toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM {db}.review_items FINAL
WHERE Queue = {queue:String} AND SpanId = {span_id:String}
"""

LABELS_FOR_QUEUE: Final = """
SELECT Queue, TraceId, SpanId, Reviewer, Verdict, Scores, Comment, CorrectedAnswer,
       toUnixTimestamp64Milli(LabelledAt) AS LabelledAtMs
FROM {db}.review_labels FINAL
WHERE Queue = {queue:String}
ORDER BY LabelledAt
"""

ALARMS: Final = """
SELECT Detector, DetectorKey, TraceId, SpanId, Score, Message,
       toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM {db}.alarms FINAL
ORDER BY Timestamp
LIMIT {limit:UInt32}
"""

SCORE_SUMMARY: Final = """
SELECT Detector, ScoreName, count() AS N, avg(Score) AS Mean, max(Score) AS Max
FROM {db}.detector_scores FINAL
GROUP BY Detector, ScoreName
ORDER BY Detector
"""

DEAD_LETTER_COUNTS: Final = """
SELECT Reason, count() AS N FROM {db}.dead_letters GROUP BY Reason ORDER BY Reason
"""
