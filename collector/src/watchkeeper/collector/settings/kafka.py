"""The collector's Kafka section: the sidecar's brokers and topic, plus the consumer's."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from watchkeeper.ingest.settings import KafkaSettings


class ConsumerKafkaSettings(KafkaSettings):
    """``watchkeeper collect``: the consumer group and how it reads."""

    group: str = Field(default="watchkeeper-collector", min_length=1, alias="kafka_group")
    session_timeout_s: float = Field(
        default=10.0,
        ge=6.0,
        le=300.0,
        alias="kafka_session_timeout_s",
        description="Consumer session timeout: how long a crashed collector's partitions "
        "wait before the group hands them to another member.",
    )
    # ClickHouse writes a part per insert and table (milliseconds of fixed work each): it
    # asks for inserts of 10,000 rows or more. Smaller batches cost CPU per call; under
    # light traffic a poll returns what is there, so batches are smaller anyway.
    max_batch: int = Field(
        default=10_000,
        ge=1,
        le=100_000,
        alias="kafka_max_batch",
        description="Records per store batch.",
    )
    client: Literal["auto", "confluent", "kafka-python"] = Field(
        default="auto",
        alias="kafka_client",
        description="Kafka consumer library: confluent (librdkafka, C; the fast one), "
        "kafka-python (pure Python), or auto (confluent when installed).",
    )
    dead_letter_topic: str | None = Field(
        default=None,
        alias="dead_letter_topic",
        description="Kafka topic that also receives dead letters (collect only).",
    )
