-- Whole traces (docs/traces.md): every kept span of any kind, in the shape of the
-- OpenTelemetry ClickHouse exporter's otel_traces table plus typed columns for what the
-- trace and session views read. LLM calls keep their typed row in calls as well; their
-- span row here carries texts only when the call's body was kept (the body-sampling rules).
-- {db} and {ttl_days} come from validated configuration.
--
-- Ordered by trace id: a trace's spans are one range of the sorting key, read without
-- FINAL's merge of the whole table. Sessions are found through a bloom-filter index.
CREATE TABLE IF NOT EXISTS {db}.spans
(
    Timestamp       DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId         String CODEC(ZSTD(1)),
    SpanId          String CODEC(ZSTD(1)),
    ParentSpanId    String CODEC(ZSTD(1)),
    SpanName        LowCardinality(String) CODEC(ZSTD(1)),
    -- llm, tool, agent, retrieval, rerank, embedding, chain or other (traces/kinds.py)
    Kind            LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName     LowCardinality(String) CODEC(ZSTD(1)),
    Duration        UInt64 CODEC(ZSTD(1)),
    StatusCode      LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage   String CODEC(ZSTD(1)),
    SessionId       String CODEC(ZSTD(1)),
    UserId          String CODEC(ZSTD(1)),
    -- A prompt, a tool's arguments, a query; an answer, a tool's result (bounded).
    InputText       String CODEC(ZSTD(3)),
    OutputText      String CODEC(ZSTD(3)),
    -- Retrieved or reranked documents in the span's order, with their scores (NULL: none).
    Documents       Array(String) CODEC(ZSTD(3)),
    DocumentScores  Array(Nullable(Float64)) CODEC(ZSTD(1)),
    SpanAttributes  Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    IngestedAt      DateTime64(3) DEFAULT now64(3),
    INDEX session_id SessionId TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (TraceId, SpanId)
TTL toDateTime(Timestamp) + toIntervalDay({ttl_days});
