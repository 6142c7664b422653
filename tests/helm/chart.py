"""Render ``helm/watchkeeper`` offline with the Helm 4 library (``helm-python-sdk``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "watchkeeper"
RELEASE = "wk"
NAMESPACE = "observability"
#: Kinds from the Prometheus Operator's CRDs: not in Kubernetes' own schemas.
CRD_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
EVERYTHING_ON: dict[str, Any] = {
    "metrics": {
        "serviceMonitor": {"enabled": True, "additionalLabels": {"release": "kps"}},
        "sidecarPodMonitor": {"enabled": True, "additionalLabels": {"release": "kps"}},
        "prometheusRule": {"enabled": True, "additionalLabels": {"release": "kps"}},
    },
    "grafana": {
        "dashboards": {
            "enabled": True,
            "additionalLabels": {"team": "llm"},
            "annotations": {"grafana_folder": "LLM quality"},
        }
    },
    "sidecarExample": {"enabled": True},
}
#: Value sets every structural test runs on: name -> values.
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything-on": EVERYTHING_ON,
    "existing-secret-big": {
        "clickhouse": {"existingSecret": "clickhouse-credentials", "url": ""},
        "kafka": {"partitions": 12, "deadLetterTopic": "otlp_spans_dead"},
        "collector": {"replicas": 12},
        "config": {
            "ttl_days": 90,
            "body_sample_rate": 0.25,
            "body_sample_rules": {"route:checkout": 1.0, "model:gpt-4o": 0.5},
            "review_window_s": 600,
        },
        "sidecar": {"spoolMaxBytes": 1073741824},
        "sidecarExample": {"enabled": True, "name": "checkout-assistant"},
    },
    "minimal": {
        "ui": {"enabled": False},
        "collector": {"replicas": 1},
        "grafana": {"dashboards": {"enabled": False}},
        "serviceAccount": {"create": False},
    },
}


def render(values: dict[str, Any] | None = None) -> dict[str, str]:
    """Template path -> rendered text (NOTES.txt included)."""
    import helm_python

    with helm_python.Chart.load(CHART) as chart:
        return chart.render(values or {}, name=RELEASE, namespace=NAMESPACE)


def manifests(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every Kubernetes object the chart renders with ``values``."""
    out = []
    for path, text in sorted(render(values).items()):
        if path.endswith("NOTES.txt"):
            continue
        out.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return out


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The objects of one kind."""
    return [doc for doc in docs if doc["kind"] == kind]


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(workload name, pod spec) of every workload."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of two values dicts (``extra`` wins)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
