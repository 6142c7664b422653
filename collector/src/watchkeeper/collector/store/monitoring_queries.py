"""The queries of the web UI's overview, alarms and calls pages (``store/monitoring.py``).

Kept beside ``queries.py`` and written the same way: ``{db}`` is the configured database,
everything from a request is a bound ``{name:Type}`` parameter. The overview reads the
per-minute (0010) or hourly (0011) rollups; the alarms and calls pages read the tables
themselves. Times are bound as epoch seconds or nanoseconds, never as date
strings (those would be read in the server's time zone).

An empty string parameter means "any": ``({service:String} = '' OR ServiceName = ...)``.
"""

from __future__ import annotations

from typing import Final

_KEY_FILTER: Final = """
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND ({route:String} = '' OR Route = {route:String})
  AND ({model:String} = '' OR Model = {model:String})"""

_MINUTES: Final = (
    """
WHERE Minute >= toDateTime({from_s:Int64}) AND Minute < toDateTime({to_s:Int64})"""
    + _KEY_FILTER
)

#: Per rollup row (minute, or hour in the hourly tables) and key: calls stored (distinct),
#: as sent (re-weighted by the head sampling), failed, tokens in and out, and the latency
#: digest. Estimates are made per row and summed, so a bucket's figures add up to the
#: range's exactly; a call written twice is then weighed twice only within its minute.
_PER_ROW: Final = (
    """
    SELECT Minute, ServiceName, Route, Model, uniqMerge(Calls) AS N,
           N * avgMerge(Weight) AS Sent, uniqIfMerge(Errors) AS Fails,
           N * avgMerge(InputTokens) AS InTokens, N * avgMerge(OutputTokens) AS OutTokens,
           quantilesTDigestMergeState(0.5, 0.95)(Latency) AS Digest
    FROM {db}.calls_minutely"""
    + _MINUTES
    + """
    GROUP BY Minute, ServiceName, Route, Model"""
)

#: The measures over the rows of ``_PER_ROW`` (latency quantiles in ns).
_MEASURES: Final = """sum(N) AS Stored, sum(Sent) AS Estimated, sum(Fails) AS Failed,
       sum(InTokens) AS TokensIn, sum(OutTokens) AS TokensOut,
       quantilesTDigestMerge(0.5, 0.95)(Digest) AS LatencyNs"""

#: Traffic, errors, tokens and latency quantiles per time bucket and key.
TRAFFIC_SERIES: Final = (
    """
SELECT toUnixTimestamp(toStartOfInterval(Minute, toIntervalSecond({step_s:UInt32}))) AS T,
       ServiceName, Route, Model, """
    + _MEASURES
    + """
FROM ("""
    + _PER_ROW
    + """)
GROUP BY T, ServiceName, Route, Model
ORDER BY T, ServiceName, Route, Model
"""
)

#: The same over the whole range, one row per key, busiest first.
TRAFFIC_BY_KEY: Final = (
    """
SELECT ServiceName, Route, Model, """
    + _MEASURES
    + """
FROM ("""
    + _PER_ROW
    + """)
GROUP BY ServiceName, Route, Model
ORDER BY Estimated DESC, ServiceName, Route, Model
LIMIT {limit:UInt32}
"""
)

#: Every score's mean per time bucket, one row per key and score: the buckets' starts and
#: means as two arrays (a few hundred rows to decode instead of tens of thousands).
SCORE_SERIES: Final = (
    """
SELECT ServiceName, Route, Model, Score, groupArray(T) AS Times, groupArray(Mean) AS Means
FROM (
    SELECT toUnixTimestamp(toStartOfInterval(Minute, toIntervalSecond({step_s:UInt32}))) AS T,
           ServiceName, Route, Model, Score, sum(Sum) / sum(N) AS Mean
    FROM {db}.scores_minutely"""
    + _MINUTES
    + """
    GROUP BY T, ServiceName, Route, Model, Score
    ORDER BY T)
GROUP BY ServiceName, Route, Model, Score
ORDER BY ServiceName, Route, Model, Score
"""
)

#: The services, routes and models seen in a range (the filters' choices).
KEYS_SEEN: Final = """
SELECT DISTINCT ServiceName, Route, Model FROM {db}.calls_minutely
WHERE Minute >= toDateTime({from_s:Int64}) AND Minute < toDateTime({to_s:Int64})
ORDER BY ServiceName, Route, Model
LIMIT 1000
"""

#: Every model and prompt version with when it was first and last seen.
VERSIONS: Final = """
SELECT ServiceName, Route, Model, PromptVersion,
       toUnixTimestamp64Milli(min(FirstSeen)) AS FirstMs,
       toUnixTimestamp64Milli(max(LastSeen)) AS LastMs, sum(Calls) AS Calls
FROM {db}.call_versions
GROUP BY ServiceName, Route, Model, PromptVersion
ORDER BY FirstMs
LIMIT 10000
"""

