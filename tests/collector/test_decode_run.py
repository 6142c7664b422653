"""The core's run over a batch's payloads (``decode_run``) prepares exactly what decoding
payload by payload does: same calls in the same order, feedback, skips and dead letters,
whatever the mix of plain, unusual, JSON, bad and empty payloads and sources."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.collector.otlp_payloads import answer_spans, feedback_payload, protobuf_payload
from tests.collector.test_decode import _otlp_json
from tests.support.otlp_messages import message
from tests.traces.agent_payloads import agent_trace, payload
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.processors import native_decode
from watchkeeper.collector.processors.decode import MAX_PAYLOAD_BYTES, decode_request
from watchkeeper.collector.store.store import Store


def _with_plain_spans(payload: bytes) -> bytes:
    """The payload with a copy of each span that is no LLM call (no attributes): skipped."""
    request = decode_request(payload, "protobuf")
    spans = request.resource_spans[0].scope_spans[0].spans
    for span in list(spans):
        plain = Span()
        plain.CopyFrom(span)
        del plain.attributes[:]
        spans.append(plain)
    return request.SerializeToString()


def _with_double(payload: bytes) -> bytes:
    """A double attribute, whose text is Python's float formatting: read with the GIL."""
    request = decode_request(payload, "protobuf")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.attributes.append(KeyValue(key="app.ratio", value=AnyValue(double_value=0.1)))
    return request.SerializeToString()


def _with_numeric_service(payload: bytes) -> bytes:
    """A service name that is a number: the Python normaliser's ``str()`` makes it."""
    request = decode_request(payload, "protobuf")
    for attribute in request.resource_spans[0].resource.attributes:
        if attribute.key == "service.name":
            attribute.value.CopyFrom(AnyValue(int_value=7))
    return request.SerializeToString()


def _with_note(payload: bytes) -> bytes:
    """A long attribute on every span."""
    request = decode_request(payload, "protobuf")
    for span in request.resource_spans[0].scope_spans[0].spans:
        span.attributes.append(KeyValue(key="app.note", value=AnyValue(string_value="n" * 900)))
    return request.SerializeToString()


def _mixed_batch(rng: random.Random) -> list[Payload]:
    plain = [message(i, "run")[1] for i in range(40)]
    plain += [payload(agent_trace()) for _ in range(5)]  # agents, tools, retrievers ...
    plain += [_with_plain_spans(message(i, "skip")[1]) for i in range(10)]
    plain += [_with_double(message(i, "double")[1]) for i in range(5)]
    plain += [_with_numeric_service(message(i, "service")[1]) for i in range(5)]
    several = protobuf_payload(answer_spans(5, fail_every=2))
    kinds: list[Payload] = []
    for i in range(120):
        kind = rng.randrange(10)
        source = "kafka" if rng.random() < 0.8 else "http"
        if kind < 5:
            kinds.append(Payload(rng.choice(plain), source, None, f"t/0/{i}"))
        elif kind == 5:
            kinds.append(Payload(several, source, rng.choice([None, "protobuf"]), f"t/0/{i}"))
        elif kind == 6:
            kinds.append(Payload(feedback_payload()[0], source, None, f"t/0/{i}"))
        elif kind == 7:
            kinds.append(Payload(_otlp_json(rng.choice(plain)), source, rng.choice([None, "json"])))
        elif kind == 8:
            data = bytearray(rng.choice(plain))
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            kinds.append(Payload(bytes(data), source, None, f"t/0/{i}"))
        else:
            kinds.append(Payload(rng.choice([b"", rng.randbytes(50), b" \n{}"]), source))
    return kinds


def _prepared(pipeline: Pipeline, payloads: list[Payload]) -> tuple[Any, ...]:
    prepared = pipeline.prepare(payloads)
    batch = prepared.batch
    return (
        [dataclasses.asdict(call) for call in batch.calls],
        batch.feedback,
        [dataclasses.astuple(letter) for letter in batch.dead_letters],
        prepared.result.skipped,
        prepared.result.rejected_payloads,
        [dataclasses.asdict(span) for span in prepared.spans],
    )


@pytest.mark.skipif(not native_decode.available(), reason="needs the compiled core")
def test_run_prepares_what_payload_by_payload_does(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(2611)
    batches = [_mixed_batch(rng) for _ in range(4)]
    # One long run, a run that must stop at a source change, and an oversized payload.
    batches.append([Payload(message(i, "run")[1], "kafka") for i in range(30)])
    batches.append(
        [Payload(message(i, "run")[1], "kafka" if i < 10 else "http") for i in range(20)]
        + [Payload(b"\n" * (MAX_PAYLOAD_BYTES + 1), "kafka")]
    )
    taken = 0
    counting = native_decode._TRACE_RUN
    assert counting is not None

    def count(*args: Any) -> Any:
        nonlocal taken
        out = counting(*args)
        taken += out[3] - args[1]
        return out

    monkeypatch.setattr(native_decode, "_TRACE_RUN", count)
    runs = [_prepared(Pipeline(store), batch) for batch in batches]
    # Payload by payload, the core making the rows of the spans that are not calls ...
    with monkeypatch.context() as patched:
        patched.setattr(native_decode, "decode_run", lambda payloads, start, columns: None)
        one_by_one = [_prepared(Pipeline(store), batch) for batch in batches]
    # ... and as a core that only counts them does: those spans decoded again and
    # finished in Python.
    monkeypatch.setattr(native_decode, "_TRACE_RUN", None)
    counted = [_prepared(Pipeline(store), batch) for batch in batches]
    monkeypatch.setattr(native_decode, "_RUN", None)
    counted_one_by_one = [_prepared(Pipeline(store), batch) for batch in batches]
    assert runs == one_by_one == counted == counted_one_by_one
    assert sum(len(calls) for calls, *_ in runs) > 300
    assert sum(len(letters) for _, _, letters, *_ in runs) > 30
    assert sum(skipped for *_, skipped, _, _ in runs) > 30
    assert sum(len(spans) for *_, spans in runs) > 30
    # Most payloads went through runs; the rest the way they always did.
    assert taken > sum(len(batch) for batch in batches) // 2


@pytest.mark.skipif(not native_decode.makes_rows(), reason="the compiled core is not installed")
def test_a_long_run_makes_the_columns_of_short_runs() -> None:
    """A run of more payloads than the core reads at a time (its buffers sized from the
    payloads read before) makes the same span columns, calls and summaries as short runs
    of the same payloads, put end to end."""
    import pyarrow as pa
    from bench.collector.trace_messages import trace_message

    # Later payloads hold more text than the first ones: the buffers outgrow their room.
    payloads = [Payload(trace_message(i, "long")[1], "bench") for i in range(1500)]
    payloads += [Payload(_with_note(trace_message(i, "note")[1]), "bench") for i in range(1100)]
    whole = native_decode.decode_run(payloads, 0)
    parts = [native_decode.decode_run(payloads[i : i + 300], 0) for i in range(0, 2600, 300)]
    assert whole is not None
    assert whole.columns is not None
    runs = [part for part in parts if part is not None]
    columns = [run.columns for run in runs if run.columns is not None]
    assert len(columns) == len(parts)
    assert whole.end == len(payloads)
    assert whole.columns.table.equals(pa.concat_tables(c.table for c in columns))
    assert whole.columns.trace_ids == [t for c in columns for t in c.trace_ids]
    assert whole.columns.run_rows == [n for c in columns for n in c.run_rows]
    assert whole.calls == [call for run in runs for call in run.calls]
    assert len(whole.summaries) == sum(len(run.summaries) for run in runs)
    assert len(whole.columns) > 5000
