-- watchkeeper schema, version 1. One SQL source for chDB and a ClickHouse server.
-- {db} and {ttl_days} are filled from validated configuration (an identifier and an
-- integer), never from request data. Column names follow the OpenTelemetry ClickHouse
-- exporter's otel_traces table where a column means the same thing.
--
-- Every table that receives pipeline output is a ReplacingMergeTree whose sorting key
-- ends in the span id, and whose partition key depends only on the span itself: a batch
-- replayed after a crash collapses onto the rows it already wrote, and queries read with
-- FINAL so duplicates are never visible, merged or not.

CREATE TABLE IF NOT EXISTS {db}.calls
(
    Timestamp       DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId         String CODEC(ZSTD(1)),
    SpanId          String CODEC(ZSTD(1)),
    ParentSpanId    String CODEC(ZSTD(1)),
    ServiceName     LowCardinality(String) CODEC(ZSTD(1)),
    SpanName        LowCardinality(String) CODEC(ZSTD(1)),
    Route           LowCardinality(String) CODEC(ZSTD(1)),
    Operation       LowCardinality(String) CODEC(ZSTD(1)),
    Provider        LowCardinality(String) CODEC(ZSTD(1)),
    RequestModel    LowCardinality(String) CODEC(ZSTD(1)),
    ResponseModel   LowCardinality(String) CODEC(ZSTD(1)),
    InputTokens     UInt32 CODEC(ZSTD(1)),
    OutputTokens    UInt32 CODEC(ZSTD(1)),
    InputChars      UInt32 CODEC(ZSTD(1)),
    OutputChars     UInt32 CODEC(ZSTD(1)),
    ContextCount    UInt16 CODEC(ZSTD(1)),
    FinishReasons   Array(LowCardinality(String)) CODEC(ZSTD(1)),
    Duration        UInt64 CODEC(ZSTD(1)),
    StatusCode      LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage   String CODEC(ZSTD(1)),
    ErrorType       LowCardinality(String) CODEC(ZSTD(1)),
    UserId          String CODEC(ZSTD(1)),
    ConversationId  String CODEC(ZSTD(1)),
    -- Head-sampling probability applied in the SDK: weight a row by 1/SampleRate.
    SampleRate      Float64 CODEC(ZSTD(1)),
    -- 1 when the call's texts are in call_bodies.
    HasBody         UInt8,
    Source          LowCardinality(String) CODEC(ZSTD(1)),
    SpanAttributes  Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    IngestedAt      DateTime64(3) DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, Route, TraceId, SpanId)
TTL toDateTime(Timestamp) + toIntervalDay({ttl_days});

-- Texts of the calls whose bodies were kept: a sample, plus every error and every call a
-- detector flagged. Metadata for every call stays in calls.
CREATE TABLE IF NOT EXISTS {db}.call_bodies
(
    Timestamp       DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId         String CODEC(ZSTD(1)),
    SpanId          String CODEC(ZSTD(1)),
    ServiceName     LowCardinality(String) CODEC(ZSTD(1)),
    Route           LowCardinality(String) CODEC(ZSTD(1)),
    InputText       String CODEC(ZSTD(3)),
    OutputText      String CODEC(ZSTD(3)),
    InputMessages   String CODEC(ZSTD(3)),
    OutputMessages  String CODEC(ZSTD(3)),
    Contexts        Array(String) CODEC(ZSTD(3)),
    -- Probability this body was kept (SDK head rate x body rate), or the head rate alone
    -- when KeepReason is error or flagged (kept regardless of sampling).
    SampleRate      Float64,
    KeepReason      LowCardinality(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, Route, TraceId, SpanId)
TTL toDateTime(Timestamp) + toIntervalDay({ttl_days});

-- Every detector score of a call in one row: Scores['<detector>.<score>'], e.g.
-- Scores['faithfulness_drift.faithfulness']. One wide row instead of one row per score
-- keeps the write cost flat as detectors are added.
CREATE TABLE IF NOT EXISTS {db}.call_scores
(
    Timestamp    DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId      String CODEC(ZSTD(1)),
    SpanId       String CODEC(ZSTD(1)),
    ServiceName  LowCardinality(String),
    Route        LowCardinality(String),
    Model        LowCardinality(String),
    DetectorKey  String CODEC(ZSTD(1)),
    Scores       Map(LowCardinality(String), Float64) CODEC(ZSTD(1))
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, Route, SpanId)
TTL toDateTime(Timestamp) + toIntervalDay({ttl_days});

CREATE TABLE IF NOT EXISTS {db}.alarms
(
    Timestamp    DateTime64(9),
    Detector     LowCardinality(String),
    DetectorKey  String,
    TraceId      String,
    SpanId       String,
    Score        Float64,
    Message      String
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (Detector, DetectorKey, SpanId)
TTL toDateTime(Timestamp) + toIntervalDay({ttl_days});

CREATE TABLE IF NOT EXISTS {db}.review_items
(
    Timestamp    DateTime64(9),
    Queue        LowCardinality(String),
    TraceId      String,
    SpanId       String,
    Reason       LowCardinality(String),
    Priority     Int32,
    Model        LowCardinality(String),
    InputText    String CODEC(ZSTD(1)),
    OutputText   String CODEC(ZSTD(1))
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (Queue, SpanId)
TTL toDateTime(Timestamp) + toIntervalDay({ttl_days});

CREATE TABLE IF NOT EXISTS {db}.review_labels
(
    LabelledAt       DateTime64(3),
    Queue            LowCardinality(String),
    TraceId          String,
    SpanId           String,
    Reviewer         String,
    Verdict          LowCardinality(String),
    Scores           Map(LowCardinality(String), Int8),
    Comment          String,
    CorrectedAnswer  String
)
ENGINE = ReplacingMergeTree(LabelledAt)
PARTITION BY toYYYYMM(LabelledAt)
ORDER BY (Queue, SpanId, Reviewer);

CREATE TABLE IF NOT EXISTS {db}.dead_letters
(
    ReceivedAt  DateTime64(3) DEFAULT now64(3),
    Source      LowCardinality(String),
    -- Where it came from when known, e.g. Kafka topic/partition/offset.
    Origin      String,
    Reason      LowCardinality(String),
    Detail      String,
    Size        UInt64,
    Payload     String CODEC(ZSTD(3))
)
ENGINE = MergeTree
PARTITION BY toDate(ReceivedAt)
ORDER BY (Reason, ReceivedAt)
TTL toDateTime(ReceivedAt) + toIntervalDay({ttl_days});

-- Learned detector state per key, so a restart or a rebalance resumes instead of
-- relearning. Latest row per (Detector, DetectorKey) wins.
CREATE TABLE IF NOT EXISTS {db}.detector_state
(
    SavedAt      DateTime64(3),
    Detector     LowCardinality(String),
    DetectorKey  String,
    State        String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(SavedAt)
ORDER BY (Detector, DetectorKey);
