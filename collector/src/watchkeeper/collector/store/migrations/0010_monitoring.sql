-- The web UI's overview, alarms and calls pages (issue 24). {db} and {ttl_days} come from
-- validated configuration, as in 0001.
--
-- Per-minute rollups of calls and scores, filled by materialised views as rows are
-- inserted: the overview reads a few thousand rollup rows instead of aggregating up to
-- millions of calls (1 million calls: about 0.7 s for calls FINAL and 1.9 s for the
-- scores' map, against tens of milliseconds here; docs/benchmarks.md, "Web UI queries").
-- A materialised view sees inserts, not the deduplicated table, and the pipeline does
-- write some calls twice (a replay after a crash; a call written again once flagged). So
-- calls are counted as distinct span ids (uniq: exact up to 65,536 per state, within
-- about 2% beyond), and per-call quantities as averages, which a repeated row barely
-- moves; traffic = distinct calls x mean weight (1/SampleRate, the SDK's head sampling).

CREATE TABLE IF NOT EXISTS {db}.calls_minutely
(
    Minute        DateTime,
    ServiceName   LowCardinality(String),
    Route         LowCardinality(String),
    Model         LowCardinality(String),
    Calls         AggregateFunction(uniq, String),
    Errors        AggregateFunction(uniqIf, String, UInt8),
    Weight        AggregateFunction(avg, Float64),
    InputTokens   AggregateFunction(avg, Float64),
    OutputTokens  AggregateFunction(avg, Float64),
    Latency       AggregateFunction(quantilesTDigest(0.5, 0.95), UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toDate(Minute)
ORDER BY (ServiceName, Route, Model, Minute)
TTL Minute + toIntervalDay({ttl_days});

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.calls_minutely_mv TO {db}.calls_minutely AS
SELECT toStartOfMinute(Timestamp) AS Minute, ServiceName, Route,
       if(ResponseModel != '', ResponseModel, RequestModel) AS Model,
       uniqState(SpanId) AS Calls,
       uniqIfState(SpanId, toUInt8(StatusCode = 'ERROR')) AS Errors,
       avgState(toFloat64(1 / if(SampleRate > 0, SampleRate, 1))) AS Weight,
       avgState(toFloat64(InputTokens / if(SampleRate > 0, SampleRate, 1))) AS InputTokens,
       avgState(toFloat64(OutputTokens / if(SampleRate > 0, SampleRate, 1))) AS OutputTokens,
       quantilesTDigestState(0.5, 0.95)(Duration) AS Latency
FROM {db}.calls
GROUP BY Minute, ServiceName, Route, Model;

INSERT INTO {db}.calls_minutely
SELECT toStartOfMinute(Timestamp) AS Minute, ServiceName, Route,
       if(ResponseModel != '', ResponseModel, RequestModel) AS Model,
       uniqState(SpanId) AS Calls,
       uniqIfState(SpanId, toUInt8(StatusCode = 'ERROR')) AS Errors,
       avgState(toFloat64(1 / if(SampleRate > 0, SampleRate, 1))) AS Weight,
       avgState(toFloat64(InputTokens / if(SampleRate > 0, SampleRate, 1))) AS InputTokens,
       avgState(toFloat64(OutputTokens / if(SampleRate > 0, SampleRate, 1))) AS OutputTokens,
       quantilesTDigestState(0.5, 0.95)(Duration) AS Latency
FROM {db}.calls FINAL
GROUP BY Minute, ServiceName, Route, Model;

-- Every score by minute and key: count, sum (for the mean), lowest and highest. A call
-- written twice counts twice here: its score weighs double in that minute's mean.
CREATE TABLE IF NOT EXISTS {db}.scores_minutely
(
    Minute       DateTime,
    ServiceName  LowCardinality(String),
    Route        LowCardinality(String),
    Model        LowCardinality(String),
    Score        LowCardinality(String),
    N            SimpleAggregateFunction(sum, UInt64),
    Sum          SimpleAggregateFunction(sum, Float64),
    Min          SimpleAggregateFunction(min, Float64),
    Max          SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toDate(Minute)
ORDER BY (ServiceName, Route, Model, Score, Minute)
TTL Minute + toIntervalDay({ttl_days});

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.scores_minutely_mv TO {db}.scores_minutely AS
SELECT toStartOfMinute(Timestamp) AS Minute, ServiceName, Route, Model, k AS Score,
       count() AS N, sum(v) AS Sum, min(v) AS Min, max(v) AS Max
FROM {db}.call_scores
ARRAY JOIN mapKeys(Scores) AS k, mapValues(Scores) AS v
GROUP BY Minute, ServiceName, Route, Model, Score;

INSERT INTO {db}.scores_minutely
SELECT toStartOfMinute(Timestamp) AS Minute, ServiceName, Route, Model, k AS Score,
       count() AS N, sum(v) AS Sum, min(v) AS Min, max(v) AS Max
FROM (SELECT * FROM {db}.call_scores FINAL)
ARRAY JOIN mapKeys(Scores) AS k, mapValues(Scores) AS v
GROUP BY Minute, ServiceName, Route, Model, Score;

-- When each prompt version was first and last seen per service, route and model: the
-- overview marks deploys (a new model or prompt version) on its charts.
CREATE TABLE IF NOT EXISTS {db}.call_versions
(
    ServiceName    LowCardinality(String),
    Route          LowCardinality(String),
    Model          LowCardinality(String),
    PromptVersion  LowCardinality(String),
    FirstSeen      SimpleAggregateFunction(min, DateTime64(3)),
    LastSeen       SimpleAggregateFunction(max, DateTime64(3)),
    Calls          SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (ServiceName, Route, Model, PromptVersion);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.call_versions_mv TO {db}.call_versions AS
SELECT ServiceName, Route, if(ResponseModel != '', ResponseModel, RequestModel) AS Model,
       SpanAttributes['watchkeeper.prompt.version'] AS PromptVersion,
       min(toDateTime64(Timestamp, 3)) AS FirstSeen, max(toDateTime64(Timestamp, 3)) AS LastSeen,
       count() AS Calls
FROM {db}.calls
GROUP BY ServiceName, Route, Model, PromptVersion;

INSERT INTO {db}.call_versions
SELECT ServiceName, Route, if(ResponseModel != '', ResponseModel, RequestModel) AS Model,
       SpanAttributes['watchkeeper.prompt.version'] AS PromptVersion,
       min(toDateTime64(Timestamp, 3)) AS FirstSeen, max(toDateTime64(Timestamp, 3)) AS LastSeen,
       count() AS Calls
FROM {db}.calls FINAL
GROUP BY ServiceName, Route, Model, PromptVersion;

-- What people did in the UI, every action kept (an audit log): acknowledging and
-- resolving alarms (Target 'alarm:<detector>:<span id>'), sending calls to a review queue
-- by hand (Target 'call:<span id>'). An alarm's state is its newest action. No TTL.
CREATE TABLE IF NOT EXISTS {db}.ui_actions
(
    At      DateTime64(3),
    Actor   String,
    Action  LowCardinality(String),
    Target  String,
    Detail  String
)
ENGINE = MergeTree
ORDER BY (Target, At);
