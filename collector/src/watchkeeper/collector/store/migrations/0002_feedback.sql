-- End-user feedback on calls (thumbs up/down, ratings), from the SDK's feedback() spans
-- or any span carrying a gen_ai.evaluation.result event. One row per feedback span.
CREATE TABLE IF NOT EXISTS {db}.feedback
(
    Timestamp       DateTime64(9),
    TraceId         String,
    -- The call the feedback is about when known (the feedback span's parent).
    TargetSpanId    String,
    FeedbackSpanId  String,
    ServiceName     LowCardinality(String),
    Name            LowCardinality(String),
    Score           Nullable(Float64),
    Label           LowCardinality(String),
    Comment         String CODEC(ZSTD(3)),
    UserId          String
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (TraceId, FeedbackSpanId)
TTL toDateTime(Timestamp) + toIntervalDay({ttl_days});
