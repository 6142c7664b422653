"""Shared pytest fixtures for the whole test suite.

Each group of fixtures lives in its own delimited section below; add new groups as new
sections rather than mixing them into existing ones.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from watchkeeper.collector.store.store import Store

# ---------------------------------------------------------------------------------------------
# Signals
# ---------------------------------------------------------------------------------------------

# A shell without job control starts background commands (`make test &`) with Ctrl-C
# ignored, and every process the tests start inherits that: the tests of Ctrl-C handling
# (sidecar, experiment runs) would then wait for a signal nobody hears. Take it back.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# ---------------------------------------------------------------------------------------------
# Kafka: a real Apache Kafka broker (tests/support/kafka_broker.py)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address (``host:port``) of a real Kafka broker for this test session.

    Uses the broker named by ``WATCHKEEPER_TEST_KAFKA_BOOTSTRAP`` when set (e.g. under
    ``python -m tests.support.kafka_broker run -- pytest``); otherwise fetches the jars and
    starts a private single-node broker, once per session, stopped when the session ends.
    Only tests that request this fixture pay for a broker.
    """
    from tests.support.kafka_broker import BOOTSTRAP_ENV, KafkaBroker, KafkaBrokerError

    external = os.environ.get(BOOTSTRAP_ENV)
    if external:
        yield external
        return
    broker = KafkaBroker()
    try:
        broker.start()  # fetches the jars on first use
    except KafkaBrokerError as exc:
        pytest.fail(f"cannot start the test Kafka broker: {exc}", pytrace=False)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


# --- collector fixtures -----------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated chDB store in a fresh directory, closed afterwards.

    chDB allows one data directory per process at a time, so each test's store is closed
    before the next opens.
    """
    from watchkeeper.collector.store.chdb_backend import ChdbBackend
    from watchkeeper.collector.store.store import Store

    opened = Store(ChdbBackend(tmp_path / "chdb"))
    opened.migrate()
    yield opened
    opened.close()
