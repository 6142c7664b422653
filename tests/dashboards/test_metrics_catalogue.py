"""The metrics catalogue (docs/metrics.md) matches what is exposed, and promtool accepts /metrics.

Expositions come from a running collector app after real traffic (FastAPI TestClient over
``build_app``), from the sidecar's metrics, and from the catalogue's own snippet that exposes
the SDK's counters in an app.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from tests.helm.promtool import check_metrics
from watchkeeper.collector.alerting.dashboards import build_dashboards
from watchkeeper.collector.alerting.install import install_alerting
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.server import build_app
from watchkeeper.collector.settings.alerting import AlertingSettings
from watchkeeper.collector.store.store import Store
from watchkeeper.ingest.sidecar.metrics import SidecarMetrics

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "docs" / "metrics.md"
#: A metric name not preceded by ':' (recording rules are named level:metric:operation).
_METRIC = re.compile(r"(?<![:\w])watchkeeper_[a-z0-9_]*[a-z0-9](?![\w*])")


def catalogue() -> set[str]:
    """Metric names in the catalogue's tables."""
    section = CATALOGUE.read_text()
    return set(re.findall(r"^\| `(watchkeeper_[a-z0-9_]+)` \|", section, flags=re.MULTILINE))


def families(exposition: bytes) -> set[str]:
    """Metric family names (as on ``# TYPE`` lines) in an exposition.

    prometheus_client adds a ``<counter>_created`` gauge per counter and histogram (their
    creation time); those belong to the metric they describe and are left out.
    """
    names = set(re.findall(r"^# TYPE (\S+) ", exposition.decode(), flags=re.MULTILINE))
    return {
        name
        for name in names
        if not (name.endswith("_created") and names & {name[:-8], name[:-8] + "_total"})
    }


def collector_exposition(store: Store) -> bytes:
    """/metrics of a collector app after traffic: calls, an error, a dead letter."""
    pipeline = Pipeline(store)
    # As the runtime does at start.
    install_alerting(AlertingSettings(), store, pipeline, fixed_calibration=False)
    with TestClient(build_app(pipeline)) as client:
        headers = {"content-type": "application/x-protobuf"}
        body = protobuf_payload(answer_spans(12, fail_every=5))
        assert client.post("/v1/traces", content=body, headers=headers).status_code == 200
        client.post("/v1/traces", content=b"\xff\x00garbage", headers=headers)
        pipeline.flush_review()
        response = client.get("/metrics")
    assert response.status_code == 200
    return response.content


class _Spool:
    """What the sidecar's spool gauges read, without a spool on disk."""

    disk_bytes = 4096
    max_bytes = 268_435_456
    pending_records = 3

    def oldest_appended_ms(self) -> int | None:
        return None


def sidecar_exposition() -> bytes:
    """/metrics of a sidecar (its registry, spool gauges included)."""
    metrics = SidecarMetrics()
    metrics.watch_spool(_Spool())  # type: ignore[arg-type]
    return metrics.exposition()


def sdk_exposition() -> bytes:
    """What an app exposes with the catalogue's SDK collector snippet."""
    section = CATALOGUE.read_text().split("<!-- sdk-prometheus-collector -->", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    registry = CollectorRegistry()
    # The snippet registers on the global registry; a private one keeps tests independent.
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    exec(compile(code.replace("REGISTRY.register(", "registry.register("), "metrics.md", "exec"),
         namespace | {"registry": registry})  # fmt: skip
    return generate_latest(registry)


def test_live_collector_metrics_pass_promtool(store: Store) -> None:
    """`promtool check metrics` finds nothing to complain about on a live /metrics after
    traffic (names, units, help texts, label usage)."""
    result = check_metrics(collector_exposition(store))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_sidecar_and_sdk_metrics_pass_promtool() -> None:
    """The sidecar's exposition and the app-side SDK metrics pass `promtool check metrics`."""
    for exposition in (sidecar_exposition(), sdk_exposition()):
        result = check_metrics(exposition)
        assert result.returncode == 0, result.stdout + result.stderr


def test_readme_catalogue_matches_every_exposed_metric(store: Store) -> None:
    """Every `watchkeeper_*` family exposed by the collector, the sidecar and the SDK
    snippet is in the catalogue, and the catalogue lists nothing that is not."""
    exposed = families(collector_exposition(store))
    exposed |= families(sidecar_exposition()) | families(sdk_exposition())
    exposed = {name for name in exposed if name.startswith("watchkeeper_")}
    listed = catalogue()
    assert exposed - listed == set(), "exposed but missing from docs/metrics.md"
    assert listed - exposed == set(), "in docs/metrics.md but never exposed"


def _base_name(name: str) -> str:
    return re.sub(r"_(bucket|sum|count)$", "", name)


def test_rules_and_dashboards_use_only_catalogued_metrics() -> None:
    """Alert rules and dashboards reference only metrics in the catalogue, so a renamed
    metric cannot silently blind an alert or a panel."""
    listed = catalogue()
    texts = [p.read_text() for p in (ROOT / "dashboards" / "prometheus").glob("*.yml")]
    texts += [str(model) for model in build_dashboards().values()]
    used: set[str] = set()
    for text in texts:
        used |= {_base_name(name) for name in _METRIC.findall(text)}
    # Rule files also name recording rules and alerts; only metric names matter here.
    recorded = {
        rule.get("record", "")
        for p in (ROOT / "dashboards" / "prometheus").glob("*.yml")
        for group in yaml.safe_load(p.read_text())["groups"]
        for rule in group["rules"]
    }
    assert used, "the rules and dashboards reference metrics"
    assert used - listed - recorded == set()
