"""The collector benchmark's messages with texts no other call has.

The benchmark's texts repeat (``tests/support/otlp_messages.texts`` cycles through the
corpus), so a judge's verdict cache answers many of the calls it picks: live traffic's
questions and answers rarely repeat word for word, FAQ bots aside. Here each call's
prompt and answer end with the call's own tag, so every call's content hash differs and
the cache answers none.
"""

from __future__ import annotations

import json
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.otlp_messages import message

#: The span attributes that hold the texts (JSON strings of GenAI messages).
TEXT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages")


def unique_message(i: int, run: str) -> tuple[bytes, bytes]:
    """:func:`tests.support.otlp_messages.message` with ``[run/i]`` after each text."""
    key, value = message(i, run)
    request = ExportTraceServiceRequest.FromString(value)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    for attribute in span.attributes:
        if attribute.key in TEXT_KEYS:
            messages = json.loads(attribute.value.string_value)
            messages[0]["parts"][0]["content"] += f" [{run}/{i}]"
            attribute.value.string_value = json.dumps(messages)
    return key, request.SerializeToString()


def produce_unique(bootstrap: str, topic: str, calls: int, run: str) -> float:
    """Send ``calls`` such messages to ``topic``; returns the seconds taken (as
    ``bench.collector.bench_throughput.produce`` does with the repeating texts)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=20, batch_size=512 * 1024
    )
    started = time.perf_counter()
    for i in range(calls):
        key, value = unique_message(i, run)
        producer.send(topic, key=key, value=value)
    producer.flush(timeout=300)
    producer.close()
    return time.perf_counter() - started
