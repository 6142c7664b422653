-- Hourly rollups beside the per-minute ones of 0010, for overview ranges of a week or more:
-- a week of minutes is 10,080 rows per key and score, of hours 168. Filled from the
-- minute rollups by materialised views (a view on a view's table sees each block it
-- writes), so the write path aggregates calls once. The time column keeps its name,
-- Minute (here the hour's start), so the overview's queries read either table.

CREATE TABLE IF NOT EXISTS {db}.calls_hourly
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
PARTITION BY toYYYYMM(Minute)
ORDER BY (ServiceName, Route, Model, Minute)
TTL Minute + toIntervalDay({ttl_days});

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.calls_hourly_mv TO {db}.calls_hourly AS
SELECT toStartOfHour(m.Minute) AS Minute, ServiceName, Route, Model,
       uniqMergeState(Calls) AS Calls, uniqIfMergeState(Errors) AS Errors,
       avgMergeState(Weight) AS Weight, avgMergeState(InputTokens) AS InputTokens,
       avgMergeState(OutputTokens) AS OutputTokens,
       quantilesTDigestMergeState(0.5, 0.95)(Latency) AS Latency
FROM {db}.calls_minutely AS m
GROUP BY Minute, ServiceName, Route, Model;

INSERT INTO {db}.calls_hourly (Minute, ServiceName, Route, Model, Calls, Errors, Weight,
    InputTokens, OutputTokens, Latency)
SELECT toStartOfHour(m.Minute) AS Minute, ServiceName, Route, Model,
       uniqMergeState(Calls) AS Calls, uniqIfMergeState(Errors) AS Errors,
       avgMergeState(Weight) AS Weight, avgMergeState(InputTokens) AS InputTokens,
       avgMergeState(OutputTokens) AS OutputTokens,
       quantilesTDigestMergeState(0.5, 0.95)(Latency) AS Latency
FROM {db}.calls_minutely AS m
GROUP BY Minute, ServiceName, Route, Model;

CREATE TABLE IF NOT EXISTS {db}.scores_hourly
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
PARTITION BY toYYYYMM(Minute)
ORDER BY (ServiceName, Route, Model, Score, Minute)
TTL Minute + toIntervalDay({ttl_days});

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.scores_hourly_mv TO {db}.scores_hourly AS
SELECT toStartOfHour(m.Minute) AS Minute, ServiceName, Route, Model, Score,
       sum(N) AS N, sum(Sum) AS Sum, min(Min) AS Min, max(Max) AS Max
FROM {db}.scores_minutely AS m
GROUP BY Minute, ServiceName, Route, Model, Score;

INSERT INTO {db}.scores_hourly (Minute, ServiceName, Route, Model, Score, N, Sum, Min, Max)
SELECT toStartOfHour(m.Minute) AS Minute, ServiceName, Route, Model, Score,
       sum(N) AS N, sum(Sum) AS Sum, min(Min) AS Min, max(Max) AS Max
FROM {db}.scores_minutely AS m
GROUP BY Minute, ServiceName, Route, Model, Score;
