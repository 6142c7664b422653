"""Any Python string an app hands the SDK comes out as valid OTLP (property-style).

Python strings may hold lone surrogates (bad decoders, ``surrogateescape`` file names,
JSON ``\\ud800`` escapes); UTF-8 cannot carry them, and a receiver rejects a whole
request with one invalid string in it. Arbitrary strings from a seeded generator go
through ``@observe`` in every place text can enter (prompt, answer, chat messages,
attribute keys and values, user id, model and span name, documents, tool arguments,
events, exception messages, the service name) and through the SDK's own OTLP encoder;
the bytes must parse with the official ``opentelemetry.proto`` classes, and every text
must come out as it went in, except that a lone surrogate becomes U+FFFD and a
surrogate pair the character it encodes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tests.sdk.stats_delta import StatsDelta
from watchkeeper.sdk import attributes, configure, current_call, observe, testing
from watchkeeper.sdk.otlp import Envelope, encode_request
from watchkeeper.sdk.span_data import EventData, SpanData
from watchkeeper.sdk.utf8 import to_utf8, without_lone_surrogates

SEED = 20_240_917
CASES = 120
"""Random strings per run (bounded: each makes four spans)."""

FIXED = ["", "lone\ud800x", "\ud83d\ude00", "\udc80", "a\ud800", "\udbff\udfff\ud800", "ok"]


def expected(text: str) -> str:
    """What the SDK should make of ``text``, written independently of the SDK."""
    out = []
    index = 0
    while index < len(text):
        code = ord(text[index])
        following = ord(text[index + 1]) if index + 1 < len(text) else 0
        if 0xD800 <= code <= 0xDBFF and 0xDC00 <= following <= 0xDFFF:
            out.append(chr(0x10000 + ((code - 0xD800) << 10) + (following - 0xDC00)))
            index += 2
            continue
        out.append("\ufffd" if 0xD800 <= code <= 0xDFFF else text[index])
        index += 1
    return "".join(out)


Pick = Callable[[random.Random], str]
PIECES: list[Pick] = [
    lambda r: chr(r.randint(0x20, 0x7E)),  # printable ASCII
    lambda r: chr(r.randint(0x00, 0x1F)),  # control characters, NUL included
    lambda r: r.choice('"\\/'),  # what JSON escapes
    lambda r: chr(r.randint(0x80, 0x7FF)),  # two UTF-8 bytes
    lambda r: chr(r.randint(0x800, 0xD7FF)),  # three, below the surrogates
    lambda r: chr(r.randint(0xE000, 0xFFFF)),  # three, above them (U+FFFE/U+FFFF too)
    lambda r: chr(r.randint(0x10000, 0x10FFFF)),  # four
    lambda r: chr(r.randint(0xD800, 0xDBFF)),  # a high surrogate
    lambda r: chr(r.randint(0xDC00, 0xDFFF)),  # a low surrogate
    lambda r: chr(r.randint(0xD800, 0xDBFF)) + chr(r.randint(0xDC00, 0xDFFF)),  # a pair
]


def random_texts(seed: int, count: int) -> list[str]:
    """``count`` strings of arbitrary code points, short and long (the encoder treats
    strings over 64 characters apart), surrogates of every kind among them."""
    generator = random.Random(seed)
    texts = []
    for _ in range(count):
        length = generator.choice([generator.randint(0, 8), generator.randint(0, 64)])
        if generator.random() < 0.25:
            length = generator.randint(65, 400)
        texts.append("".join(generator.choice(PIECES)(generator) for _ in range(length)))
    return texts


TEXTS = FIXED + random_texts(SEED, CASES)


def test_the_generator_makes_what_the_test_needs() -> None:
    """Lone surrogates (high and low), pairs, long strings and plain ones all occur."""
    joined = "".join(TEXTS)
    assert any(0xD800 <= ord(char) <= 0xDBFF for char in joined)
    assert any(0xDC00 <= ord(char) <= 0xDFFF for char in joined)
    assert any(len(text) > 64 for text in TEXTS)  # the encoder's short/long split
    assert any(expected(text) != text for text in TEXTS)
    assert any(expected(text) == text and text for text in TEXTS)


@pytest.mark.parametrize("text", FIXED + random_texts(SEED + 1, 200))
def test_repair_matches_the_independent_rule(text: str) -> None:
    """without_lone_surrogates and to_utf8 do what the reference rule says, and leave
    valid text untouched (the very same object)."""
    assert without_lone_surrogates(text) == expected(text)
    assert to_utf8(text) == expected(text).encode("utf-8")
    valid = expected(text)
    assert without_lone_surrogates(valid) is valid


def decoded_spans(payload: bytes) -> list[dict[str, Any]]:
    """Every span of an OTLP request, parsed by opentelemetry-proto, as plain data."""
    request = ExportTraceServiceRequest.FromString(payload)  # raises on invalid UTF-8
    spans = []
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                events = [
                    (event.name, {kv.key: value_of(kv.value) for kv in event.attributes})
                    for event in span.events
                ]
                spans.append(
                    {
                        "name": span.name,
                        "status": span.status.message,
                        "attributes": {kv.key: value_of(kv.value) for kv in span.attributes},
                        "events": events,
                    }
                )
    return spans


def value_of(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [value_of(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


def content(attribute: Any) -> str:
    """The text of the only part of the only message of a GenAI messages attribute."""
    (message,) = json.loads(attribute)
    (part,) = message["parts"]
    return str(part["content"])


@observe(model="m")
def answer(prompt: str, case: int) -> str:
    """Every way a call records text, with the case's text in each."""
    call = current_call()
    call.set_attribute("case", case)
    call.set_attribute("odd." + prompt, prompt)
    call.set_attribute("odd.list", [prompt, "plain"])
    call.set_user(prompt)
    call.set_model(prompt)
    call.add_documents([prompt])
    trace.get_current_span().add_event(prompt, {"odd.event": prompt})
    return prompt


