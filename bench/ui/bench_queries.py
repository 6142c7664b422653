"""How fast the web UI's pages read a big store, and what the rollups cost the write path.

Seeds a fresh chDB store with ``--calls`` calls (default 1,000,000) spread over the last 7
days: 3 services x 2 routes x 2 models, 2% errors, 12 scores per call, a prompt version
change, texts for 10% of calls, an alarm every 5,000 calls. The rows go in with
``INSERT ... SELECT`` from ``numbers()``, so the materialised views of migration 0010 fill
the rollups exactly as the pipeline's inserts do. Then prints, per query, the median of
``--repeat`` runs:

- the overview as the API answers it (``Monitor.overview``: every query and the shaping),
  for the last hour, day and week, with and without a service filter;
- each rollup query beside the same figures computed from the tables themselves;
- the alarms list, an alarm with the calls around it, the calls explorer's searches and
  one call's page;
- the write path: ``Store.write`` of 10,000 calls with scores, with the views and without.

    python -m bench.ui.bench_queries [--calls 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchkeeper.collector.overview.monitor import Monitor
from watchkeeper.collector.overview.ranges import TimeRange
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.review.workflow import ReviewWorkflow
from watchkeeper.collector.scores import BatchScores
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.monitoring import CallSearch, KeyFilter, MonitoringStore
from watchkeeper.collector.store.store import Store, WriteBatch

SCORES = (
    "consistency_drift.consistency",
    "consistency_drift.consistency_coverage",
    "input_length_drift.input_drift",
    "input_vocabulary_drift.input_drift",
    "topic_drift.topic_divergence",
    "latency_drift.latency",
    "token_usage_drift.tokens",
    "error_rate_drift.error",
    "refusal_rate_drift.refusal",
    "bad_output_rate_drift.bad_output",
    "prompt_injection.safety",
    "pii_leak.safety",
)
_WEEK_S = 7 * 86400
# Columns every seeded table shares: the n-th call's time, ids and key.
_ROW = """fromUnixTimestamp64Nano(toInt64(({start_s} + number * {gap_s}) * 1e9)) AS Timestamp,
  lower(hex(cityHash64(number, 't'))) AS TraceId, lower(hex(cityHash64(number))) AS SpanId,
  ['checkout-bot', 'support-bot', 'search-bot'][number % 3 + 1] AS ServiceName,
  ['chat/answer', 'docs/search'][intDiv(number, 3) % 2 + 1] AS Route,
  ['model-a', 'model-b'][intDiv(number, 6) % 2 + 1] AS Model"""
# What the collector's own pages would run without the rollups: the same figures from the
# tables (benchmark-only SQL, to show why the rollups exist).
PLAIN = {
    "traffic": """SELECT toStartOfInterval(Timestamp, toIntervalSecond({step})) AS T,
  ServiceName, Route, ResponseModel, count() AS Calls, countIf(StatusCode = 'ERROR'),
  quantiles(0.5, 0.95)(Duration), sum(InputTokens), sum(OutputTokens)
FROM {db}.calls FINAL WHERE Timestamp >= fromUnixTimestamp({from_s})
GROUP BY T, ServiceName, Route, ResponseModel""",
    "per key": """SELECT ServiceName, Route, ResponseModel, count() AS Calls,
  countIf(StatusCode = 'ERROR'), quantiles(0.5, 0.95)(Duration), sum(InputTokens)
FROM {db}.calls FINAL WHERE Timestamp >= fromUnixTimestamp({from_s})
GROUP BY ServiceName, Route, ResponseModel""",
    "scores": """SELECT toStartOfInterval(Timestamp, toIntervalSecond({step})) AS T,
  ServiceName, Route, Model, k, avg(v), min(v), max(v)
