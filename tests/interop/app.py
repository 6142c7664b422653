"""An LLM app using the official ``openai`` client, traced the way its users trace it.

The interop tests run it as its own process (an app is one), pointed at the fake OpenAI
server, exporting to the sidecar; configuration comes from the standard environment
variables, as in a real deployment::

    python -m tests.interop.app otel-openai-v2 --base-url http://127.0.0.1:PORT/v1 --calls 12

Instrumentations: ``otel-openai-v2`` (``opentelemetry-instrumentation-openai-v2``),
``openinference`` (``openinference-instrumentation-openai``), each with the OpenTelemetry
SDK and the standard OTLP/HTTP exporter (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``,
``OTEL_SERVICE_NAME``); and ``observe``, watchkeeper's own ``@observe`` for comparison
(``WATCHKEEPER_OTLP_ENDPOINT``, ``WATCHKEEPER_SERVICE_NAME``). Prints one JSON list of
``{"question", "answer"}`` on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

MODEL = "gpt-4o-mini"
SYSTEM = "You are the support assistant of an online shop. Answer briefly."
QUESTIONS = [
    "How do I reset my password?",
    "Where is my order?",
    "Can I return a gift without a receipt?",
    "Do you ship to Canada?",
    "How do I change my delivery address?",
    "Why was my card declined?",
]


def _ask(client: Any, question: str) -> Any:
    return client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
    )


def _with_opentelemetry(instrumentor: Any, client: Any, calls: Sequence[str]) -> list[str]:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create())  # OTEL_SERVICE_NAME
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # OTEL_EXPORTER_OTLP_*
    instrumentor.instrument(tracer_provider=provider)
    try:
        return [_ask(client, q).choices[0].message.content for q in calls]
    finally:
        provider.shutdown()  # flushes the batch processor


def _with_observe(client: Any, calls: Sequence[str]) -> list[str]:
    from watchkeeper.sdk import configure, observe, shutdown

    configure()  # WATCHKEEPER_OTLP_ENDPOINT, WATCHKEEPER_SERVICE_NAME

    @observe(model=MODEL, provider="openai", route="support/answer")
    def answer(question: str) -> Any:
        return _ask(client, question)

    try:
        return [answer(q).choices[0].message.content for q in calls]
    finally:
        shutdown()


def _instrumentor(name: str) -> Any:
    if name == "otel-openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        return OpenAIInstrumentor()
    from openinference.instrumentation.openai import OpenAIInstrumentor as OIInstrumentor

    return OIInstrumentor()


def main(argv: Sequence[str] | None = None) -> int:
    """Make ``--calls`` chat calls through the chosen instrumentation; print what happened."""
    parser = argparse.ArgumentParser(prog="python -m tests.interop.app")
    parser.add_argument("instrumentation", choices=["otel-openai-v2", "openinference", "observe"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--calls", type=int, default=len(QUESTIONS))
    args = parser.parse_args(argv)

    import openai

    client = openai.OpenAI(base_url=args.base_url, api_key="test-key", max_retries=0)
    calls = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.calls)]
    if args.instrumentation == "observe":
        answers = _with_observe(client, calls)
    else:
        answers = _with_opentelemetry(_instrumentor(args.instrumentation), client, calls)
    json.dump(
        [{"question": q, "answer": a} for q, a in zip(calls, answers, strict=True)], sys.stdout
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
