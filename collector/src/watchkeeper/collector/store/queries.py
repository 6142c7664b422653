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

# --- review workflow -------------------------------------------------------------------
# Timestamps from the application are bound as milli/nanoseconds since the epoch
# ({now_ms:Int64}), never as date strings: those would be read in the server's time zone.
# Lists of queue names or ids are bound as one comma-separated String and split in SQL
# (queue names and hex ids contain no commas), which binds the same on chDB and servers.

#: Items still needing labels, per queue (queues with none are left out).
QUEUE_DEPTHS: Final = """
SELECT i.Queue AS Queue, countIf(l.Labels < i.RequiredLabels) AS Depth
FROM (SELECT Queue, SpanId, RequiredLabels FROM {db}.review_items FINAL) AS i
LEFT JOIN (SELECT Queue, SpanId, count() AS Labels FROM {db}.review_labels FINAL
           GROUP BY Queue, SpanId) AS l
    ON i.Queue = l.Queue AND i.SpanId = l.SpanId
GROUP BY i.Queue
HAVING Depth > 0
ORDER BY i.Queue
"""

QUEUE_SUMMARY: Final = """
SELECT i.Queue AS Queue,
       countIf(l.Labels < i.RequiredLabels) AS Waiting,
       countIf(l.Labels < i.RequiredLabels AND c.Live > 0) AS Claimed,
       countIf(l.Labels >= i.RequiredLabels) AS Done,
       sum(l.Labels) AS Labels
FROM (SELECT Queue, SpanId, RequiredLabels FROM {db}.review_items FINAL) AS i
LEFT JOIN (SELECT Queue, SpanId, count() AS Labels FROM {db}.review_labels FINAL
           GROUP BY Queue, SpanId) AS l
    ON i.Queue = l.Queue AND i.SpanId = l.SpanId
LEFT JOIN (SELECT Queue, SpanId,
                  countIf(State = 'claimed'
                          AND ClaimedUntil > fromUnixTimestamp64Milli({now_ms:Int64})) AS Live
           FROM {db}.review_claims FINAL GROUP BY Queue, SpanId) AS c
    ON i.Queue = c.Queue AND i.SpanId = c.SpanId
GROUP BY i.Queue
ORDER BY i.Queue
"""

PENDING_REVIEW_ITEMS: Final = """
SELECT i.Queue AS Queue, i.TraceId AS TraceId, i.SpanId AS SpanId, i.Reason AS Reason,
       i.Priority AS Priority, i.Model AS Model, i.InputText AS InputText,
       i.OutputText AS OutputText, i.RequiredLabels AS RequiredLabels, l.Labels AS Labels,
       c.ClaimedBy AS ClaimedBy, toUnixTimestamp64Nano(i.Timestamp) AS TimestampNs
FROM (SELECT * FROM {db}.review_items FINAL WHERE Queue = {queue:String}) AS i
LEFT JOIN (SELECT SpanId, count() AS Labels FROM {db}.review_labels FINAL
           WHERE Queue = {queue:String} GROUP BY SpanId) AS l
    ON i.SpanId = l.SpanId
LEFT JOIN (SELECT SpanId,
                  groupArrayIf(Reviewer, State = 'claimed'
                      AND ClaimedUntil > fromUnixTimestamp64Milli({now_ms:Int64})) AS ClaimedBy
           FROM {db}.review_claims FINAL WHERE Queue = {queue:String} GROUP BY SpanId) AS c
    ON i.SpanId = c.SpanId
WHERE l.Labels < i.RequiredLabels
ORDER BY i.Priority DESC, i.Timestamp, i.SpanId
LIMIT {limit:UInt32}
"""

