"""Choosing the Kafka consumer client: clear errors, and a fallback when confluent is absent."""

from __future__ import annotations

import socket
import sys

import pytest

from watchkeeper.collector.receivers.kafka_clients import ClientUnavailableError, open_consumer


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def _open(client: str, bootstrap: str) -> object:
    return open_consumer(
        client,  # type: ignore[arg-type]
        bootstrap=bootstrap,
        topic="t",
        group="g",
        max_batch=10,
        connect_timeout_s=1.0,
        session_timeout_s=10.0,
    )


def test_unknown_client_is_named() -> None:
    with pytest.raises(ClientUnavailableError, match=r"unknown Kafka client 'rdkafka'"):
        _open("rdkafka", "127.0.0.1:1")


def test_confluent_without_the_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)  # import fails
    with pytest.raises(ClientUnavailableError, match=r"pip install confluent-kafka.*kafka-python"):
        _open("confluent", "127.0.0.1:1")


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_unreachable_broker_names_the_address(client: str) -> None:
    bootstrap = _closed_port()
    with pytest.raises(ClientUnavailableError, match=f"cannot reach a Kafka broker at {bootstrap}"):
        _open(client, bootstrap)


def test_auto_falls_back_to_kafka_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without confluent-kafka, ``auto`` still consumes: kafka-python's error shows it ran."""
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)
    bootstrap = _closed_port()
    with pytest.raises(ClientUnavailableError, match=r"\(KafkaTimeoutError\)"):
        _open("auto", bootstrap)
