-- Fewer rewrites of each stored row by the engine's background merges. {db} comes from
-- validated configuration.
--
-- Every pipeline batch adds a part to each table it writes (calls, call_scores,
-- call_bodies, spans, alarms, review_items) and to each rollup the views fill (minute,
-- hour and version rollups), and the engine merges those parts into larger ones in the
-- background, rewriting every row each time. With the default merge_selector_base of 5 a
-- merge takes about five parts of one size, so a row is rewritten once per factor of 5
-- its part grows by; at 10, once per factor of 10: about 30% fewer rewrites in a day's
-- partition (log 5 / log 10), more in the first minutes. A table holds up to about twice
-- as many parts at once (ten of a size instead of five), which queries read through
-- FINAL or their GROUP BY as before: results do not change. Measured with
-- `python -m bench.collector.store_cost` (docs/benchmarks.md, "chDB's own CPU").
--
-- tuning only: a server that does not know merge_selector_base (ClickHouse before 24.11)
-- logs a warning and goes on with its default merges.
--
-- MODIFY SETTING changes only the table's metadata: an existing store keeps its parts and
-- merges them under the new setting from then on.

ALTER TABLE {db}.calls MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.call_scores MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.call_bodies MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.spans MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.alarms MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.review_items MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.feedback MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.judge_verdicts MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.calls_minutely MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.calls_hourly MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.call_versions MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.scores_minutely MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {db}.scores_hourly MODIFY SETTING merge_selector_base = 10
