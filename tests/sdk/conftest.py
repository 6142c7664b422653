"""Every SDK test starts from a fresh in-memory pipeline and shuts it down afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sdk.stats_delta import StatsDelta
from watchkeeper.sdk import configure, shutdown


@pytest.fixture(autouse=True)
def memory_pipeline() -> Iterator[None]:
    """Configure the "memory" exporter for the test; stop its worker thread after it."""
    configure("memory")
    yield
    shutdown(timeout_s=5.0)


@pytest.fixture
def stats_delta() -> StatsDelta:
    """Counters relative to the start of the test."""
    return StatsDelta()
