-- Alert history: every state change of an alert that Alertmanager (webhook receiver,
-- payload version 4) or Grafana (webhook contact point) posted to the collector's
-- /api/alerts/webhook, so dashboards can show when quality alerts fired and resolved.
-- One row per (Fingerprint, StartsAt, Status): Alertmanager repeats a firing
-- notification every repeat_interval and may deliver one twice; those repeats collapse
-- (reads use FINAL), the latest delivery's labels and annotations win.
CREATE TABLE IF NOT EXISTS {db}.alert_history
(
    StartsAt      DateTime64(3),
    -- Alertmanager's hash of the alert's label set: one alert across its notifications.
    Fingerprint   String,
    -- firing or resolved.
    Status        LowCardinality(String),
    -- When it resolved; NULL while firing (senders put a placeholder there).
    EndsAt        Nullable(DateTime64(3)),
    AlertName     LowCardinality(String),
    Severity      LowCardinality(String),
    Labels        Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Annotations   Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    GeneratorURL  String CODEC(ZSTD(1)),
    Receiver      LowCardinality(String),
    GroupKey      String CODEC(ZSTD(1)),
    ExternalURL   LowCardinality(String),
    -- alertmanager or grafana.
    Sender        LowCardinality(String),
    ReceivedAt    DateTime64(3)
)
ENGINE = ReplacingMergeTree(ReceivedAt)
PARTITION BY toDate(StartsAt)
ORDER BY (Fingerprint, StartsAt, Status)
TTL toDateTime(StartsAt) + toIntervalDay({ttl_days});
