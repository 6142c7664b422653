"""Crash recovery: SIGKILLed collectors lose nothing and duplicate nothing."""

from __future__ import annotations

import pytest

from tests.support.kill_test import run_kill_test


@pytest.mark.kafka
@pytest.mark.slow
def test_sigkilled_collector_stores_every_call_exactly_once(kafka_bootstrap: str) -> None:
    """3,000 calls, the collector SIGKILLed 3 times mid-stream: all stored exactly once.

    The full-size run (100,000 calls, 10 kills) is `make kill-test`.
    """
    report = run_kill_test(kafka_bootstrap, calls=3000, kills=3, seed=7, progress=False)
    assert report.missing == 0
    assert report.stored_distinct == 3000
    assert report.stored_final == 3000
    assert report.stored_raw >= report.stored_final
