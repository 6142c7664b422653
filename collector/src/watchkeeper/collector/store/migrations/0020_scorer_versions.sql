-- The version of the model or scorer behind each detector's scores, per call:
-- ScorerVersions['prompt_injection'] names the classifier's weights,
-- ScorerVersions['faithfulness_drift'] the claims scorer (e.g. 'claims-2'). Only detectors
-- that scored the call and have a version are in it, so a change of model shows in the
-- data beside the scores it changed. Rows stored before hold an empty map.
ALTER TABLE {db}.call_scores ADD COLUMN IF NOT EXISTS ScorerVersions Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1));