#: Items ``reviewer`` may claim: still short of labels once others' live claims count, not
#: labelled or skipped by this reviewer. Highest priority, then oldest, first.
CLAIM_CANDIDATES: Final = """
SELECT i.SpanId AS SpanId
FROM (SELECT SpanId, Priority, Timestamp, RequiredLabels FROM {db}.review_items FINAL
      WHERE Queue = {queue:String}) AS i
LEFT JOIN (SELECT SpanId, count() AS Labels, countIf(Reviewer = {reviewer:String}) AS Mine
           FROM {db}.review_labels FINAL WHERE Queue = {queue:String} GROUP BY SpanId) AS l
    ON i.SpanId = l.SpanId
LEFT JOIN (SELECT SpanId,
                  countIf(State = 'claimed' AND Reviewer != {reviewer:String}
                          AND ClaimedUntil > fromUnixTimestamp64Milli({now_ms:Int64})) AS Others,
                  countIf(State = 'skipped' AND Reviewer = {reviewer:String}) AS Skipped
           FROM {db}.review_claims FINAL WHERE Queue = {queue:String} GROUP BY SpanId) AS c
    ON i.SpanId = c.SpanId
WHERE l.Labels + c.Others < i.RequiredLabels AND l.Mine = 0 AND c.Skipped = 0
ORDER BY i.Priority DESC, i.Timestamp, i.SpanId
LIMIT {limit:UInt32}
"""

REVIEWER_CLAIMS: Final = """
SELECT SpanId, toUnixTimestamp64Milli(ClaimedSince) AS SinceMs,
       toUnixTimestamp64Milli(ClaimedUntil) AS UntilMs
FROM {db}.review_claims FINAL
WHERE Queue = {queue:String} AND Reviewer = {reviewer:String} AND State = 'claimed'
  AND ClaimedUntil > fromUnixTimestamp64Milli({now_ms:Int64})
ORDER BY ClaimedSince, SpanId
"""

ITEM_CLAIMS: Final = """
SELECT Reviewer, State, toUnixTimestamp64Milli(ClaimedSince) AS SinceMs,
       toUnixTimestamp64Milli(ClaimedUntil) AS UntilMs, toUnixTimestamp64Milli(At) AS AtMs
FROM {db}.review_claims FINAL
WHERE Queue = {queue:String} AND SpanId = {span_id:String}
ORDER BY ClaimedSince, Reviewer
"""

REVIEW_ITEM: Final = """
SELECT Queue, TraceId, SpanId, ServiceName, Route, Reason, Priority, Model, InputText,
       OutputText, Contexts, RequiredLabels, toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM {db}.review_items FINAL
WHERE Queue = {queue:String} AND SpanId = {span_id:String}
"""

ITEM_LABELS: Final = """
SELECT Queue, TraceId, SpanId, Reviewer, Verdict, Scores, Comment, CorrectedAnswer,
       toUnixTimestamp64Milli(LabelledAt) AS LabelledAtMs
FROM {db}.review_labels FINAL
WHERE Queue = {queue:String} AND SpanId = {span_id:String}
ORDER BY LabelledAt, Reviewer
"""

LABELS_FOR_QUEUE: Final = """
SELECT Queue, TraceId, SpanId, Reviewer, Verdict, Scores, Comment, CorrectedAnswer,
       toUnixTimestamp64Milli(LabelledAt) AS LabelledAtMs
FROM {db}.review_labels FINAL
WHERE Queue = {queue:String}
ORDER BY LabelledAt
"""

#: Labels given in a time range, in some queues ('' = every queue).
LABELS_SINCE: Final = """
SELECT Queue, TraceId, SpanId, Reviewer, Verdict, Scores, Comment, CorrectedAnswer,
       toUnixTimestamp64Milli(LabelledAt) AS LabelledAtMs
FROM {db}.review_labels FINAL
WHERE ({queues:String} = '' OR has(splitByChar(',', {queues:String}), Queue))
  AND LabelledAt >= fromUnixTimestamp64Milli({since_ms:Int64})
  AND LabelledAt < fromUnixTimestamp64Milli({until_ms:Int64})
ORDER BY LabelledAt, Queue, SpanId, Reviewer
"""

