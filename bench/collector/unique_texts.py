"""Benchmark messages whose LLM texts no other call has.

The benchmarks' texts come from a corpus of a few hundred conversations
(``tests/support/otlp_messages.texts``), so every text repeats many times in a run, and
whatever remembers texts (analyses, verdicts, consistency look-ups) answers from memory
far more often than on live traffic, whose prompts and answers rarely repeat word for
word. :func:`unique_texts` wraps a message maker so that each call's prompt and answer end
with the call's own tag. The tag holds no run of seven digits and separators (the run id's
digits are written as letters): such a run sends every answer through the PII detector's
patterns, a cost of answers with numbers in them, not of unique texts. The call's number
is written with six digits, so every tag has the same length: texts that grow by a
character at call 10, 100, 1,000... move the input-length detector, which would alarm.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

#: Makes message ``i`` of run ``run``: (key, value).
Message = Callable[[int, str], tuple[bytes, bytes]]

#: The span attributes that hold the texts (JSON strings of GenAI messages).
TEXT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages")


def tagged(value: bytes, tag: str) -> bytes:
    """The request ``value`` with `` tag`` after the first part of each GenAI message
    attribute of every span."""
    request = ExportTraceServiceRequest.FromString(value)
    for resource in request.resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                for attribute in span.attributes:
                    if attribute.key in TEXT_KEYS:
                        messages = json.loads(attribute.value.string_value)
                        messages[0]["parts"][0]["content"] += f" {tag}"
                        attribute.value.string_value = json.dumps(messages)
    return bytes(request.SerializeToString())


#: Digits as letters, for the run id in a tag.
_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def unique_texts(make: Message, word: str | None = None) -> Message:
    """``make`` with ``[run/i]`` after each call's prompt and answer (the run id's digits as
    letters, ``i`` in six digits), or ``[word/i]`` with ``word`` as given."""

    def unique(i: int, run: str) -> tuple[bytes, bytes]:
        key, value = make(i, run)
        name = run.translate(_LETTERS) if word is None else word
        return key, tagged(value, f"[{name}/{i:06d}]")

    return unique
