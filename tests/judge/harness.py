"""A pipeline over a chDB store with judges attached, as the runtime attaches them."""

from __future__ import annotations

from typing import Any

from tests.collector.otlp_payloads import protobuf_payload, record_spans
from tests.judge.standin import StandIn
from watchkeeper.collector.judge.start import build_judges, hand_over
from watchkeeper.collector.judge.worker import JudgeWorkers
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.settings import Settings, load_settings
from watchkeeper.collector.store.store import Store
from watchkeeper.sdk import observe


def judge_settings(standin: StandIn, **keys: Any) -> Settings:
    """Settings with the default judge on the stand-in, judging every call (``keys``:
    more flat keys, e.g. ``judge_dimensions="helpfulness"``)."""
    flat = {
        "judge_base_url": standin.url,
        "judge_model": "standin",
        "judge_sample_rate": 1.0,
        "judge_timeout_s": 1.0,
        "judge_review_share": 0.0,
        **keys,
    }
    return load_settings(overrides=flat, environ={})


def judged_pipeline(
    store: Store, settings: Settings, environ: dict[str, str] | None = None
) -> tuple[Pipeline, JudgeWorkers]:
    """A pipeline whose stored calls go to the settings' judges (not started)."""
    pipeline = Pipeline(store)
    workers = build_judges(
        settings,
        store,
        pipeline.metrics.judge,
        environ or {},
        observe=pipeline.metrics.detector_score.observe_columns,
    )
    assert workers is not None
    # Tests judge in rounds a moment apart: a short gap between the writer's flushes keeps
    # them quick (the gap itself is tests/judge/test_writer.py's subject).
    workers.writer.interval_s = 1.0
    hand_over(pipeline, workers)
    return pipeline, workers


def answers(*texts: str, question: str = "what is it?") -> Payload:
    """One OTLP payload of calls answering ``texts`` (each its own span)."""

    @observe(model="app-model", provider="test", route="qa/answer")
    def answer(text: str, q: str) -> str:
        return text

    def run() -> None:
        for text in texts:
            answer(text, question)

    return Payload(protobuf_payload(record_spans(run)), "test")


def metric(pipeline: Pipeline, name: str, **labels: str) -> float:
    """A sample's value from the pipeline's registry (0 when absent)."""
    value = pipeline.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value
