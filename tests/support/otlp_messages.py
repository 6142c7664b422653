"""Real OTLP messages of SDK-like LLM calls, as the SDK and the Kafka exporter send them:
the traffic the collector's tests and benchmarks share (texts from chatterbot-corpus)."""

from __future__ import annotations

import json
import time
import uuid

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def texts(i: int, chars: int = 500) -> tuple[str, str]:
    """A ~500-character prompt and answer from real dialogue (chatterbot-corpus): the
    conversation's prompt and answer, padded with turns of neighbouring conversations,
    as a user pasting context and a model elaborating would."""
    from tests.support.workload import conversations

    corpus = conversations()
    prompt, answer, j = corpus[i % len(corpus)].prompt, corpus[i % len(corpus)].answers[0], i
    while len(prompt) < chars or len(answer) < chars:
        j = (j * 7 + 13) % len(corpus)
        prompt += " " + corpus[j].prompt if len(prompt) < chars else ""
        answer += " " + corpus[j].answers[0] if len(answer) < chars else ""
    return prompt[:chars], answer[:chars]


def message(i: int, run: str) -> tuple[bytes, bytes]:
    """One SDK-like call: key = trace id hex, value = ExportTraceServiceRequest bytes."""
    trace_id = uuid.uuid5(uuid.NAMESPACE_OID, f"{run}/{i}").bytes
    now = time.time_ns()
    prompt, answer = texts(i)
    span = Span(
        trace_id=trace_id,
        span_id=trace_id[8:],
        name="chat bench-model",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=now,
        end_time_unix_nano=now + 350_000_000,
        status=Status(code=Status.STATUS_CODE_OK),
        attributes=[
            _kv("gen_ai.operation.name", "chat"),
            _kv("gen_ai.provider.name", "openai"),
            _kv("gen_ai.request.model", "bench-model"),
            _kv("gen_ai.response.model", "bench-model-2026"),
            _kv("gen_ai.usage.input_tokens", 125),
            _kv("gen_ai.usage.output_tokens", 130),
            _kv("user.id", f"user-{i % 500}"),
            _kv("watchkeeper.route", f"bench/route-{i % 4}"),
            _kv("watchkeeper.sample_rate", "1.0"),
            _kv("code.function.name", "answer"),
            _kv(
                "gen_ai.input.messages",
                json.dumps([{"role": "user", "parts": [{"type": "text", "content": prompt}]}]),
            ),
            _kv(
                "gen_ai.output.messages",
                json.dumps(
                    [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": answer}],
                            "finish_reason": "stop",
                        }
                    ]
                ),
            ),
        ],
    )
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=[_kv("service.name", "bench-app")]),
                scope_spans=[
                    ScopeSpans(scope=InstrumentationScope(name="watchkeeper"), spans=[span])
                ],
            )
        ]
    )
    return trace_id.hex().encode(), request.SerializeToString()
