-- Incidents: the alarms of several detectors on one service and route within a window,
-- kept as one (collector/incidents/). A row per incident and version: ReplacingMergeTree
-- keeps the newest, so an incident grows and changes state by writing it again. Its
-- alarms are held in it as parallel arrays (detector, key, span id, effect in standard
-- deviations, severity, message), at most a few hundred, biggest effect first.
CREATE TABLE IF NOT EXISTS {db}.incidents
(
    IncidentId    String,
    ServiceName   String,
    Route         String,
    OpenedAt      DateTime64(3),
    LastAlarmAt   DateTime64(3),
    State         LowCardinality(String),
    StateBy       String,
    StateAt       DateTime64(3),
    Detectors     Array(String),
    DetectorKeys  Array(String),
    SpanIds       Array(String),
    Effects       Array(Float64),
    Severities    Array(String),
    Messages      Array(String),
    Version       UInt64
)
ENGINE = ReplacingMergeTree(Version)
PARTITION BY toYYYYMM(OpenedAt)
ORDER BY IncidentId
TTL toDateTime(OpenedAt) + toIntervalDay({ttl_days});

-- Who acknowledged an incident or accepted its new regime as the baseline, and when.
CREATE TABLE IF NOT EXISTS {db}.incident_actions
(
    At          DateTime64(3),
    IncidentId  String,
    Actor       String,
    Action      LowCardinality(String),
    Detail      String
)
ENGINE = MergeTree
ORDER BY (IncidentId, At);
