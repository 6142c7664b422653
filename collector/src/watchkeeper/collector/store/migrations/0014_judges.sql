-- LLM judges (docs/judges.md). {db} and {ttl_days} come from validated configuration.

-- Every verdict of a judge: one row per (judge, call, dimension), with its reason. It is
-- the cache too: a call whose texts a judge already scored with the same prompt version
-- (same ContentHash) takes the stored verdict instead of a new request.
CREATE TABLE IF NOT EXISTS {db}.judge_verdicts
(
    JudgedAt       DateTime64(3),
    Judge          LowCardinality(String),
    PromptVersion  LowCardinality(String),
    ContentHash    String,
    Dimension      LowCardinality(String),
    TraceId        String,
    SpanId         String,
    Score          Int16,
    Reason         String CODEC(ZSTD(3)),
    InputTokens    UInt32,
    OutputTokens   UInt32,
    -- What the bias probes read: the answer's length and the app's model.
    AnswerChars    UInt32,
    AppModel       LowCardinality(String),
    JudgeModel     LowCardinality(String),
    Cached         UInt8,
    INDEX content_hash ContentHash TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(JudgedAt)
PARTITION BY toYYYYMM(JudgedAt)
ORDER BY (Judge, SpanId, Dimension)
TTL toDateTime(JudgedAt) + toIntervalDay({ttl_days});

-- Judge scores join a call's detector scores in its one call_scores row: a judge writes
-- the row again with its scores added (the newest row of a span wins). Such a rewrite
-- carries JudgeMerged = 1 and, in JudgeKeys, the scores it adds; the minute rollup counts
-- only those, so the scores it repeats (the detectors', another judge's) are not counted
-- twice.
ALTER TABLE {db}.call_scores ADD COLUMN IF NOT EXISTS JudgeMerged UInt8 DEFAULT 0;
ALTER TABLE {db}.call_scores ADD COLUMN IF NOT EXISTS JudgeKeys Array(LowCardinality(String)) DEFAULT [];

DROP VIEW IF EXISTS {db}.scores_minutely_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.scores_minutely_mv TO {db}.scores_minutely AS
SELECT toStartOfMinute(Timestamp) AS Minute, ServiceName, Route, Model, k AS Score,
       count() AS N, sum(v) AS Sum, min(v) AS Min, max(v) AS Max
FROM {db}.call_scores
ARRAY JOIN mapKeys(Scores) AS k, mapValues(Scores) AS v
WHERE JudgeMerged = 0 OR has(JudgeKeys, k)
GROUP BY Minute, ServiceName, Route, Model, Score;
