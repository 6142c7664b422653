"""Release and deploy on every call: copied from the OTLP resource, stored with the call,
and compared like models and prompt versions (``--by release``, ``--by deploy``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.collector.otlp_payloads import answer_spans
from tests.experiments.test_versions_api import _calls
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.normalize import normalize_request
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.store.versions import route_versions
from watchkeeper.ingest.cli import main

RESOURCE = {"service.version": "2.4.1", "watchkeeper.deploy.id": "deploy-17"}


def _payload() -> bytes:
    request = encode_spans(list(answer_spans(3)))
    for resource_spans in request.resource_spans:
        for key, value in RESOURCE.items():
            resource_spans.resource.attributes.append(
                KeyValue(key=key, value=AnyValue(string_value=value))
            )
    return bytes(request.SerializeToString())


def test_the_resource_release_and_deploy_reach_every_call(store: Store) -> None:
    """Over OTLP/HTTP into the store, each call carries service.version and deployment.id
    (from watchkeeper.deploy.id); the Python normaliser does the same."""
    with TestClient(build_app(Pipeline(store))) as client:
        headers = {"content-type": "application/x-protobuf"}
        assert client.post("/v1/traces", content=_payload(), headers=headers).status_code == 200
    rows = store.select(
        "SELECT SpanAttributes['service.version'] AS Release, "
        "SpanAttributes['deployment.id'] AS Deploy FROM {db}.calls"
    )
    assert [(r["Release"], r["Deploy"]) for r in rows] == [("2.4.1", "deploy-17")] * 3
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest.FromString(_payload())
    calls = normalize_request(request, "test").calls
    assert {c.attributes["service.version"] for c in calls} == {"2.4.1"}
    assert {c.attributes["deployment.id"] for c in calls} == {"deploy-17"}


def test_versions_compare_by_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Release 1.1 answers off-context in half its calls: ``--by release`` lists both
    releases and calls 1.1 regressed against 1.0; ``--by deploy`` sees one deploy only."""
    calls = _calls(0.5)
    for call in calls:
        call.attributes["service.version"] = "1.1" if call.request_model == "model-b" else "1.0"
        call.attributes["deployment.id"] = "d-1"
    data = tmp_path / "wk"
    store = Store(ChdbBackend(data / "chdb"))
    store.migrate()
    try:
        Pipeline(store).process_calls(calls, "test")
        seen = route_versions(store, route="support", dimension="release")
    finally:
        store.close()
    assert [(r["Version"], r["Calls"]) for r in seen] == [("1.0", 200), ("1.1", 200)]
    common = ["--route", "support", "--data-dir", str(data)]
    assert main(["versions", "compare", *common, "--by", "release"]) == 1
    assert capsys.readouterr().out.startswith("support: 1.1 against 1.0")
    assert main(["versions", "compare", *common, "--by", "deploy"]) == 2


def _identity_payload(span_attributes: dict[str, object], resource: dict[str, object]) -> bytes:
    request = encode_spans(list(answer_spans(2)))
    for resource_spans in request.resource_spans:
        for key, value in resource.items():
            resource_spans.resource.attributes.append(KeyValue(key=key, value=_any(value)))
        for scope in resource_spans.scope_spans:
            for span in scope.spans:
                for key, value in span_attributes.items():
                    span.attributes.append(KeyValue(key=key, value=_any(value)))
    return bytes(request.SerializeToString())


def _any(value: object) -> AnyValue:
    if isinstance(value, int):
        return AnyValue(int_value=value)
    return AnyValue(string_value=str(value))


@pytest.mark.parametrize(
    ("span_attributes", "resource"),
    [
        ({}, RESOURCE),
        ({"service.version": "span-9"}, RESOURCE),
        ({"watchkeeper.deploy.id": "span-d"}, {"deployment.id": "res-d"}),
        ({}, {"service.version": "x" * 300, "deployment.id": ""}),
        ({}, {"service.version": 7}),
        ({"deployment.id": ""}, {}),
    ],
)
def test_the_compiled_core_stamps_as_python_does(
    span_attributes: dict[str, object], resource: dict[str, object]
) -> None:
    """The core's fast path (decode_run) gives each call the same release and deploy as
    the Python normaliser: span values win, 128 characters, the alias folded."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from watchkeeper.collector.processors import native_decode
    from watchkeeper.collector.processors.decode_payloads import Payload

    if not native_decode.available():
        pytest.skip("the compiled core is not installed")
    payload = _identity_payload(span_attributes, resource)
    python = normalize_request(ExportTraceServiceRequest.FromString(payload), "t").calls
    run = native_decode.decode_run([Payload(payload, "t")], 0)
    assert run is not None
    native = run.calls if run.end == 1 else []
    if not native:  # the core declined the payload (a non-string value): Python decides
        assert resource.get("service.version") == 7
        return
    assert [c.attributes for c in native] == [c.attributes for c in python]


def test_the_dashboards_annotate_a_new_release(store: Store) -> None:
    """The overview's "Version changes" annotation, as Grafana runs it, marks release 1.1
    where it first served; release 1.0, serving since before the range, is not marked."""
    from datetime import UTC, datetime, timedelta

    from tests.dashboards.grafana_sql import TimeRange, to_clickhouse
    from watchkeeper.collector.store.versions import VERSION_CHANGES_ANNOTATION

    calls = _calls(0.0)
    now = datetime.now(UTC).replace(microsecond=0)
    start_ns = int((now - timedelta(hours=3)).timestamp()) * 10**9
    for n, call in enumerate(calls):  # 400 calls 30 s apart; 1.1 from the 300th on
        call.timestamp_ns = start_ns + n * 30 * 10**9
        call.attributes["service.version"] = "1.1" if n >= 300 else "1.0"
    Pipeline(store).process_calls(calls, "test")
    when = TimeRange(now - timedelta(hours=1), now)
    variables = {"database": store.database, "service": ["shop"]}
    text = VERSION_CHANGES_ANNOTATION.replace("{db}", "${database}")  # as the dashboards do
    rows = store.backend.select(to_clickhouse(text, variables, when))
    releases = [r for r in rows if "release" in r["tags"]]
    assert [r["text"] for r in releases] == ["support: release 1.1"]
    assert releases[0]["time"] == (start_ns + 300 * 30 * 10**9) // 10**6


def test_openinference_prompt_templates_are_prompt_versions(store: Store) -> None:
    """Without the SDK's prompt version, OpenInference's template version is the prompt
    version, else a hash of the template text (one per distinct template)."""
    calls = _calls(0.0)
    for n, call in enumerate(calls[:200]):
        call.attributes["llm.prompt_template.version"] = "tpl-1" if n < 100 else ""
        call.attributes["llm.prompt_template.template"] = "Answer {question} briefly."
    for call in calls[200:]:
        call.attributes["llm.prompt_template.template"] = "Answer {question} in detail."
    Pipeline(store).process_calls(calls, "test")
    seen = route_versions(store, route="support", dimension="prompt")
    names = [str(row["Version"]) for row in seen]
    assert names[0] == "tpl-1"
    assert len(names) == 3
    assert all(re.fullmatch(r"template:[0-9a-f]{8}", name) for name in names[1:])
