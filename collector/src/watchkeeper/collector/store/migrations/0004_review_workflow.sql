-- Review workflow (issue 6): item provenance for evalsets, claims with leases, API tokens.
-- {db} and {ttl_days} come from validated configuration, as in 0001.

-- What an evalset needs about a reviewed call, copied when the call is routed so an item
-- stays complete after the call's own rows expire.
ALTER TABLE {db}.review_items ADD COLUMN IF NOT EXISTS ServiceName LowCardinality(String) DEFAULT '';
ALTER TABLE {db}.review_items ADD COLUMN IF NOT EXISTS Route LowCardinality(String) DEFAULT '';
ALTER TABLE {db}.review_items ADD COLUMN IF NOT EXISTS Contexts Array(String) CODEC(ZSTD(3));
-- Labels wanted for the item (its queue's `reviewers` when it was routed): the item stays
-- in the backlog until that many reviewers labelled it.
ALTER TABLE {db}.review_items ADD COLUMN IF NOT EXISTS RequiredLabels UInt8 DEFAULT 1;

-- Who works on which item. One row per (queue, item, reviewer); the newest action wins:
-- State is claimed (until ClaimedUntil), released, skipped (not offered to that reviewer
-- again) or labelled. ClaimedSince stays fixed while a lease is renewed: it orders
-- competing claims, so replicas agree on who got an item (see review/workflow.py).
CREATE TABLE IF NOT EXISTS {db}.review_claims
(
    At            DateTime64(3),
    Queue         LowCardinality(String),
    SpanId        String,
    Reviewer      String,
    State         LowCardinality(String),
    ClaimedSince  DateTime64(3),
    ClaimedUntil  DateTime64(3)
)
ENGINE = ReplacingMergeTree(At)
ORDER BY (Queue, SpanId, Reviewer)
TTL toDateTime(At) + toIntervalDay({ttl_days});

-- API tokens for the review API and UI. Only a SHA-256 of each token is kept; revoking
-- writes a newer row with Revoked = 1. No TTL: tokens live until revoked.
CREATE TABLE IF NOT EXISTS {db}.api_tokens
(
    UpdatedAt  DateTime64(3),
    TokenId    String,
    Name       String,
    Role       LowCardinality(String),
    TokenHash  String,
    CreatedAt  DateTime64(3),
    Revoked    UInt8
)
ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY TokenId;
