"""CPU cost per observed call: ours, a plain OpenTelemetry span, langfuse, and no tracing.

Run: ``make bench-sdk`` (or ``python -m bench.sdk.overhead``). Every variant
runs the same workload: a function taking a 500-character prompt and returning a
500-character answer, traced with the model name, token counts and a user id. Each
variant runs in its own fresh process (no shared state, no warm caches from another
variant), exporting over OTLP/HTTP to a stand-in receiver in yet another process (so
receiving costs the measured process nothing). Rounds alternate between variants so
that a noisy neighbour hurts them alike; the table reports the median round.

Per call, in the same run:

- **calling thread**: ``time.thread_time()`` of the thread making the calls, over the
  calls only: what the app's request handler pays;
- **whole process**: ``time.process_time()`` over the calls *and* the flushes that
  export them (span construction, encoding, export, on every thread).

Calls come in bursts of ``--burst`` with a flush after each, so every exporter keeps
up and nothing is dropped (checked), as in an app whose calls are not back to back.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

PROMPT = ("Summarize the refund policy for an order placed 45 days ago, paid by card. " * 8)[:500]
ANSWER = ("Orders can be refunded within 30 days; after that we offer store credit. " * 8)[:500]
MODEL = "gpt-4o-mini"
INPUT_TOKENS, OUTPUT_TOKENS = 120, 130
USER = "user-42"

VARIANTS = ("bare", "watchkeeper", "watchkeeper_redact", "otel", "langfuse")
LABELS = {
    "bare": "bare function (no tracing)",
    "watchkeeper": "watchkeeper `@observe`",
    "watchkeeper_redact": "watchkeeper `@observe`, `redact=True`",
    "otel": "OpenTelemetry span + BatchSpanProcessor + OTLP",
    "langfuse": 'langfuse `@observe(as_type="generation")`',
}

Setup = tuple[Callable[[str], str], Callable[[], object], Callable[[], dict[str, int]]]


def _watchkeeper(endpoint: str, *, redact: bool) -> Setup:
    from watchkeeper.sdk import configure, current_call, flush, observe, stats

    configure("otlp", endpoint=endpoint, redact=redact, service_name="bench")

    @observe(model=MODEL, provider="openai")
    def answer(prompt: str) -> str:
        call = current_call()
        call.set_usage(INPUT_TOKENS, OUTPUT_TOKENS)
        call.set_user(USER)
        return ANSWER

    def counts() -> dict[str, int]:
        snapshot = stats()
        return {"exported": snapshot["spans_exported"], "dropped": snapshot["spans_dropped"]}

    return answer, lambda: flush(60), counts


def _otel(endpoint: str) -> Setup:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind

    exported = [0]

    class CountingExporter(OTLPSpanExporter):
        def export(self, spans: Any) -> Any:
            result = super().export(spans)
            exported[0] += len(spans)
            return result

    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(BatchSpanProcessor(CountingExporter(endpoint=endpoint)))
    tracer = provider.get_tracer("bench")
    route = f"{__name__}.answer"

    def answer(prompt: str) -> str:
        # What an instrumented app does by hand: the same attributes ours carries,
        # messages as GenAI JSON encoded on the calling thread.
        with tracer.start_as_current_span(
            f"chat {MODEL}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": MODEL,
                "code.function.name": route,
                "watchkeeper.route": route,
                "gen_ai.input.messages": json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": prompt}]}]
                ),
            },
        ) as span:
            result = ANSWER
            span.set_attributes(
                {
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "parts": [{"type": "text", "content": result}]}]
                    ),
                    "gen_ai.usage.input_tokens": INPUT_TOKENS,
                    "gen_ai.usage.output_tokens": OUTPUT_TOKENS,
                    "user.id": USER,
                    "watchkeeper.sample_rate": 1.0,
                }
            )
            return result

    return answer, lambda: provider.force_flush(60_000), lambda: {"exported": exported[0]}


def _langfuse(base_url: str) -> Setup:
    from langfuse import Langfuse, get_client, observe, propagate_attributes

    # Its OTLP exporter posts to {base_url}/api/public/otel/v1/traces: our stand-in
    # receiver answers 200, so its whole export path runs as against a real server.
    # Compression off, like the other variants (langfuse's default is gzip).
    Langfuse(
        public_key="pk-lf-bench",
        secret_key="sk-lf-bench",
        base_url=base_url,
        tracing_enabled=True,
        otel_compression="none",
    )
    client = get_client()

    @observe(as_type="generation")
    def answer(prompt: str) -> str:
        with propagate_attributes(user_id=USER):
            client.update_current_generation(
                model=MODEL, usage_details={"input": INPUT_TOKENS, "output": OUTPUT_TOKENS}
            )
            return ANSWER

    return answer, client.flush, lambda: {}


def _bare() -> Setup:
    def answer(prompt: str) -> str:
        return ANSWER

    return answer, lambda: None, lambda: {}


def _setup(variant: str, port: int) -> Setup:
    base = f"http://127.0.0.1:{port}"
    if variant == "bare":
        return _bare()
    if variant == "watchkeeper":
        return _watchkeeper(f"{base}/v1/traces", redact=False)
    if variant == "watchkeeper_redact":
        return _watchkeeper(f"{base}/v1/traces", redact=True)
    if variant == "otel":
        return _otel(f"{base}/v1/traces")
    if variant == "langfuse":
        return _langfuse(base)
    raise ValueError(f"unknown variant {variant!r}")


def measure(variant: str, port: int, calls: int, burst: int) -> dict[str, Any]:
    """One round of one variant, in this process."""
    answer, flush, counts = _setup(variant, port)
    for _ in range(burst * 4):  # warm-up: imports, connections, caches
        answer(PROMPT)
    flush()
    before = counts()
    caller = 0.0
    bursts = max(1, calls // burst)
    process_start = time.process_time()
    for _ in range(bursts):
        thread_start = time.thread_time()
        for _ in range(burst):
            answer(PROMPT)
        caller += time.thread_time() - thread_start
        flush()
    process = time.process_time() - process_start
    after = counts()
    done = bursts * burst
    return {
        "variant": variant,
        "calls": done,
        "thread_us": caller / done * 1e6,
        "process_us": process / done * 1e6,
        **{key: after[key] - before.get(key, 0) for key in after},
    }


def _run_round(variant: str, port: int, calls: int, burst: int) -> dict[str, Any]:
    command = [sys.executable, "-m", __spec__.name if __spec__ else "bench.sdk.overhead"]
    command += ["--variant", variant, "--port", str(port), "--calls", str(calls)]
    command += ["--burst", str(burst)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if completed.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _table(results: dict[str, list[dict[str, Any]]]) -> str:
    median = {
        variant: {
            key: statistics.median(r[key] for r in rounds) for key in ("thread_us", "process_us")
        }
        for variant, rounds in results.items()
    }
    ours = median.get("watchkeeper")
    lines = [
        "| variant | calling thread µs/call | whole process µs/call "
        "| x watchkeeper (thread / process) |",
        "|---|---:|---:|---:|",
    ]
    for variant, values in median.items():
        thread, process = values["thread_us"], values["process_us"]
        ratio = "-"
        if ours and variant != "bare":
            ratio = f"{thread / ours['thread_us']:.1f} / {process / ours['process_us']:.1f}"
        lines.append(f"| {LABELS[variant]} | {thread:.1f} | {process:.1f} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    """Run every variant, print the table (and the raw rounds as JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--burst", type=int, default=256, help="calls between flushes")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json", help="write every round's numbers to this file")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # internal: one round
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.variant:
        print(json.dumps(measure(args.variant, args.port, args.calls, args.burst)))
        return

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.sdk.otlp_sink"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stdout is not None
        port = int(sink.stdout.readline())
        results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        for round_number in range(args.rounds):
            # Rotate the order so no variant always runs first (or last) in a round.
            shift = round_number % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                outcome = _run_round(variant, port, args.calls, args.burst)
                results[variant].append(outcome)
                print(f"round {round_number + 1} {json.dumps(outcome)}", file=sys.stderr)
    finally:
        if sink.stdin is not None:
            sink.stdin.close()
        sink.wait(timeout=10)
    for variant in ("watchkeeper", "watchkeeper_redact"):
        for outcome in results.get(variant, []):
            if outcome.get("dropped") or outcome.get("exported") != outcome["calls"]:
                raise SystemExit(f"{variant}: spans were dropped or not exported: {outcome}")
    print(
        f"{args.rounds} rounds of {args.calls} calls (bursts of {args.burst}), "
        f"median round; Python {sys.version.split()[0]}"
    )
    print(_table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
