-- How large each alarm's change is, and whether it pages. The detector measures the mean
-- of its signal over the calls since the estimated change point against the calls before
-- it (its reference): effect_shift in the signal's own units (seconds, tokens, a score,
-- a rate), effect_lo..effect_hi its 95% interval, effect_sd the shift in reference
-- standard deviations, calls_since_change how many calls it is measured on. severity is
-- 'page' (large and significant) or 'ticket'. Alarms stored before these columns existed
-- paged under the rules of their time, and read as 'page' with no size.

ALTER TABLE {db}.alarms ADD COLUMN IF NOT EXISTS effect_shift Float64 DEFAULT 0;
ALTER TABLE {db}.alarms ADD COLUMN IF NOT EXISTS effect_sd Float64 DEFAULT 0;
ALTER TABLE {db}.alarms ADD COLUMN IF NOT EXISTS effect_lo Float64 DEFAULT 0;
ALTER TABLE {db}.alarms ADD COLUMN IF NOT EXISTS effect_hi Float64 DEFAULT 0;
ALTER TABLE {db}.alarms ADD COLUMN IF NOT EXISTS calls_since_change UInt32 DEFAULT 0;
ALTER TABLE {db}.alarms ADD COLUMN IF NOT EXISTS severity LowCardinality(String) DEFAULT 'page';