#: The items behind the labels of LABELS_SINCE (same parameters).
LABELLED_ITEMS: Final = """
SELECT Queue, TraceId, SpanId, ServiceName, Route, Reason, Model, InputText, OutputText,
       Contexts, RequiredLabels, toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM {db}.review_items FINAL
WHERE ({queues:String} = '' OR has(splitByChar(',', {queues:String}), Queue))
  AND (Queue, SpanId) IN (
      SELECT Queue, SpanId FROM {db}.review_labels FINAL
      WHERE LabelledAt >= fromUnixTimestamp64Milli({since_ms:Int64})
        AND LabelledAt < fromUnixTimestamp64Milli({until_ms:Int64}))
ORDER BY Timestamp, SpanId, Queue
"""

#: Items routed for calls since a time, to restore per-hour queue caps after a restart.
ROUTED_SINCE: Final = """
SELECT Queue, SpanId, toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM {db}.review_items FINAL
WHERE Timestamp >= fromUnixTimestamp64Nano({since_ns:Int64})
"""

#: Calls of some traces (with their texts when kept), to route feedback that arrives in a
#: later batch than its call. The time range prunes partitions.
CALLS_FOR_REVIEW: Final = """
SELECT c.TraceId AS TraceId, c.SpanId AS SpanId, c.ServiceName AS ServiceName,
       c.Route AS Route, if(c.ResponseModel != '', c.ResponseModel, c.RequestModel) AS Model,
       b.SpanId AS BodySpanId, b.InputText AS InputText, b.OutputText AS OutputText,
       b.Contexts AS Contexts, toUnixTimestamp64Nano(c.Timestamp) AS TimestampNs
FROM (SELECT * FROM {db}.calls FINAL
      WHERE Timestamp >= fromUnixTimestamp64Nano({from_ns:Int64})
        AND Timestamp <= fromUnixTimestamp64Nano({to_ns:Int64})
        AND has(splitByChar(',', {trace_ids:String}), TraceId)) AS c
LEFT JOIN (SELECT SpanId, InputText, OutputText, Contexts FROM {db}.call_bodies FINAL
           WHERE Timestamp >= fromUnixTimestamp64Nano({from_ns:Int64})
             AND Timestamp <= fromUnixTimestamp64Nano({to_ns:Int64})
             AND has(splitByChar(',', {trace_ids:String}), TraceId)) AS b
    ON c.SpanId = b.SpanId
ORDER BY c.Timestamp, c.SpanId
"""

#: A per-call score beside the labels reviewers gave those calls (calibration).
SCORED_LABELS: Final = """
SELECT l.Queue AS Queue, l.SpanId AS SpanId, l.Reviewer AS Reviewer, l.Verdict AS Verdict,
       l.Scores AS LabelScores, s.Score AS Score
FROM (SELECT Queue, SpanId, Reviewer, Verdict, Scores FROM {db}.review_labels FINAL
      WHERE LabelledAt >= fromUnixTimestamp64Milli({since_ms:Int64})) AS l
INNER JOIN (SELECT SpanId, Scores[{score_key:String}] AS Score FROM {db}.call_scores FINAL
            WHERE mapContains(Scores, {score_key:String})
              AND SpanId IN (SELECT SpanId FROM {db}.review_labels FINAL
                             WHERE LabelledAt >= fromUnixTimestamp64Milli({since_ms:Int64})))
    AS s
    ON l.SpanId = s.SpanId
ORDER BY l.SpanId, l.Reviewer
"""

API_TOKENS: Final = """
SELECT TokenId, Name, Role, TokenHash, Revoked, toUnixTimestamp64Milli(CreatedAt) AS CreatedAtMs
FROM {db}.api_tokens FINAL
ORDER BY TokenId
"""

ALARMS: Final = """
SELECT Detector, DetectorKey, TraceId, SpanId, Score, Message, severity AS Severity,
       effect_shift AS EffectShift, effect_sd AS EffectSd, effect_lo AS EffectLo,
       effect_hi AS EffectHi, calls_since_change AS CallsSinceChange,
       toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM {db}.alarms FINAL
ORDER BY Timestamp
LIMIT {limit:UInt32}
"""