@observe
def chat(messages: list[dict[str, str]], case: int) -> dict[str, str]:
    current_call().set_attribute("case", case)
    return {"role": "assistant", "content": messages[0]["content"]}


@observe(operation="execute_tool")
def tool(query: str, case: int) -> dict[str, str]:
    current_call().set_attribute("case", case)
    return {"found": query}


class AppError(Exception):
    """The app's own exception, carrying the case's text."""


@observe
def failing(prompt: str, case: int) -> None:
    current_call().set_attribute("case", case)
    raise AppError(prompt)


def run_cases(texts: list[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Call every function with every text; yield (kind, text, decoded span)."""
    for case, text in enumerate(texts):
        assert answer(text, case) == text  # the app gets its own text back, untouched
        chat([{"role": "user", "content": text}], case)
        tool(text, case)
        with pytest.raises(AppError) as raised:
            failing(text, case)
        assert raised.value.args == (text,)
    spans = decoded_spans(testing.finished_payload())
    assert len(spans) == 4 * len(texts)  # one bad string costs no other call
    kinds = ["answer", "chat", "tool", "failing"]
    for index, span in enumerate(spans):
        yield kinds[index % 4], texts[span["attributes"]["case"]], span


def test_arbitrary_text_through_observe_is_valid_otlp_and_preserved(
    stats_delta: StatsDelta,
) -> None:
    """The whole batch parses; every text reads back as expected(text) wherever it went."""
    for kind, text, span in run_cases(TEXTS):
        fixed = expected(text)
        attrs = span["attributes"]
        if kind == "answer":
            model = fixed or "m"  # an empty model set in the call leaves the decorator's
            assert span["name"] == f"chat {model}"
            assert attrs[attributes.REQUEST_MODEL] == model
            assert attrs[attributes.USER_ID] == fixed
            assert attrs["odd." + fixed] == fixed
            assert attrs["odd.list"] == [fixed, "plain"]
            assert content(attrs[attributes.INPUT_MESSAGES]) == fixed
            assert content(attrs[attributes.OUTPUT_MESSAGES]) == fixed
            (document,) = json.loads(attrs[attributes.RETRIEVAL_DOCUMENTS])
            assert document["content"] == fixed
            assert span["events"] == [(fixed, {"odd.event": fixed})]
        elif kind == "chat":
            assert content(attrs[attributes.INPUT_MESSAGES]) == fixed
            assert content(attrs[attributes.OUTPUT_MESSAGES]) == fixed
        elif kind == "tool":
            assert json.loads(attrs[attributes.TOOL_CALL_ARGUMENTS])["query"] == fixed
            assert json.loads(attrs[attributes.TOOL_CALL_RESULT]) == {"found": fixed}
        else:
            assert span["status"] == f"AppError: {fixed}"
            ((name, event),) = span["events"]
            assert name == "exception"
            assert event["exception.message"] == fixed
    assert stats_delta["internal_errors"] == 0


def test_opentelemetry_exporters_get_the_same_valid_text() -> None:
    """Spans handed to OpenTelemetry ``SpanExporter``s (as ReadableSpans) carry the same
    repaired text: OpenTelemetry's encoder accepts them and writes what ours writes."""
    configure("memory", service_name="svc")
    list(run_cases(TEXTS[:40]))
    ours = MessageToDict(ExportTraceServiceRequest.FromString(testing.finished_payload()))
    theirs = MessageToDict(encode_spans(list(testing.finished_spans())))
    assert ours == theirs


@pytest.mark.parametrize("text", FIXED[:6])
def test_service_name_and_envelope_text_are_repaired(text: str) -> None:
    """The resource (e.g. a service name from a non-UTF-8 environment variable), the
    scope, event names and status messages are repaired like span text."""
    span = SpanData(
        trace_id=1, span_id=2, parent_span_id=0, name=text, start_ns=1, end_ns=2,
        attributes={text: text}, status_code=2, status_message=text,
        events=[EventData(text, 1, {text: [text]})],
    )  # fmt: skip
    payload = encode_request(Envelope({"service.name": text}, text, text), [span])
    request = ExportTraceServiceRequest.FromString(payload)
    fixed = expected(text)
    resource_spans = request.resource_spans[0]
    assert resource_spans.resource.attributes[0].value.string_value == fixed
    scope_spans = resource_spans.scope_spans[0]
    assert (scope_spans.scope.name, scope_spans.scope.version) == (fixed, fixed)
    (decoded,) = decoded_spans(payload)
    assert decoded == {
        "name": fixed,
        "status": fixed,
        "attributes": {fixed: fixed},
        "events": [(fixed, {fixed: [fixed]})],
    }
