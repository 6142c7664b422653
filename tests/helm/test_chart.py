"""The Helm chart: rendered offline for several value sets, linted strictly, validated against
Kubernetes' schemas, its values schema enforced, its alert rules run through promtool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.chart import (
    CHART,
    CRD_KINDS,
    EVERYTHING_ON,
    NAMESPACE,
    VALUE_SETS,
    by_kind,
    manifests,
    merge,
    pod_specs,
    render,
)
from tests.helm.promtool import check_rules, promtool
from watchkeeper.collector.settings import load_settings
from watchkeeper.ingest.cli import parser

#: The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schema
#: kubernetes-validate ships.
KUBE_VERSIONS = ("1.29.0", "1.37.0")


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_manifests_validate_against_kubernetes_schemas(value_set: str) -> None:
    """Every non-CRD object passes kubernetes-validate in strict mode (unknown fields fail).

    ServiceMonitor, PodMonitor and PrometheusRule are Prometheus Operator CRDs, which the
    Kubernetes schemas do not describe; they are checked structurally below.
    """
    import kubernetes_validate

    docs = manifests(VALUE_SETS[value_set])
    assert docs
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = ".".join(str(p) for p in exc.path)
                pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} @ {where}: {exc.message}")


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_lint_strict_finds_nothing(value_set: str) -> None:
    """`helm lint --strict` reports no warning or error (informational notes only)."""
    import helm_python

    report = helm_python.lint(
        CHART, VALUE_SETS[value_set], strict=True, namespace=NAMESPACE, kube_version="v1.33.0"
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == [], problems
    assert report["errors"] in (None, [])


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"replicaCount": 3}, "replicaCount"),
        ({"collector": {"replicas": "3"}}, "replicas"),
        ({"collector": {"replicas": 0}}, "replicas"),
        ({"kafka": {"bootstrap": "kafka"}}, "bootstrap"),
        ({"config": {"store": "chdb"}}, "store"),
        ({"config": {"Bad-Key": 1}}, "Bad-Key"),
        ({"securityContext": {"allowPrivilegeEscalation": True}}, "allowPrivilegeEscalation"),
        ({"podSecurityContext": {"runAsNonRoot": False}}, "runAsNonRoot"),
        ({"collector": {"resources": {"requests": None}}}, "requests"),
        ({"metrics": {"serviceMonitor": {"enabled": True, "interval": "often"}}}, "interval"),
    ],
)
def test_values_schema_refuses_bad_values(values: dict[str, Any], complaint: str) -> None:
    """values.schema.json stops a render with a message naming the offending key."""
    import helm_python

    with pytest.raises(helm_python.HelmError) as raised:
        render(values)
    assert complaint in str(raised.value)


def test_more_collectors_than_partitions_is_refused_with_the_reason() -> None:
    """Collectors beyond the topic's partitions would idle: the render fails and says so."""
    import helm_python

    with pytest.raises(helm_python.HelmError, match=r"exceeds kafka\.partitions"):
        render({"collector": {"replicas": 7}, "kafka": {"partitions": 6}})
    docs = manifests({"collector": {"replicas": 6}, "kafka": {"partitions": 6}})
    (collector,) = [
        d for d in by_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-collector")
    ]
    assert collector["spec"]["replicas"] == 6


