"""Every query the collector runs, in one place, for chDB and ClickHouse servers alike.

``{db}`` is the configured database (a validated identifier); everything that comes from
a request is a ``{name:Type}`` parameter bound by ClickHouse.
"""

from __future__ import annotations

from typing import Final

COUNT_CALLS: Final = "SELECT count() AS n FROM {db}.calls FINAL"

CALLS_BY_TRACE: Final = """
SELECT c.TraceId AS TraceId, c.SpanId AS SpanId, c.ParentSpanId AS ParentSpanId,
       c.ServiceName AS ServiceName, c.SpanName AS SpanName, c.Route AS Route,
       c.Operation AS Operation, c.Provider AS Provider, c.RequestModel AS RequestModel,
       c.ResponseModel AS ResponseModel, c.InputTokens AS InputTokens,
       c.OutputTokens AS OutputTokens, c.FinishReasons AS FinishReasons,
       c.Duration AS Duration, c.StatusCode AS StatusCode, c.ErrorType AS ErrorType,
       c.UserId AS UserId, c.ConversationId AS ConversationId, c.SampleRate AS SampleRate,
       c.HasBody AS HasBody, c.Source AS Source,
       b.InputText AS InputText, b.OutputText AS OutputText, b.Contexts AS Contexts,
       b.KeepReason AS KeepReason, toUnixTimestamp64Nano(c.Timestamp) AS TimestampNs
FROM (SELECT * FROM {db}.calls FINAL WHERE TraceId = {trace_id:String}) AS c
LEFT JOIN (SELECT * FROM {db}.call_bodies FINAL WHERE TraceId = {trace_id:String}) AS b
    ON c.SpanId = b.SpanId
ORDER BY c.Timestamp
"""

RECENT_CALLS: Final = """
SELECT c.TraceId AS TraceId, c.SpanId AS SpanId, c.ServiceName AS ServiceName,
       c.Route AS Route, c.RequestModel AS RequestModel, b.InputText AS InputText,
       b.OutputText AS OutputText, c.Duration AS Duration, c.StatusCode AS StatusCode,
       toUnixTimestamp64Nano(c.Timestamp) AS TimestampNs
FROM (SELECT * FROM {db}.calls FINAL ORDER BY Timestamp DESC LIMIT {limit:UInt32}) AS c
LEFT JOIN (SELECT SpanId, InputText, OutputText FROM {db}.call_bodies FINAL) AS b
    ON c.SpanId = b.SpanId
ORDER BY c.Timestamp DESC
"""

COUNT_BODIES: Final = "SELECT count() AS n FROM {db}.call_bodies FINAL"

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