FROM (SELECT * FROM {db}.call_scores FINAL WHERE Timestamp >= fromUnixTimestamp({from_s}))
ARRAY JOIN mapKeys(Scores) AS k, mapValues(Scores) AS v
GROUP BY T, ServiceName, Route, Model, k""",
}


def seed(store: Store, calls: int) -> float:
    """Fill the store's tables with ``calls`` calls over the last week; seconds taken."""
    db, now_s = store.database, int(time.time())
    start_s, gap_s = now_s - _WEEK_S, _WEEK_S / calls
    row = _ROW.format(start_s=start_s, gap_s=gap_s)
    scores = ", ".join(
        f"'{name}', toFloat64(cityHash64(number, {i}) % 1000) / 1000"
        for i, name in enumerate(SCORES)
    )
    began = time.perf_counter()
    rows = f"(SELECT number, {row} FROM numbers({calls}))"
    store.backend.command(f"""INSERT INTO {db}.calls (Timestamp, TraceId, SpanId, ServiceName,
        Route, RequestModel, ResponseModel, InputTokens, OutputTokens, Duration, StatusCode,
        SampleRate, HasBody, SpanAttributes)
      SELECT Timestamp, TraceId, SpanId, ServiceName, Route, Model, Model, 50 + number % 400,
        20 + number % 300, (150 + cityHash64(number, 'd') % 900) * 1000000,
        if(number % 50 = 0, 'ERROR', 'OK'), 1.0, number % 10 = 0,
        map('watchkeeper.prompt.version', if(number < {calls * 3 // 4}, 'v1', 'v2'))
      FROM {rows}""")
    store.backend.command(f"""INSERT INTO {db}.call_scores (Timestamp, TraceId, SpanId,
        ServiceName, Route, Model, DetectorKey, Scores)
      SELECT Timestamp, TraceId, SpanId, ServiceName, Route, Model,
        concat(ServiceName, '|', Route, '|', Model), map({scores})
      FROM {rows}""")
    store.backend.command(f"""INSERT INTO {db}.call_bodies (Timestamp, TraceId, SpanId,
        ServiceName, Route, InputText, OutputText, SampleRate, KeepReason)
      SELECT Timestamp, TraceId, SpanId, ServiceName, Route,
        concat('question ', toString(number), ' about order ', toString(number % 977)),
        concat('answer ', toString(number)), 0.1, 'sampled'
      FROM {rows} WHERE number % 10 = 0""")
    store.backend.command(f"""INSERT INTO {db}.alarms (Timestamp, Detector, DetectorKey,
        TraceId, SpanId, Score, Message)
      SELECT Timestamp, 'consistency_drift', concat(ServiceName, '|', Route, '|', Model),
        TraceId, SpanId, 0.1,
        concat('consistency_drift detected a change for ', ServiceName, '|', Route, '|', Model,
               ': answers to equivalent inputs became less consistent')
      FROM {rows} WHERE number % 5000 = 0""")
    return time.perf_counter() - began


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, int]:
    """Median milliseconds of ``repeat`` runs (after one warm-up) and the rows returned."""
    result = run()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - began) * 1000)
    size = len(result) if isinstance(result, list) else 0
    return statistics.median(times), size


def overview_rows(monitor: Monitor, repeat: int) -> list[tuple[str, float, int]]:
    """The overview as the API computes it, per range and filter."""
    out = []
    for preset in ("1h", "24h", "7d"):
        span = TimeRange.parse(preset)
        for label, keys in (("all keys", KeyFilter()), ("one service", KeyFilter("support-bot"))):
            ms, _ = timed(lambda s=span, k=keys: monitor.overview(s, k), repeat)
            out.append((f"overview, {span.label}, {label}", ms, 0))
    return out


def rollup_rows(store: Store, reads: MonitoringStore, repeat: int) -> list[tuple[str, float, int]]:
    """Each rollup query beside the same figures from the tables."""
    out = []
    keys = KeyFilter()
    for preset in ("24h", "7d"):
        span = TimeRange.parse(preset)
        rollups = {
            "traffic": lambda s=span: reads.traffic_series(s.from_s, s.to_s, s.step_s, keys),
            "per key": lambda s=span: reads.traffic_by_key(s.from_s, s.to_s, keys, step_s=s.step_s),
            "scores": lambda s=span: reads.score_series(s.from_s, s.to_s, s.step_s, keys),
        }
        for name, run in rollups.items():
            ms, rows = timed(run, repeat)
            out.append((f"{name}, {span.label}, rollup", ms, rows))
            sql = PLAIN[name].format(db=store.database, step=span.step_s, from_s=span.from_s)
            ms, rows = timed(lambda q=sql: store.backend.select(q), repeat)
            out.append((f"{name}, {span.label}, from the tables", ms, rows))
    return out


