"""Hostile texts through the collector: OTLP in, every call stored or dead-lettered.

The texts of :mod:`tests.detectors.hostile_texts` arrive as an app's spans would carry
them (GenAI message and retrieval JSON in OTLP protobuf, some as OTLP JSON, some with
bytes that are not UTF-8 at all) and go through the pipeline the settings build: decode,
normalize, the default detectors, trace signals, sampling and the chDB store. The judge's
prompts are built from the same texts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from tests.detectors.hostile_texts import hostile_texts, many_contexts
from watchkeeper.collector.judge.prompt import MAX_TEXT_CHARS, JudgeInput, dimensions_for
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.processors.decode import MAX_PAYLOAD_BYTES
from watchkeeper.collector.runtime import build_pipeline
from watchkeeper.collector.settings import load_settings
from watchkeeper.collector.settings.rubric import default_rubric
from watchkeeper.collector.store.store import Store

#: Stands in for text whose bytes are patched after encoding (same length in UTF-8).
MARKER = "Q" * 64
#: An hour ago: within the store's TTL, not in the future.
START_NS = time.time_ns() - 3600 * 10**9
NOT_UTF8 = b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\xed\xa0\x80" * 4


def _json(value: object) -> str:
    """JSON as an app writes it: UTF-8 as is, lone surrogates (not encodable) as escapes."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def _span(n: int, prompt: str, answer: str, contexts: list[str]) -> Span:
    def message(role: str, text: str) -> str:
        return _json([{"role": role, "parts": [{"type": "text", "content": text}]}])

    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "gen_ai.input.messages": message("user", prompt),
        "gen_ai.output.messages": message("assistant", answer),
        "gen_ai.retrieval.documents": _json([{"content": c} for c in contexts]),
    }
    return Span(
        trace_id=n.to_bytes(16, "big"),
        span_id=(n + 1).to_bytes(8, "big"),
        name="chat m",
        start_time_unix_nano=START_NS + n * 1_000_000,
        end_time_unix_nano=START_NS + n * 1_000_000 + 300_000_000,
        attributes=[KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in attributes.items()],
    )


def _payload(spans: list[Span]) -> bytes:
    service = KeyValue(key="service.name", value=AnyValue(string_value="hostile"))
    request = ExportTraceServiceRequest()
    resource = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
    resource.resource.attributes.append(service)
    request.resource_spans.append(resource)
    data: bytes = request.SerializeToString()
    return data


def hostile_payloads() -> list[tuple[str, Payload]]:
    """``(label, payload)``: one span per text (in prompt, answer and context), raw bytes
    that are not UTF-8 in those places, lone surrogates in OTLP JSON, 100,000 contexts."""
    out = []
    for n, (name, text) in enumerate(hostile_texts().items()):
        span = _span(10 * n, text, text, [text, "Refunds take 30 days."])
        out.append((name, Payload(_payload([span]), "test")))
    raw = _payload([_span(1000, MARKER, MARKER, [MARKER])])
    out.append(("not_utf8", Payload(raw.replace(MARKER.encode(), NOT_UTF8), "test")))
    texts = hostile_texts()
    many = _span(1010, texts["prose_1mb"], texts["sentences_1mb"], many_contexts())
    out.append(("many_contexts", Payload(_payload([many]), "test")))
    out.append(("otlp_json", Payload(_json_payload(texts["lone_surrogates"]), "test")))
    return out


def _json_payload(text: str) -> bytes:
    """OTLP/JSON with ``text`` as prompt and answer; its lone surrogates stay escapes."""
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": text}]}])
    span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": "chat",
        "startTimeUnixNano": str(START_NS),
        "endTimeUnixNano": str(START_NS + 200_000_000),
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.input.messages", "value": {"stringValue": messages}},
            {"key": "gen_ai.output.messages", "value": {"stringValue": messages}},
        ],
    }
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()


def _normal_payload(first: int, n: int) -> Payload:
    spans = [
        _span(
            first + 10 * i,
            f"How long do refunds take for order {i}?",
            "Refunds take 30 days.",
            ["Refunds take 30 days from the day the parcel arrives."],
        )
        for i in range(n)
    ]
    return Payload(_payload(spans), "test")


def _pipeline(store: Store, tmp_path: Path) -> Pipeline:
    settings = load_settings(None, {"data_dir": tmp_path / "data"}, environ={})
    return build_pipeline(settings, store, resume=False)


def test_each_hostile_call_is_stored_or_dead_lettered(store: Store, tmp_path: Path) -> None:
    """Payload by payload: every call is stored or dead-lettered with a reason, nothing
    raises, normal calls afterwards are stored and scored, and the detectors' state
    checkpoints and restores."""
    pipeline = _pipeline(store, tmp_path)
    pipeline.process([_normal_payload(50_000, 20)])
    stored = 20
    oversized = 0
    for label, payload in hostile_payloads():
        result = pipeline.process([payload])
        if len(payload.data) > MAX_PAYLOAD_BYTES:
            assert (result.calls, result.dead_letters) == (0, 1), (label, result)
            oversized += 1
        else:
            assert (result.calls, result.dead_letters) == (1, 0), (label, result)
            assert not result.detection.errors, (label, result.detection.errors)
            assert len(result.detection.scores) == 1, label  # scored by some detectors
            stored += 1
    assert store.count_calls() == stored
    assert store.dead_letter_counts() == ({"oversized": oversized} if oversized else {})
    result = pipeline.process([_normal_payload(60_000, 5)])
    assert result.calls == 5
    assert len(result.detection.scores) == 5
    assert store.count_calls() == stored + 5
    saved = pipeline.save_state()  # what the detectors learned checkpoints and resumes
    assert saved > 0
    assert _pipeline(store, tmp_path).restore_state() == saved
    pipeline.close()


