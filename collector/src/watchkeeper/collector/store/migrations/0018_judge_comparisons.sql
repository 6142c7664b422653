-- Pairwise comparisons of LLM judges (docs/judges.md, "Order sensitivity"). {db} and
-- {ttl_days} come from validated configuration.

-- One row per comparison of two answers to one question, asked in both orders: the
-- winner (A, B or tie) with A shown first and with B shown first. A comparison whose two
-- winners differ flipped with the order; the share of those is the judge's order
-- sensitivity, reported per judge and dimension. A comparison is identified by the
-- judge, the dimension and the two answers' content hashes, so asking again replaces it.
CREATE TABLE IF NOT EXISTS {db}.judge_comparisons
(
    ComparedAt     DateTime64(3),
    Judge          LowCardinality(String),
    PromptVersion  LowCardinality(String),
    Dimension      LowCardinality(String),
    HashA          String,
    HashB          String,
    AFirst         LowCardinality(String),
    BFirst         LowCardinality(String)
)
ENGINE = ReplacingMergeTree(ComparedAt)
PARTITION BY toYYYYMM(ComparedAt)
ORDER BY (Judge, Dimension, HashA, HashB)
TTL toDateTime(ComparedAt) + toIntervalDay({ttl_days});
