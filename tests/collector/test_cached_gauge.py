"""The scrape-time gauges (evalset coverage, version regressions): exposed empty until
their function is set, computed at scrape time, and cached for their TTL."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from watchkeeper.collector.cached_gauge import CachedGauge


def test_empty_until_read_is_set_then_labelled_by_key() -> None:
    """No function: the family with no sample. Then one label from a string key, several
    from a tuple key."""
    registry = CollectorRegistry()
    single: CachedGauge[str] = CachedGauge(registry, "t_single", "One label.", ["route"], 60)
    many: CachedGauge[tuple[str, str]] = CachedGauge(registry, "t_many", "Two.", ["a", "b"], 60)
    assert "t_single{" not in generate_latest(registry).decode()
    single.read = lambda: {"chat": 0.5}
    many.read = lambda: {("x", "y"): 1.0}
    text = generate_latest(registry).decode()
    assert 't_single{route="chat"} 0.5' in text
    assert 't_many{a="x",b="y"} 1.0' in text


def test_values_are_computed_once_per_ttl() -> None:
    """Within the TTL a second scrape reuses the values; with no TTL each scrape reads."""
    registry = CollectorRegistry()
    reads: list[int] = []

    def read() -> dict[str, float]:
        reads.append(1)
        return {"chat": float(len(reads))}

    cached: CachedGauge[str] = CachedGauge(registry, "t_cached", "Cached.", ["route"], 3600)
    fresh: CachedGauge[str] = CachedGauge(CollectorRegistry(), "t_fresh", "Fresh.", ["route"], 0)
    cached.read = read
    generate_latest(registry)
    assert 't_cached{route="chat"} 1.0' in generate_latest(registry).decode()
    assert len(reads) == 1
    fresh.read = read
    first = next(iter(fresh.collect())).samples[0].value
    second = next(iter(fresh.collect())).samples[0].value
    assert (first, second) == (2.0, 3.0)


def test_a_failing_read_keeps_the_last_values_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A store hiccup must not break the scrape: the last values stay, one warning names
    the gauge, and the next good read replaces them."""
    registry = CollectorRegistry()
    gauge: CachedGauge[str] = CachedGauge(registry, "t_failing", "Failing.", ["route"], 0)
    answers: list[dict[str, float] | None] = [{"chat": 1.0}, None, None, {"chat": 2.0}]

    def read() -> dict[str, float]:
        answer = answers.pop(0)
        if answer is None:
            raise RuntimeError("store unreachable")
        return answer

    gauge.read = read
    values = []
    for _ in range(4):
        text = generate_latest(registry).decode()
        values.append(text.split('t_failing{route="chat"} ')[1].split()[0])
    assert values == ["1.0", "1.0", "1.0", "2.0"]
    warnings = [r.getMessage() for r in caplog.records if "t_failing" in r.getMessage()]
    assert len(warnings) == 1
    assert "store unreachable" in warnings[0]