def test_hostile_calls_in_one_batch_with_normal_ones(store: Store, tmp_path: Path) -> None:
    """All of them in one batch beside normal calls (the detectors' runs, the core's text
    analysis ahead of them): the batch is stored whole and the normal calls are scored."""
    pipeline = _pipeline(store, tmp_path)
    payloads = [payload for _, payload in hostile_payloads()]
    payloads.insert(3, _normal_payload(70_000, 4))
    result = pipeline.process(payloads)
    assert result.calls + result.dead_letters == len(payloads) - 1 + 4
    assert not result.detection.errors
    scored = [call for call, _ in result.detection.scores]
    assert sum(call.input_text.startswith("How long") for call in scored) == 4
    pipeline.close()


def _step(trace: int, n: int, name: str, attributes: dict[str, str]) -> Span:
    """Span ``n`` of an agent trace (the first is its root, the others its children)."""
    return Span(
        trace_id=trace.to_bytes(16, "big"),
        span_id=(trace * 10 + n).to_bytes(8, "big"),
        parent_span_id=(trace * 10).to_bytes(8, "big") if n else b"",
        name=name,
        start_time_unix_nano=START_NS + n * 1000,
        end_time_unix_nano=START_NS + 500_000_000 - n * 1000,
        attributes=[KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in attributes.items()],
    )


def _agent_trace(trace: int, text: str, tool_json: str, documents: list[str]) -> list[Span]:
    """An agent answering ``text`` after a retrieval and a tool call; ``tool_json`` is the
    tool's arguments, its declared schema and the LLM's tool definitions at once."""
    messages = [{"role": "user", "parts": [{"type": "text", "content": text}]}]
    return [
        _step(trace, 0, "agent", {"gen_ai.operation.name": "invoke_agent"}),
        _step(
            trace,
            1,
            "retrieve",
            {
                "gen_ai.operation.name": "retrieval",
                "gen_ai.input.messages": _json(messages),
                "gen_ai.retrieval.documents": _json([{"content": d} for d in documents]),
            },
        ),
        _step(
            trace,
            2,
            "chat",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.input.messages": _json(messages),
                "gen_ai.output.messages": _json([{"role": "assistant", **messages[0]}]),
                "gen_ai.tool.definitions": tool_json,
            },
        ),
        _step(
            trace,
            3,
            "tool",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "lookup",
                "gen_ai.tool.call.arguments": tool_json,
                "tool.parameters": tool_json,
            },
        ),
    ]


def test_hostile_agent_traces_get_trace_signals_without_errors(
    store: Store, tmp_path: Path
) -> None:
    """Agent traces (retrieval, LLM call, tool call) with the hostile texts everywhere, with
    100,000 retrieved documents, or with tool arguments, schema and definitions nested
    200,000 deep: each is stored, and the trace signal stage scores it without an error."""
    pipeline = _pipeline(store, tmp_path)
    stage = pipeline.trace_signals
    assert stage is not None
    texts = hostile_texts()
    deep = "[" * 200_000
    traces = [
        _agent_trace(1, "Which orders ship free?", deep, ["Orders above 50 euros ship free."]),
        _agent_trace(2, texts["prose_1mb"], "{}", many_contexts()),
    ]
    for n, hostile in enumerate(texts.values()):
        text = hostile.encode("utf-8", "replace").decode()  # protobuf carries UTF-8 only
        small = len(text) < 100_000  # the 1 MB texts once per span keep payloads in bounds
        traces.append(_agent_trace(10 + n, text, text if small else "[]", [text]))
    stored = 0
    for spans in traces:
        result = pipeline.process([Payload(_payload(spans), "test")])
        assert result.calls + result.dead_letters == 1  # over 16 MB: dead-lettered whole
        stored += result.calls
    assert stored >= len(traces) - 1
    assert stage.errors == 0
    assert stage.scored == stored
    pipeline.close()


def test_judge_prompts_of_hostile_texts_are_bounded_and_encodable() -> None:
    """The judge's prompt for any of these calls is built, cut to a bounded size, and
    encodes as the JSON body the endpoint is sent."""
    rubric = default_rubric()
    texts = hostile_texts()
    cases = [JudgeInput(text, text, (text, text)) for text in texts.values()]
    cases.append(JudgeInput(texts["prose_1mb"], texts["sentences_1mb"], tuple(many_contexts())))
    for seen in cases:
        for prompt in dimensions_for(rubric, (), has_contexts=True):
            messages = prompt.messages(seen)
            body = json.dumps({"messages": messages}).encode()
            assert len(body) < 30 * 6 * MAX_TEXT_CHARS
            assert len(seen.content_hash()) == 32