def page_rows(monitor: Monitor, repeat: int) -> list[tuple[str, float, int]]:
    """The alarms and calls pages' reads."""
    week, hour = TimeRange.parse("7d"), TimeRange.parse("1h")
    keys = KeyFilter()
    alarm = monitor.alarms(week, keys, limit=1)[0]
    call = monitor.calls(hour, keys, CallSearch(), 1)[0]
    runs: dict[str, Callable[[], Any]] = {
        "alarms, last week": lambda: monitor.alarms(week, keys),
        "one alarm with the calls around it": lambda: monitor.alarm(
            alarm["detector"], alarm["span_id"]
        ),
        "calls, last hour, newest 100": lambda: monitor.calls(hour, keys, CallSearch()),
        "calls, last week, newest 100": lambda: monitor.calls(week, keys, CallSearch()),
        "calls, last week, score between 0 and 0.01": lambda: monitor.calls(
            week, keys, CallSearch(score=SCORES[0], score_min=0, score_max=0.01)
        ),
        "calls, last week, text contains": lambda: monitor.calls(
            week, keys, CallSearch(text="order 42")
        ),
        "calls, last week, errors only": lambda: monitor.calls(week, keys, CallSearch(errors=True)),
        "one call (link with its time)": lambda: monitor.call(
            call["span_id"], call["timestamp_ns"]
        ),
        "one call (no time: every day searched)": lambda: monitor.call(call["span_id"]),
    }
    return [(name, *timed(run, repeat)) for name, run in runs.items()]


def write_rows(store: Store, repeat: int) -> list[tuple[str, float, int]]:
    """``Store.write`` of 10,000 calls with 12 scores each, with the views, then without."""
    out = []
    base = time.time_ns() - 3600 * 1_000_000_000
    for label in ("with the rollup views", "without them"):
        times = []
        for batch in range(repeat + 1):
            calls = [
                CallRecord(
                    trace_id=f"{batch:08x}{i:024x}",
                    span_id=f"{hash(label) & 0xFFFF:04x}{batch:04x}{i:08x}",
                    timestamp_ns=base + i * 1_000_000,
                    duration_ns=200_000_000,
                    service_name="write-bench",
                    route="chat/answer",
                    request_model="model-a",
                    input_tokens=100,
                    output_tokens=50,
                )
                for i in range(10_000)
            ]
            scores = BatchScores.of(calls, {c.span_id: dict.fromkeys(SCORES, 0.5) for c in calls})
            began = time.perf_counter()
            store.write(WriteBatch(calls=calls, scores=scores))
            if batch:  # the first batch warms up
                times.append((time.perf_counter() - began) * 1000)
        out.append((f"write 10,000 calls + scores, {label}", statistics.median(times), 10_000))
        for view in ("calls_minutely_mv", "scores_minutely_mv", "call_versions_mv"):
            store.backend.command(f"DROP VIEW IF EXISTS {store.database}.{view}")
    return out


def main() -> None:
    """Seed, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wk-bench-ui-") as folder:
        store = Store(ChdbBackend(Path(folder) / "chdb"))
        store.migrate()
        seconds = seed(store, args.calls)
        stored = store.count_calls()
        print(f"seeded {stored:,} calls over the last 7 days in {seconds:.1f} s")
        reads = MonitoringStore(store)
        monitor = Monitor(reads, ReviewWorkflow(store))
        rows = overview_rows(monitor, args.repeat)
        rows += rollup_rows(store, reads, args.repeat)
        rows += page_rows(monitor, args.repeat)
        rows += write_rows(store, args.repeat)
        print(f"\n| query ({stored:,} calls, median of {args.repeat}) | ms | rows |")
        print("|---|---:|---:|")
        for name, ms, size in rows:
            print(f"| {name} | {ms:,.0f} | {size:,} |")
        store.close()


if __name__ == "__main__":
    main()
