-- An alarm's size in standard deviations may be unknown: a step between two constant
-- levels has no spread to measure in, and an alarm with no reference to measure against
-- has no size at all. Both are NULL (shown as n/a), not 0, which reads as "no change".
-- Rows stored before held 0 for both: a size of exactly 0 beside a non-zero shift, or
-- with no call measured since the change, cannot be a real size, and becomes NULL.

ALTER TABLE {db}.alarms MODIFY COLUMN effect_sd Nullable(Float64);
ALTER TABLE {db}.alarms UPDATE effect_sd = NULL
    WHERE effect_sd = 0 AND (effect_shift != 0 OR calls_since_change = 0)
    SETTINGS mutations_sync = 1;
ALTER TABLE {db}.incidents MODIFY COLUMN Effects Array(Nullable(Float64));