# --- alarms ------------------------------------------------------------------------------

#: The newest acknowledge/resolve action of each alarm.
_ALARM_STATES: Final = """
SELECT Target, argMax(Action, At) AS Action, argMax(Actor, At) AS Actor,
       toUnixTimestamp64Milli(max(At)) AS AtMs
FROM {db}.ui_actions
WHERE startsWith(Target, 'alarm:')
GROUP BY Target"""

_ALARM_COLUMNS: Final = """
SELECT a.Detector AS Detector, a.DetectorKey AS DetectorKey, a.TraceId AS TraceId,
       a.SpanId AS SpanId, a.Score AS Score, a.Message AS Message,
       a.severity AS Severity, a.effect_shift AS EffectShift, a.effect_sd AS EffectSd,
       a.effect_lo AS EffectLo, a.effect_hi AS EffectHi,
       a.calls_since_change AS CallsSinceChange,
       toUnixTimestamp64Nano(a.Timestamp) AS TimestampNs,
       if(s.Action = '', 'open', s.Action) AS State, s.Actor AS StateBy,
       s.AtMs AS StateAtMs"""

#: Alarms in a range, newest first, with their state (open, acknowledged, resolved).
ALARMS: Final = (
    _ALARM_COLUMNS
    + """
FROM (SELECT *, splitByChar('|', DetectorKey) AS Parts FROM {db}.alarms FINAL
      WHERE Timestamp >= fromUnixTimestamp64Nano({from_ns:Int64})
        AND Timestamp < fromUnixTimestamp64Nano({to_ns:Int64})
        AND ({detector:String} = '' OR Detector = {detector:String})
        AND ({service:String} = '' OR Parts[1] = {service:String})
        AND ({route:String} = '' OR Parts[2] = {route:String})
        AND ({model:String} = '' OR Parts[3] = {model:String})) AS a
LEFT JOIN ("""
    + _ALARM_STATES
    + """) AS s
    ON s.Target = concat('alarm:', a.Detector, ':', a.SpanId)
WHERE {state:String} = '' OR State = {state:String}
ORDER BY a.Timestamp DESC, a.Detector
LIMIT {limit:UInt32}
"""
)

#: One alarm by detector and flagged call.
ALARM: Final = (
    _ALARM_COLUMNS
    + """
FROM (SELECT * FROM {db}.alarms FINAL
      WHERE Detector = {detector:String} AND SpanId = {span_id:String}) AS a
LEFT JOIN ("""
    + _ALARM_STATES
    + """) AS s
    ON s.Target = concat('alarm:', a.Detector, ':', a.SpanId)
ORDER BY a.Timestamp
LIMIT 1
"""
)

#: Alarms raised on one call.
ALARMS_FOR_CALL: Final = """
SELECT Detector, DetectorKey, Score, Message, toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM {db}.alarms FINAL
WHERE SpanId = {span_id:String}
ORDER BY Timestamp, Detector
"""

#: Every UI action on one target, oldest first (the audit trail shown on its page).
ACTIONS: Final = """
SELECT toUnixTimestamp64Milli(At) AS AtMs, Actor, Action, Detail
FROM {db}.ui_actions
WHERE Target = {target:String}
ORDER BY At
"""

#: The calls of a detector key around a time, worst first by one score (``sign`` is 1
#: when higher is worse, -1 when lower is worse).
WORST_AROUND: Final = """
SELECT SpanId, Scores[{score:String}] AS Score, toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM {db}.call_scores
WHERE DetectorKey = {key:String}
  AND Timestamp >= fromUnixTimestamp64Nano({from_ns:Int64})
  AND Timestamp <= fromUnixTimestamp64Nano({to_ns:Int64})
  AND mapContains(Scores, {score:String}) AND SpanId != {span_id:String}
ORDER BY Score * {sign:Int8} DESC, Timestamp
LIMIT 1 BY SpanId
LIMIT {limit:UInt32}
"""

# --- calls -------------------------------------------------------------------------------

_CALL_RANGE: Final = """Timestamp >= fromUnixTimestamp64Nano({from_ns:Int64})
        AND Timestamp < fromUnixTimestamp64Nano({to_ns:Int64})"""

# The calls pages read the tables without FINAL, which would merge every part of the range
# (seconds on a million calls): a search keeps one row per span id (LIMIT 1 BY), the
# filters are sets (IN), where a repeated row changes nothing.

