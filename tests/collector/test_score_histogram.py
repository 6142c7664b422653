"""The batched score histogram renders what prometheus_client's Histogram renders."""

from __future__ import annotations

import random

import numpy as np
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from watchkeeper.collector.metrics import ScoreHistogram

BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)


def _series(exposition: bytes) -> list[str]:
    """Bucket, sum and count lines (prometheus_client also writes a ``_created`` gauge)."""
    return sorted(
        line
        for line in exposition.decode().splitlines()
        if line.startswith("watchkeeper_detector_score_")
        and not line.startswith("watchkeeper_detector_score_created")
    )


def test_same_exposition_as_prometheus_client() -> None:
    """Batches of score columns (NaN: a call without that score), against one
    ``observe`` per value in prometheus_client's own histogram."""
    rng = random.Random(3)
    batches = [
        [
            {f"d{rng.randrange(3)}.s": rng.choice([0.25, 1.0, 10.0, 11.0, -2.0, rng.random() * 6])}
            for _ in range(rng.randrange(1, 50))
        ]
        for _ in range(20)
    ]
    ours_registry, theirs_registry = CollectorRegistry(), CollectorRegistry()
    ours = ScoreHistogram("watchkeeper_detector_score", "Per-call scores.", BUCKETS)
    ours_registry.register(ours)
    theirs = Histogram(
        "watchkeeper_detector_score",
        "Per-call scores.",
        ["score"],
        buckets=BUCKETS,
        registry=theirs_registry,
    )
    for batch in batches:
        names = sorted({key for scores in batch for key in scores})
        ours.observe_columns(
            {name: np.array([scores.get(name, np.nan) for scores in batch]) for name in names}
        )
        for scores in batch:
            for key, value in scores.items():
                theirs.labels(key).observe(value)
    expected = _series(generate_latest(theirs_registry))
    assert len(expected) > 20
    assert _series(generate_latest(ours_registry)) == expected