SCORE_SUMMARY: Final = """
SELECT splitByChar('.', k)[1] AS Detector, splitByChar('.', k)[2] AS ScoreName,
       count() AS N, avg(v) AS Mean, max(v) AS Max
FROM (SELECT Scores FROM {db}.call_scores FINAL)
ARRAY JOIN mapKeys(Scores) AS k, mapValues(Scores) AS v
GROUP BY k
ORDER BY k
"""

RECENT_SCORES: Final = """
SELECT splitByChar('.', k)[1] AS Detector, splitByChar('.', k)[2] AS ScoreName,
       avg(v) AS Mean, max(v) AS Max
FROM (SELECT Scores FROM {db}.call_scores
      WHERE Timestamp > now64(9) - toIntervalSecond({seconds:UInt32}))
ARRAY JOIN mapKeys(Scores) AS k, mapValues(Scores) AS v
GROUP BY k
ORDER BY k
"""

SCORES_FOR_TRACE: Final = """
SELECT SpanId, DetectorKey, Scores
FROM {db}.call_scores FINAL
WHERE TraceId = {trace_id:String}
"""

DEAD_LETTER_COUNTS: Final = """
SELECT Reason, count() AS N FROM {db}.dead_letters GROUP BY Reason ORDER BY Reason
"""

FEEDBACK_BY_TRACE: Final = """
SELECT TraceId, TargetSpanId, FeedbackSpanId, Name, Score, Label, Comment, UserId,
       toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM {db}.feedback FINAL
WHERE TraceId = {trace_id:String}
ORDER BY Timestamp
"""

# --- alert history (alerting/webhook.py writes it; dashboards read ALERT_INTERVALS) ------

ALERT_HISTORY: Final = """
SELECT Fingerprint, Status, AlertName, Severity, Labels, Annotations, GeneratorURL,
       Receiver, Sender, toUnixTimestamp64Milli(StartsAt) AS StartsAtMs,
       if(isNull(EndsAt), NULL, toUnixTimestamp64Milli(assumeNotNull(EndsAt))) AS EndsAtMs,
       toUnixTimestamp64Milli(ReceivedAt) AS ReceivedAtMs
FROM {db}.alert_history FINAL
ORDER BY StartsAt DESC, Fingerprint, Status
LIMIT {limit:UInt32}
"""

# One row per alert episode (fingerprint + start) overlapping [from_ms, to_ms], shaped for
# Grafana annotations: time, timeEnd (now while still firing), text, tags. The Grafana
# dashboards run this same text with the parameters replaced by time-range macros
# (watchkeeper.collector.alerting.sql.grafana_sql).
ALERT_INTERVALS: Final = """
SELECT toUnixTimestamp64Milli(StartsAt) AS time,
       toUnixTimestamp64Milli(ifNull(maxIf(EndsAt, Status = 'resolved'), now64(3))) AS timeEnd,
       argMax(AlertName, ReceivedAt) AS Alert,
       argMax(Severity, ReceivedAt) AS Level,
       if(countIf(Status = 'resolved') > 0, 'resolved', 'firing') AS State,
       concat(Alert, if(Summary = '', '', concat(': ', Summary))) AS text,
       [Alert, Level, State] AS tags,
       argMax(Annotations['summary'], ReceivedAt) AS Summary,
       argMax(Labels, ReceivedAt) AS AlertLabels,
       argMax(Annotations['dashboard_path'], ReceivedAt) AS DashboardPath,
       Fingerprint
FROM {db}.alert_history FINAL
WHERE StartsAt <= fromUnixTimestamp64Milli({to_ms:Int64})
GROUP BY Fingerprint, StartsAt
HAVING timeEnd >= {from_ms:Int64}
ORDER BY time, Fingerprint
LIMIT {limit:UInt32}
"""

DETECTOR_STATES: Final = """
SELECT Detector, DetectorKey, State FROM {db}.detector_state FINAL
"""
