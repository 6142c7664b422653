"""Standard instrumentation in, scored calls out: OpenTelemetry's and OpenInference's OpenAI
instrumentations around the real ``openai`` client, exported with the standard OTLP/HTTP
exporter, through ``watchkeeper sidecar``, a real Kafka broker and the collector.

Path: app process (``tests/interop/app.py``) -> fake OpenAI server (loopback) and
OTLP/HTTP -> sidecar process -> Kafka -> ``KafkaReceiver`` + ``Pipeline`` -> chDB. The
same app with ``@observe`` goes the same way, as the yardstick the others are held to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.interop.app import MODEL, QUESTIONS, SYSTEM
from tests.interop.fake_openai import FakeOpenAI, answer_for
from tests.sidecar.process import SidecarProcess
from tests.support.kafka_broker import create_topic
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.receivers.kafka import KafkaReceiver
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.store import Store

CALLS = 12  # every question twice: the consistency detector compares repeated questions
#: service name -> (instrumentation, environment a user sets for it)
APPS = {
    "interop-observe": ("observe", {}),
    "interop-otel": (
        "otel-openai-v2",
        {
            # Without these the instrumentation keeps the v1.30 conventions and puts no
            # prompt or answer on the span (content goes to log events, if enabled).
            "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only",
        },
    ),
    # gzip: what many deployments set on the exporter; the sidecar must take it.
    "interop-openinference": ("openinference", {"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}),
}

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _run_app(service: str, sidecar_url: str, base_url: str) -> list[dict[str, str]]:
    instrumentation, extra = APPS[service]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WATCHKEEPER_", "OTEL_"))}
    env.update(
        {
            "OTEL_SERVICE_NAME": service,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{sidecar_url}/v1/traces",
            "WATCHKEEPER_SERVICE_NAME": service,
            "WATCHKEEPER_OTLP_ENDPOINT": f"{sidecar_url}/v1/traces",
            **extra,
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.interop.app", instrumentation, "--base-url", base_url,
         "--calls", str(CALLS)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    calls: list[dict[str, str]] = json.loads(result.stdout)
    return calls


@pytest.fixture(scope="module")
def stored(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Every app's calls, through sidecar and Kafka, stored by the collector's pipeline.

    Module-scoped (one chDB directory is open per process at a time; no other store is
    open while this module runs).
    """
    workdir = tmp_path_factory.mktemp("interop")
    topic = f"otlp_spans_interop_{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic, partitions=2)
    with (
        FakeOpenAI() as openai_server,
        SidecarProcess(workdir / "spool", kafka_bootstrap, topic) as sidecar,
    ):
        for service in APPS:
            calls = _run_app(service, sidecar.url, openai_server.base_url)
            assert [c["answer"] for c in calls] == [answer_for(c["question"]) for c in calls]
        assert sidecar.wait_for("watchkeeper_sidecar_spool_records", 0, timeout_s=60)
        assert sidecar.metrics()["watchkeeper_sidecar_spans_received_total"] == len(APPS) * CALLS

    store = Store(ChdbBackend(workdir / "chdb"))
    store.migrate()
    receiver = KafkaReceiver(
        Pipeline(store), bootstrap=kafka_bootstrap, topic=topic, group=f"interop-{topic}"
    )
    receiver.connect()
    try:
        deadline = time.monotonic() + 60
        while store.count_calls() < len(APPS) * CALLS and time.monotonic() < deadline:
            receiver.poll_once(timeout_ms=500)
    finally:
        receiver.stop()
    try:
        yield store
    finally:
        store.close()


def _calls(store: Store, service: str) -> list[dict[str, object]]:
    return store.select(
        "SELECT c.SpanId AS SpanId, c.RequestModel AS RequestModel, c.Provider AS Provider, "
        "c.InputTokens AS InputTokens, c.OutputTokens AS OutputTokens, c.Source AS Source, "
        "c.StatusCode AS StatusCode, b.InputText AS InputText, b.OutputText AS OutputText, "
        "b.InputMessages AS InputMessages "
        "FROM (SELECT * FROM {db}.calls FINAL) AS c "
        "JOIN (SELECT * FROM {db}.call_bodies FINAL) AS b ON c.SpanId = b.SpanId "
        "WHERE c.ServiceName = {service:String}",
        service=service,
    )


@pytest.mark.parametrize("service", list(APPS))
def test_each_call_is_stored_with_question_answer_model_and_usage(
    stored: Store, service: str
) -> None:
    """Every instrumented call arrives once with the user's question, the answer, the
    model, the provider and token usage — whichever convention its spans use."""
    rows = _calls(stored, service)
    assert len(rows) == CALLS
    assert len({row["SpanId"] for row in rows}) == CALLS
    expected = sorted(QUESTIONS[i % len(QUESTIONS)] for i in range(CALLS))
    assert sorted(str(row["InputText"]) for row in rows) == expected
    for row in rows:
        assert row["OutputText"] == answer_for(str(row["InputText"]))
        assert (row["RequestModel"], row["Provider"], row["Source"]) == (MODEL, "openai", "kafka")
        assert row["StatusCode"] != "ERROR"
        assert int(str(row["OutputTokens"])) == len(answer_for(str(row["InputText"])).split())
    if service != "interop-observe":  # @observe records the function's argument only
        # The system prompt makes the conversation more than the question: it is kept.
        assert all(SYSTEM in str(row["InputMessages"]) for row in rows)
        assert all(int(str(row["InputTokens"])) > 0 for row in rows)


@pytest.mark.parametrize("service", [s for s in APPS if s != "interop-observe"])
def test_instrumented_calls_are_scored_like_observe_calls(stored: Store, service: str) -> None:
    """The detectors score every instrumented call, with the same detector scores as the
    @observe calls of the same app (table call_scores: one row per call, scores keyed
    ``<detector>.<score>``)."""

    def scores(of: str) -> tuple[set[str], int]:
        names = stored.select(
            "SELECT DISTINCT arrayJoin(mapKeys(Scores)) AS name "
            "FROM {db}.call_scores FINAL WHERE ServiceName = {service:String}",
            service=of,
        )
        scored = stored.select(
            "SELECT uniqExact(SpanId) AS n FROM {db}.call_scores FINAL "
            "WHERE ServiceName = {service:String}",
            service=of,
        )
        return {str(row["name"]) for row in names}, int(scored[0]["n"])

    baseline, baseline_spans = scores("interop-observe")
    got, spans = scores(service)
    assert baseline, "the @observe calls were not scored at all"
    assert baseline_spans == CALLS
    assert got == baseline
    assert spans == CALLS
