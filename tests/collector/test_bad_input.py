"""Bad input never stops the pipeline: every case lands in dead letters, counted, with a reason."""

from __future__ import annotations

import json
import random

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.store.store import Store

FUZZ_CASES = 3000


def _valid_request(n: int = 3) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    request.ParseFromString(protobuf_payload(answer_spans(n)))
    return request


def test_one_bad_span_is_dead_lettered_and_its_neighbours_are_stored(store: Store) -> None:
    """A span with broken ids or timestamp is rejected alone; the rest of the request lands."""
    request = _valid_request(4)
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[0].trace_id = b"\x01\x02"
    spans[1].start_time_unix_nano = 0
    pipeline = Pipeline(store)
    result = pipeline.process([Payload(request.SerializeToString(), "test")])
    assert (result.calls, result.dead_letters, result.rejected_payloads) == (2, 2, 0)
    assert store.count_calls() == 2
    assert store.dead_letter_counts() == {"bad_ids": 1, "bad_timestamp": 1}


def test_mistyped_attributes_are_coerced_not_fatal(store: Store) -> None:
    """Token counts as text, a model as a number, messages that are not JSON: stored anyway."""
    request = _valid_request(1)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.attributes.extend(
        [
            KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(string_value="many")),
            KeyValue(key="gen_ai.request.model", value=AnyValue(int_value=4)),
            KeyValue(key="gen_ai.output.messages", value=AnyValue(string_value="{not json")),
        ]
    )
    result = Pipeline(store).process([Payload(request.SerializeToString(), "test")])
    assert (result.calls, result.dead_letters) == (1, 0)


def _mutations(rng: random.Random, valid: bytes) -> bytes:  # noqa: PLR0911 - one return per kind
    kind = rng.randrange(7)
    if kind == 0:  # random bytes
        return rng.randbytes(rng.randrange(1, 400))
    if kind == 1:  # truncated
        return valid[: rng.randrange(1, len(valid))]
    if kind == 2:  # bit flips
        data = bytearray(valid)
        for _ in range(rng.randrange(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    if kind == 3:  # random JSON
        value = rng.choice([[], {}, 1, "x", None, {"resourceSpans": rng.choice([1, "a", [1]])}])
        return json.dumps(value).encode()
    if kind == 4:  # JSON with mistyped span fields
        span = {
            "traceId": rng.choice(["zz", "", "0" * 31, 5, "0af7651916cd43dd8448eb211c80319c"]),
            "spanId": rng.choice(["b7ad6b7169203331", "", "xyz", None]),
            "name": rng.choice(["llm", 7, None]),
            "startTimeUnixNano": rng.choice(["1700000000000000000", "soon", -1, 0]),
            "attributes": rng.choice(
                [[{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}], "x", [7]]
            ),
        }
        doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
        return json.dumps(doc).encode()
    if kind == 5:  # truncated JSON
        text = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "x"}]}]}]})
        return text[: rng.randrange(1, len(text))].encode()
    return b"\x00" * rng.randrange(1, 64)  # zeros


def test_fuzzed_payloads_never_stop_the_pipeline(store: Store) -> None:
    """Thousands of malformed payloads: no exception escapes, each is stored or dead-lettered.

    Every payload either yields calls, or is counted as a dead letter or skipped; afterwards
    a valid payload is still processed normally.
    """
    rng = random.Random(20261126)
    valid = protobuf_payload(answer_spans(3))
    pipeline = Pipeline(store)
    totals = {"calls": 0, "dead": 0, "payloads": 0}
    for _ in range(FUZZ_CASES // 100):
        payloads = [Payload(_mutations(rng, valid), "fuzz") for _ in range(100)]
        result = pipeline.process(payloads)
        totals["calls"] += result.calls
        totals["dead"] += result.dead_letters
        totals["payloads"] += len(payloads)
        # each payload produced a call, a dead letter, or (valid but empty/non-LLM) a skip
        assert result.calls + result.dead_letters + result.skipped >= 1
    assert totals["dead"] > FUZZ_CASES // 2
    counted = sum(store.dead_letter_counts().values())
    assert counted == totals["dead"]
    exposition = pipeline.metrics.exposition().decode()
    total_metric = sum(
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith("watchkeeper_dead_letters_total{")
    )
    assert total_metric == totals["dead"]
    before = store.count_calls()
    result = pipeline.process([Payload(protobuf_payload(answer_spans(2)), "test")])
    assert result.calls == 2
    assert store.count_calls() == before + 2
