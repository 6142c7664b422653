"""Seeded traffic with a planted drift, through the real pipeline (detectors, review
routing, store), spread over the last hour so the overview has a line to draw.

The traffic is the demo's (``watchkeeper.collector.demo``): ordinary support questions,
then after ``drift_after`` calls users paste logs into them. The detectors see the calls
as they would arrive; only their start times are set, one every ``spacing_s`` seconds,
ending about now.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from watchkeeper.collector.demo.app import MODEL, best_article
from watchkeeper.collector.demo.traffic import DemoTraffic
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.record import CallRecord

SERVICE = "lumen-support-bot"
ROUTE = "support/answer"
KEY = f"{SERVICE}|{ROUTE}|{MODEL}"
_REFUSAL = "I'm sorry, I can only help with Lumen Notes. Please contact support@lumen.example."


@dataclass(frozen=True)
class Seeded:
    """What was sent: the calls in order, the first drifted one's start (ns)."""

    calls: list[CallRecord]
    drift_starts_ns: int


def demo_calls(
    n: int = 600, *, drift_after: int = 300, spacing_s: float = 5.0, seed: int = 7
) -> Seeded:
    """``n`` call records of the demo's traffic, the last one starting a minute ago."""
    traffic = DemoTraffic(seed=seed, drift_after=drift_after)
    rng = random.Random(seed)
    end_ns = time.time_ns() - 60 * 1_000_000_000
    step_ns = int(spacing_s * 1e9)
    calls = []
    for i in range(n):
        request = traffic.next()
        article = best_article(request.question)
        reply = article.answer if article is not None else _REFUSAL
        start = end_ns - (n - 1 - i) * step_ns
        calls.append(
            CallRecord(
                trace_id=f"{rng.getrandbits(128):032x}",
                span_id=f"{rng.getrandbits(64):016x}",
                timestamp_ns=start,
                duration_ns=int((0.2 + rng.random() * 0.3 + request.delay_s) * 1e9),
                service_name=SERVICE,
                span_name="answer",
                route=ROUTE,
                operation="chat",
                provider="watchkeeper.demo",
                request_model=MODEL,
                response_model=MODEL,
                input_text=request.question,
                output_text="" if request.fail else reply,
                input_tokens=max(1, len(request.question) // 4),
                output_tokens=0 if request.fail else max(1, len(reply) // 4),
                status_code="ERROR" if request.fail else "OK",
                error_type="UpstreamTimeoutError" if request.fail else "",
                user_id=request.user_id,
                source="test",
            )
        )
    return Seeded(calls, calls[drift_after].timestamp_ns)


def seed(pipeline: Pipeline, seeded: Seeded, batch: int = 100) -> None:
    """Run the calls through the pipeline in order, ``batch`` at a time."""
    for start in range(0, len(seeded.calls), batch):
        pipeline.process_calls(seeded.calls[start : start + batch], source="test")
    pipeline.flush_review()