def test_a_clickhouse_dsn_is_required() -> None:
    """Neither a DSN nor an existing Secret: the render fails naming both options."""
    import helm_python

    with pytest.raises(helm_python.HelmError, match=r"clickhouse\.existingSecret"):
        render({"clickhouse": {"url": ""}})


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_every_container_is_non_root_read_only_probed_and_sized(value_set: str) -> None:
    """Each pod runs non-root with seccomp; each container (sidecars included) has a
    read-only root, no privilege escalation, no capabilities, CPU and memory requests,
    readiness and liveness probes; service links are off (they would inject
    WATCHKEEPER_<SERVICE>_* variables the settings loader rejects)."""
    for name, spec in pod_specs(manifests(VALUE_SETS[value_set])):
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name
        assert pod_security["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["enableServiceLinks"] is False, name
        assert spec["automountServiceAccountToken"] is False, name
        containers = spec["containers"] + spec.get("initContainers", [])
        for container in containers:
            where = f"{name}/{container['name']}"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert "readinessProbe" in container, where
            assert "livenessProbe" in container, where
        mounted = {m["mountPath"] for c in containers for m in c.get("volumeMounts", [])}
        assert "/tmp" in mounted, name  # the one writable place Python needs


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_config_map_is_a_valid_watchkeeper_configuration(value_set: str, tmp_path: Path) -> None:
    """The rendered watchkeeper.toml loads with the real settings model (unknown keys or
    bad values would fail) and says what the values say."""
    values = merge(yaml.safe_load((CHART / "values.yaml").read_text()), VALUE_SETS[value_set])
    docs = manifests(VALUE_SETS[value_set])
    (config_map,) = [d for d in by_kind(docs, "ConfigMap") if "watchkeeper.toml" in d["data"]]
    path = tmp_path / "watchkeeper.toml"
    path.write_text(config_map["data"]["watchkeeper.toml"])
    settings = load_settings(path, environ={"WATCHKEEPER_CLICKHOUSE_URL": "http://ch:8123/"})
    assert settings.store == "clickhouse"
    assert settings.http_host == "0.0.0.0"
    assert settings.kafka_bootstrap == values["kafka"]["bootstrap"]
    assert settings.kafka_topic == values["kafka"]["topic"]
    assert settings.kafka_group == values["kafka"]["group"]
    assert settings.dead_letter_topic == (values["kafka"]["deadLetterTopic"] or None)
    for key, value in values["config"].items():
        assert getattr(settings, key) == value, key


@pytest.mark.parametrize("value_set", ["everything-on", "existing-secret-big"])
def test_containers_run_real_commands_with_valid_settings(value_set: str, tmp_path: Path) -> None:
    """Each watchkeeper container's args parse with the real CLI; its environment plus the
    mounted config file load as settings, listening on the port the container declares."""
    docs = manifests(VALUE_SETS[value_set])
    (config_map,) = [d for d in by_kind(docs, "ConfigMap") if "watchkeeper.toml" in d["data"]]
    config = tmp_path / "watchkeeper.toml"
    config.write_text(config_map["data"]["watchkeeper.toml"])
    commands = set()
    for name, spec in pod_specs(docs):
        for container in spec["containers"] + spec.get("initContainers", []):
            if not container["image"].startswith("ghcr.io/watchkeeper/"):
                continue  # the example app's own image
            commands.add(parser().parse_args(container["args"]).command)
            environ = {}
            for variable in container.get("env", []):
                if variable["name"] == "WATCHKEEPER_CONFIG":
                    environ["WATCHKEEPER_CONFIG"] = str(config)
                elif variable["name"].startswith("WATCHKEEPER_"):
                    # A Secret reference stands in as a DSN.
                    environ[variable["name"]] = variable.get("value", "http://ch:8123/")
            settings = load_settings(None, environ=environ)
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            http_port = ports.pop("wk-otlp", None) or ports.pop("http")
            assert (settings.http_host, settings.http_port) == ("0.0.0.0", http_port)
            assert ports == ({"wk-otlp-grpc": settings.grpc_port} if ports else {})
            assert name
    assert commands == {"collect", "up", "sidecar"}


def test_sidecar_example_is_a_native_sidecar_next_to_the_app() -> None:
    """The injected sidecar starts before the app (init container, restartPolicy Always),
    spools to its own bounded volume, and the app's exporters point at it."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    docs = manifests({"sidecarExample": {"enabled": True}})
    (app,) = [d for d in by_kind(docs, "Deployment") if d["metadata"]["name"] == "support-bot"]
    spec = app["spec"]["template"]["spec"]
    (sidecar,) = spec["initContainers"]
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["args"] == ["sidecar"]
    env = {e["name"]: e["value"] for e in sidecar["env"]}
    spool_dir = env["WATCHKEEPER_SIDECAR_SPOOL_DIR"]
    assert spool_dir in {m["mountPath"] for m in sidecar["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    spool_volume = next(m["name"] for m in sidecar["volumeMounts"] if m["mountPath"] == spool_dir)
    limit = int(volumes[spool_volume]["emptyDir"]["sizeLimit"])
    assert (
        limit
        >= values["sidecar"]["spoolMaxBytes"]
        == int(env["WATCHKEEPER_SIDECAR_SPOOL_MAX_BYTES"])
    )
    port = values["sidecar"]["port"]
    app_env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    assert app_env["WATCHKEEPER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{port}/v1/traces"
    assert app_env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{port}"
    assert app["spec"]["template"]["metadata"]["labels"]["watchkeeper.io/sidecar"] == "true"
    grpc_port = values["sidecar"]["grpcPort"]
    assert int(env["WATCHKEEPER_GRPC_PORT"]) == grpc_port
    assert {"name": "wk-otlp-grpc", "containerPort": grpc_port, "protocol": "TCP"} in sidecar[
        "ports"
    ]


def test_prometheus_operator_resources_only_when_enabled_and_labelled() -> None:
    """ServiceMonitor, PodMonitor and PrometheusRule render only when enabled, carry the
    additionalLabels, and point at ports and labels that exist."""
    assert not [d for d in manifests() if d["kind"] in CRD_KINDS]
    docs = manifests(EVERYTHING_ON)
    (monitor,) = by_kind(docs, "ServiceMonitor")
    (pod_monitor,) = by_kind(docs, "PodMonitor")
    (rule,) = by_kind(docs, "PrometheusRule")
    for crd in (monitor, pod_monitor, rule):
        assert crd["apiVersion"] == "monitoring.coreos.com/v1"
        assert crd["metadata"]["labels"]["release"] == "kps"
    selector = monitor["spec"]["selector"]["matchLabels"]
    services = [
        s for s in by_kind(docs, "Service") if selector.items() <= s["metadata"]["labels"].items()
    ]
    assert {s["metadata"]["name"].rsplit("-", 1)[-1] for s in services} == {"collector", "ui"}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["path"] == "/metrics"
        assert all(endpoint["port"] in {p["name"] for p in s["spec"]["ports"]} for s in services)
    pod_labels = pod_monitor["spec"]["selector"]["matchLabels"]
    sidecar_pods = [
        spec
        for doc in by_kind(docs, "Deployment")
        if pod_labels.items() <= doc["spec"]["template"]["metadata"]["labels"].items()
        for spec in [doc["spec"]["template"]["spec"]]
    ]
    assert sidecar_pods
    for spec in sidecar_pods:
        ports = {p["name"] for c in spec["initContainers"] for p in c["ports"]}
        assert {e["port"] for e in pod_monitor["spec"]["podMetricsEndpoints"]} <= ports
    groups = rule["spec"]["groups"]
    assert groups
    for group in groups:
        assert group["name"]
        for item in group["rules"]:
            assert ("alert" in item) != ("record" in item)
            assert item["expr"]


def test_rendered_alert_rules_pass_promtool(tmp_path: Path) -> None:
    """The PrometheusRule's groups, extracted as a rule file, pass `promtool check rules`,
    and the chart's own alerts fire as their promtool unit tests expect."""
    (rule,) = by_kind(manifests(EVERYTHING_ON), "PrometheusRule")
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    result = check_rules(rules)
    assert result.returncode == 0, result.stdout + result.stderr
    unit_tests = tmp_path / "rules_test.yml"
    unit_tests.write_text((Path(__file__).parent / "chart_rules_test.yml").read_text())
    import subprocess

    tested = subprocess.run(
        [promtool(), "test", "rules", str(unit_tests)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_dashboards_are_configmaps_labelled_for_grafana() -> None:
    """One ConfigMap per dashboard file, labelled grafana_dashboard: "1" (plus extra
    labels and annotations), holding the dashboard JSON, under ConfigMap's 1 MiB limit."""
    files = sorted((CHART / "files" / "dashboards").glob("*.json"))
    assert files
    docs = manifests(EVERYTHING_ON)
    maps = [d for d in by_kind(docs, "ConfigMap") if "grafana_dashboard" in d["metadata"]["labels"]]
    assert len(maps) == len(files)
    for config_map in maps:
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert config_map["metadata"]["labels"]["team"] == "llm"
        assert config_map["metadata"]["annotations"] == {"grafana_folder": "LLM quality"}
        ((name, text),) = config_map["data"].items()
        assert json.loads(text) == json.loads((CHART / "files" / "dashboards" / name).read_text())
        assert len(json.dumps(config_map).encode()) < 1024 * 1024
    off = manifests({"grafana": {"dashboards": {"enabled": False}}})
    assert not [d for d in off if "grafana_dashboard" in d["metadata"].get("labels", {})]
