"""The traces the compiled core scores as it reads them (``traces.trace_summary``) get
exactly the rows the Python stage gives them: the same values on the same spans, the
same alarms and review items, whatever the shape of the trace, including the ones the core
leaves to Python (a session, a retrieval, a declared schema, a trace split across
payloads or missing its root)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from watchkeeper.collector.pipeline import Payload, Pipeline, PreparedBatch
from watchkeeper.collector.processors import native_decode
from watchkeeper.collector.processors.detect import DetectorStage
from watchkeeper.collector.settings.review_queues import default_queues
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.traces.signals import stage as stage_module
from watchkeeper.collector.traces.signals.stage import TraceSignalStage
from watchkeeper.collector.traces.signals.summarised import Parts, Taken, take_summarised

pytestmark = pytest.mark.skipif(
    not native_decode.makes_rows(), reason="the compiled core is not installed"
)

TOOLS = ["search", "get_order", "lookup"]
ARGUMENTS = [
    '{"q": "refund"}',
    '{ "q" : "refund" }',
    '{"a": 1, "b": [1, 2]}',
    '{"b": [1, 2], "a": 1}',
    '{"a": 1.0, "b": [1, 2]}',
    '{"a": 1.00, "b": [1, 2]}',
    '{"n": null, "t": true, "s": "\\u00e9"}',
    '{"n": null, "t": true, "s": "é"}',
    "{}",
    "",
    "  ",
    "not json",
    '{"q": "refund", "q": "other"}',
    '{"x": 123456789012345678901234}',
    '{"deep": ' + "[" * 40 + "]" * 40 + "}",
]
TOKENS: list[Any] = [None, 12, 0, "12", "", "7", "12.5", " 3", -4]
OUTPUTS = ["It is done.", "", "   ", "\x1c\x1d", "\u3000", "x" * 2100, " " * 2100 + "late"]
# A day before the run started, to the second: the rows these traces store are inside the
# store's TTL (a fixed old time has chDB's TTL merges drop rows at random), and the times
# are still the same for every test of the run.
START = (time.time_ns() // 10**9 - 86_400) * 10**9
_CODES = [Status.STATUS_CODE_UNSET] + [Status.STATUS_CODE_OK] * 3 + [Status.STATUS_CODE_ERROR]


def _kv(key: str, value: Any) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def _tool(rng: random.Random) -> dict[str, Any]:
    found: dict[str, Any] = {"gen_ai.operation.name": "execute_tool"}
    name_key = rng.choice(["gen_ai.tool.name", "tool.name", None])
    if name_key:
        found[name_key] = rng.choice(TOOLS)
    found["gen_ai.tool.call.arguments"] = rng.choice(ARGUMENTS)
    tokens = rng.choice(TOKENS)
    if tokens is not None:
        found[rng.choice(["gen_ai.usage.input_tokens", "llm.token_count.prompt"])] = tokens
    return found


def _llm(rng: random.Random) -> dict[str, Any]:
    found: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "gen_ai.input.messages": _messages("user", "Where is my refund?"),
        "gen_ai.output.messages": _messages("assistant", rng.choice(OUTPUTS)),
    }
    if rng.random() < 0.7:
        found["gen_ai.usage.input_tokens"] = rng.randrange(0, 300)
        found["gen_ai.usage.output_tokens"] = rng.randrange(0, 300)
    return found


def _agent(rng: random.Random) -> dict[str, Any]:
    found: dict[str, Any] = {"gen_ai.operation.name": "invoke_agent"}
    if rng.random() < 0.6:
        found["gen_ai.agent.name"] = rng.choice(["helper", "planner"])
    if rng.random() < 0.7:
        found["output.value"] = rng.choice(OUTPUTS)
    return found


def _chain(rng: random.Random) -> dict[str, Any]:
    found: dict[str, Any] = {"openinference.span.kind": "CHAIN"}
    if rng.random() < 0.7:
        found["output.value"] = rng.choice(OUTPUTS)
    return found


_MADE: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "tool": _tool,
    "llm": _llm,
    "agent": _agent,
    "chain": _chain,
    "rerank": lambda rng: {
        "openinference.span.kind": "RERANKER",
        "reranker.output_documents.0.document.content": "Refunds take 5 days.",
    },
    "embedding": lambda rng: {"openinference.span.kind": "EMBEDDING"},
    "other": lambda rng: {"http.route": "/ask"},
}


def _attributes(rng: random.Random, kind: str, root: bool) -> dict[str, Any]:
    """Attributes of a span of ``kind``, with the variations the signals read."""
    found: dict[str, Any] = _MADE[kind](rng)
    if root and rng.random() < 0.5:
        found["watchkeeper.route"] = rng.choice(["support", "billing"])
    if rng.random() < 0.15:
        found["error.type"] = "Timeout"
    return found


def _rare(rng: random.Random, kind: str, found: dict[str, Any]) -> None:
    """What the core leaves to Python: a session, a retrieval, a declared schema."""
    roll = rng.random()
    if roll < 0.04:
        found["gen_ai.conversation.id"] = f"s{rng.randrange(3)}"
    elif roll < 0.07 and kind == "tool":
        found["tool.parameters"] = '{"type": "object"}'
    elif roll < 0.09:
        found["openinference.span.kind"] = "RETRIEVER"
        found.pop("gen_ai.operation.name", None)
        found["retrieval.documents.0.document.content"] = "Refunds take 5 days."


def _trace(rng: random.Random, n: int) -> list[Span]:
    """One trace: a root of any kind and a few children, times that often tie."""
    trace_id = rng.getrandbits(128).to_bytes(16, "big")
    kinds = [rng.choice(["agent", "chain", "other", "llm", "tool"])]
    kinds += [
        rng.choice(["tool", "tool", "llm", "agent", "rerank", "embedding", "other"])
        for _ in range(rng.randrange(0, 7))
    ]
    spans: list[Span] = []
    for i, kind in enumerate(kinds):
        found = _attributes(rng, kind, root=i == 0)
        _rare(rng, kind, found)
        start = START + n * 10**6 + rng.choice([0, 1, 1, 2, 3, 5, 8])
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=rng.getrandbits(64).to_bytes(8, "big"),
                parent_span_id=b"" if i == 0 else spans[0].span_id,
                name=f"{kind} {i % 3}",
                start_time_unix_nano=start,
                end_time_unix_nano=start + rng.choice([0, 5, 5, 9, 20]),
                status=Status(code=rng.choice(_CODES)),
                attributes=[_kv(k, v) for k, v in found.items()],
            )
        )
    if rng.random() < 0.05:
        spans[0].parent_span_id = b"\x01" * 8  # no root: held, scored as partial later
    return spans


def _payload(spans: list[Span]) -> Payload:
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=[_kv("service.name", "agent-app")]),
                scope_spans=[ScopeSpans(spans=spans)],
            )
        ]
    )
    return Payload(request.SerializeToString(), "test")


def random_batches(seed: int, batches: int = 6, size: int = 60) -> list[list[Payload]]:
    """Payloads of one trace each, some of two traces, some traces split in two."""
    rng = random.Random(seed)
    out = []
    n = 0
    for _ in range(batches):
        payloads = []
        for _ in range(size):
            n += 1
            spans = _trace(rng, n)
            roll = rng.random()
            if roll < 0.1 and len(spans) > 1:
                cut = rng.randrange(1, len(spans))
                payloads += [_payload(spans[:cut]), _payload(spans[cut:])]
            elif roll < 0.2:
                n += 1
                payloads.append(_payload(spans + _trace(rng, n)))
            else:
                payloads.append(_payload(spans))
        rng.shuffle(payloads)
        out.append(payloads)
    return out


def _rows(prepared: PreparedBatch) -> dict[str, Any]:
    scores = sorted(
        (
            call.trace_id,
            call.span_id,
            call.service_name,
            call.route,
            call.request_model,
            call.status_code,
            call.timestamp_ns,
            call.duration_ns,
            call.span_name,
            sorted((k, v) for k, v in values.items() if k.startswith("trajectory.")),
        )
        for call, values in prepared.batch.scores.per_call()
    )
    return {
        "scores": scores,
        "alarms": sorted(json.dumps(a, sort_keys=True, default=str) for a in prepared.batch.alarms),
        "reviews": sorted(
            json.dumps(item, sort_keys=True, default=str) for item in prepared.batch.review_items
        ),
    }


def _run(store: Store, batches: list[list[Payload]]) -> tuple[list[dict[str, Any]], int]:
    stage = TraceSignalStage(queues=default_queues())
    pipeline = Pipeline(store, trace_signals=stage)
    pipeline.detect = DetectorStage([])  # the rows compared are the stage's
    found = [_rows(pipeline.prepare(payloads)) for payloads in batches]
    return found, stage.scored


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_summarised_traces_get_the_rows_python_gives_them(
    store: Store, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Random agent traces through the pipeline twice: once as it runs (the core's
    summaries taken), once with every summary left out (the Python stage scores every
    trace); rows, alarms, review items and the count of scored traces are the same, and
    most traces were summarised."""
    batches = random_batches(seed)
    taken: list[int] = []
    real = take_summarised

    def counting(*args: Any) -> Taken:
        result = real(*args)
        taken.append(len(result.summaries))
        return result

    monkeypatch.setattr(stage_module, "take_summarised", counting)
    with_core, scored = _run(store, batches)
    monkeypatch.setattr(native_decode, "SPAN_COLUMNS", False)  # every span a value
    monkeypatch.setattr(
        stage_module,
        "take_summarised",
        lambda s, calls, spans, traces, columns=(): Taken([], calls, spans, Parts.empty()),
    )
    python, scored_python = _run(store, batches)
    assert scored == scored_python
    for ours, theirs in zip(with_core, python, strict=True):
        assert ours == theirs
    assert sum(taken) > 0.3 * sum(len(b) for b in batches)
