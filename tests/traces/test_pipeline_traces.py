"""Whole traces through the pipeline: every span kept with its kind, assembled into the
same tree whatever the order or batching of its spans, partial when a parent is missing."""

from __future__ import annotations

import pytest

from tests.traces.agent_payloads import EXPECTED_KINDS, EXPECTED_PARENTS, agent_trace, payload
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.processors import native_decode
from watchkeeper.collector.store.spans import read_trace
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.traces.assemble import Trace, assemble
from watchkeeper.collector.traces.keep import TraceKeeper


@pytest.fixture(params=["core", "python"])
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both decoders: the compiled core's fast paths, and protobuf with the core off."""
    if request.param == "python":
        for name in ("_TRACE_RUN", "_RUN", "_DECODE", "_TRACES"):
            monkeypatch.setattr(native_decode, name, None)
    elif not native_decode.available():
        pytest.skip("the compiled core is not installed (WATCHKEEPER_NATIVE=0)")
    return str(request.param)


def _stored(store: Store, trace_id: str) -> Trace:
    return assemble(read_trace(store, trace_id))


def _names(trace: Trace) -> dict[str, str]:
    return {s.span_id: s.name for s in trace.spans}


def test_every_span_is_kept_with_its_kind_and_place(store: Store, decoder: str) -> None:
    """GenAI and OpenInference spans of one agent turn come back as one tree: kinds,
    parents, tool arguments/results, documents with scores, session and user ids; the LLM
    calls are still in ``calls``."""
    spans = agent_trace()
    trace_id = format(spans[0].context.trace_id, "032x")
    Pipeline(store).process([Payload(payload(spans), "test")])
    trace = _stored(store, trace_id)
    assert not trace.partial
    names = _names(trace)
    assert {s.name: s.kind for s in trace.spans} == EXPECTED_KINDS
    assert {s.name: names[s.parent_span_id] for s in trace.spans if s.parent_span_id} == (
        EXPECTED_PARENTS
    )
    by_name = {s.name: s for s in trace.spans}
    assert trace.root is by_name["invoke_agent helper"]
    assert trace.root.session_id == "session-1"
    assert trace.root.user_id == "user-7"
    tool = by_name["execute_tool search"]
    assert (tool.input_text, tool.output_text) == ('{"q": "weather Oslo"}', "sunny, 21 C")
    assert by_name["retrieve"].documents == (
        ("Oslo forecast: sunny", 0.9),
        ("Bergen forecast: rain", 0.4),
    )
    assert [d[0] for d in by_name["rerank"].documents] == [
        "Bergen forecast: rain",
        "Oslo forecast: sunny",
    ]
    assert by_name["chat answer"].output_text == "It is sunny in Oslo."
    assert by_name["format answer"].output_text == "nice"
    # Only the LLM spans are calls: not the agent, the retriever or the chain.
    assert {c["SpanName"] for c in store.calls_for_trace(trace_id)} == {"chat plan", "chat answer"}


def test_spans_out_of_order_across_batches_assemble_the_same(store: Store, decoder: str) -> None:
    """Spans arriving one per batch, children first and the root last, are all stored; the
    trace is partial until its root arrives, then whole."""
    spans = agent_trace()
    trace_id = format(spans[0].context.trace_id, "032x")
    pipeline = Pipeline(store)
    ordered = sorted(spans, key=lambda s: s.parent is None)  # the root last
    for i, span in enumerate(ordered):
        pipeline.process([Payload(payload([span]), "test")])
        trace = _stored(store, trace_id)
        assert len(trace.spans) == i + 1
        assert trace.partial == (i + 1 < len(ordered))
    whole = _stored(store, trace_id)
    assert {s.name: s.kind for s in whole.spans} == EXPECTED_KINDS
    depths = {s.name: d for d, s in whole.walk()}
    assert depths["retrieve"] == 2
    assert depths["GET /weather"] == 2


def test_missing_parent_shows_a_partial_trace(store: Store, decoder: str) -> None:
    """Without the tool span, its retrieval and rerank children are kept at the top of a
    partial trace, its parent id named as missing."""
    spans = agent_trace()
    tool = next(s for s in spans if s.name == "execute_tool search")
    trace_id = format(spans[0].context.trace_id, "032x")
    Pipeline(store).process([Payload(payload([s for s in spans if s is not tool]), "test")])
    trace = _stored(store, trace_id)
    assert trace.partial
    assert trace.missing_parents == {format(tool.context.span_id, "016x")}
    top = [s.name for s in trace.top_level()]
    assert top == ["invoke_agent helper", "retrieve", "rerank"]
    assert len(trace.spans) == len(spans) - 1


def test_trace_sampling_and_span_bound(store: Store, decoder: str) -> None:
    """At rate 0 no span row is stored but every LLM call is; a trace keeps at most
    ``max_spans_per_trace`` spans across batches, the rest counted."""
    spans = agent_trace()
    trace_id = format(spans[0].context.trace_id, "032x")
    Pipeline(store, traces=TraceKeeper(sample_rate=0.0)).process([Payload(payload(spans), "test")])
    assert read_trace(store, trace_id) == []
    assert store.calls_for_trace(trace_id)
    other = agent_trace()
    other_id = format(other[0].context.trace_id, "032x")
    keeper = TraceKeeper(max_spans_per_trace=3)
    pipeline = Pipeline(store, traces=keeper)
    pipeline.process([Payload(payload(other[:4]), "test")])
    pipeline.process([Payload(payload(other[4:]), "test")])
    assert len(read_trace(store, other_id)) == 3
    assert keeper.over_limit == len(other) - 3
    registry = pipeline.metrics.registry
    assert registry.get_sample_value("watchkeeper_trace_spans_over_limit_total") == len(other) - 3
    stored = sum(
        registry.get_sample_value("watchkeeper_trace_spans_stored_total", {"kind": kind}) or 0
        for kind in ("agent", "llm", "tool", "retrieval", "rerank", "chain", "other")
    )
    assert stored == 3


def test_an_exception_event_explains_a_failed_span(store: Store, decoder: str) -> None:
    """A failed tool span whose status has no message shows its recorded exception."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Status, StatusCode

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(
        "execute_tool lookup", attributes={"gen_ai.operation.name": "execute_tool"}
    ) as span:
        span.record_exception(KeyError("order 7"))
        span.set_status(Status(StatusCode.ERROR))
    spans = list(exporter.get_finished_spans())
    Pipeline(store).process([Payload(payload(spans), "test")])
    (stored,) = read_trace(store, format(spans[0].context.trace_id, "032x"))
    assert stored.status == "ERROR"
    assert stored.status_message == "KeyError: 'order 7'"