#: Calls in a range matching the key filters, newest first; ``CALL_FILTERS`` narrow it.
CALL_SEARCH: Final = (
    """
SELECT TraceId, SpanId, ServiceName, Route, Model, StatusCode, ErrorType, Duration,
       InputTokens, OutputTokens, HasBody, toUnixTimestamp64Nano(Timestamp) AS TimestampNs
FROM (SELECT *, if(ResponseModel != '', ResponseModel, RequestModel) AS Model
      FROM {db}.calls
      WHERE """
    + _CALL_RANGE
    + ")\nWHERE 1"
    + _KEY_FILTER
    + """
  {filters}
ORDER BY Timestamp DESC, SpanId
LIMIT 1 BY SpanId
LIMIT {limit:UInt32}
"""
)

#: Optional narrowing of ``CALL_SEARCH``, by name; each is fixed text with bound values.
CALL_FILTERS: Final = {
    "errors": "AND StatusCode = 'ERROR'",
    "score": """AND SpanId IN (
      SELECT SpanId FROM {db}.call_scores
      WHERE """
    + _CALL_RANGE
    + """ AND mapContains(Scores, {score:String})
        AND Scores[{score:String}] >= {score_min:Float64}
        AND Scores[{score:String}] <= {score_max:Float64})""",
    "text": """AND SpanId IN (
      SELECT SpanId FROM {db}.call_bodies
      WHERE """
    + _CALL_RANGE
    + """ AND (positionCaseInsensitiveUTF8(InputText, {text:String}) > 0
             OR positionCaseInsensitiveUTF8(OutputText, {text:String}) > 0))""",
    "in_review": """AND SpanId IN (SELECT SpanId FROM {db}.review_items
      WHERE """
    + _CALL_RANGE
    + ")",
    "labelled": "AND SpanId IN (SELECT SpanId FROM {db}.review_labels)",
    "not_reviewed": """AND SpanId NOT IN (SELECT SpanId FROM {db}.review_items
      WHERE """
    + _CALL_RANGE
    + ")",
}

_IDS: Final = """
        AND SpanId IN (SELECT arrayJoin(splitByChar(',', {span_ids:String})))"""

#: Full rows of some calls (ids comma-separated) in a time range: metadata, texts when
#: kept, every score (the call's row with its texts when it was written twice).
CALLS_BY_ID: Final = (
    """
SELECT c.TraceId AS TraceId, c.SpanId AS SpanId, c.ParentSpanId AS ParentSpanId,
       c.ServiceName AS ServiceName, c.Route AS Route, c.Model AS Model,
       c.Provider AS Provider, c.Operation AS Operation, c.InputTokens AS InputTokens,
       c.OutputTokens AS OutputTokens, c.FinishReasons AS FinishReasons,
       c.Duration AS Duration, c.StatusCode AS StatusCode, c.StatusMessage AS StatusMessage,
       c.ErrorType AS ErrorType, c.UserId AS UserId, c.ConversationId AS ConversationId,
       c.SampleRate AS SampleRate, c.HasBody AS HasBody, c.Attributes AS Attributes,
       b.InputText AS InputText, b.OutputText AS OutputText, b.Contexts AS Contexts,
       b.KeepReason AS KeepReason, s.Scores AS Scores, s.ScorerVersions AS ScorerVersions,
       toUnixTimestamp64Nano(c.Timestamp) AS TimestampNs
FROM (SELECT *, if(ResponseModel != '', ResponseModel, RequestModel) AS Model,
             SpanAttributes AS Attributes
      FROM {db}.calls
      WHERE """
    + _CALL_RANGE
    + _IDS
    + """
      ORDER BY HasBody DESC, IngestedAt DESC LIMIT 1 BY SpanId) AS c
LEFT JOIN (SELECT SpanId, InputText, OutputText, Contexts, KeepReason
           FROM {db}.call_bodies
           WHERE """
    + _CALL_RANGE
    + _IDS
    + """ LIMIT 1 BY SpanId) AS b
    ON c.SpanId = b.SpanId
LEFT JOIN (SELECT SpanId, Scores, ScorerVersions FROM {db}.call_scores
           WHERE """
    + _CALL_RANGE
    + _IDS
    + """ LIMIT 1 BY SpanId) AS s
    ON c.SpanId = s.SpanId
ORDER BY c.Timestamp DESC
"""
)

#: The queues a call was routed to, with the labels it got there.
CALL_REVIEW: Final = """
SELECT i.Queue AS Queue, i.Reason AS Reason, i.RequiredLabels AS RequiredLabels,
       l.Labels AS Labels, l.Verdicts AS Verdicts
FROM (SELECT Queue, SpanId, Reason, RequiredLabels FROM {db}.review_items FINAL
      WHERE SpanId = {span_id:String}) AS i
LEFT JOIN (SELECT Queue, count() AS Labels,
                  groupArray(concat(Reviewer, ': ', Verdict)) AS Verdicts
           FROM {db}.review_labels FINAL WHERE SpanId = {span_id:String} GROUP BY Queue) AS l
    ON i.Queue = l.Queue
ORDER BY i.Queue
"""
