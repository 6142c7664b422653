-- Experiment and red-team runs (docs/experiments.md): one row per case of a run, beside
-- the JSON Lines results file. {db} comes from validated configuration. No TTL: runs are
-- few and small, and a release's results are worth keeping past the calls' retention.
CREATE TABLE IF NOT EXISTS {db}.experiment_results
(
    FinishedAt  DateTime64(3),
    RunId       String,
    Kind        LowCardinality(String),
    Evalset     String,
    Target      String,
    CaseId      String,
    Ok          UInt8,
    Output      String CODEC(ZSTD(3)),
    Error       String,
    LatencySeconds Float64,
    Metrics     Map(LowCardinality(String), Float64),
    Tags        Map(LowCardinality(String), String)
)
ENGINE = ReplacingMergeTree(FinishedAt)
PARTITION BY toYYYYMM(FinishedAt)
ORDER BY (Target, RunId, CaseId);
