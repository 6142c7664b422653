"""The settings loader: precedence, named errors, and what it must not reject."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from watchkeeper.collector.settings import ConfigError, Settings, load_settings
from watchkeeper.ingest.settings import COLLECTOR_KEYS, IngestSettings

#: The settings' own modules (the collector's sections and the loader they build on).
SETTINGS_MODULES = ("watchkeeper.collector.settings", "watchkeeper.ingest.settings")


def test_precedence_defaults_file_env_options(tmp_path: Path) -> None:
    """Options beat the environment, which beats the file, which beats defaults."""
    config = tmp_path / "wk.toml"
    config.write_text("[watchkeeper]\nhttp_port = 1000\nttl_days = 7\nkafka_topic = 'f'\n")
    settings = load_settings(
        config,
        overrides={"http_port": 3000},
        environ={"WATCHKEEPER_HTTP_PORT": "2000", "WATCHKEEPER_TTL_DAYS": "9"},
    )
    assert (settings.http_port, settings.ttl_days, settings.kafka_topic) == (3000, 9, "f")
    assert settings.database == "watchkeeper"


def test_kubernetes_service_link_variables_are_ignored() -> None:
    """Variables Kubernetes injects for a Service named watchkeeper-* are not settings."""
    environ = {
        "WATCHKEEPER_UI_SERVICE_HOST": "10.0.0.1",
        "WATCHKEEPER_UI_SERVICE_PORT": "8080",
        "WATCHKEEPER_UI_SERVICE_PORT_HTTP": "8080",
        "WATCHKEEPER_UI_PORT": "tcp://10.0.0.1:8080",
        "WATCHKEEPER_UI_PORT_8080_TCP_ADDR": "10.0.0.1",
    }
    assert load_settings(environ=environ).http_port == 4318


def test_body_sample_rules_from_env_json_and_bad_rules_named() -> None:
    """Rules arrive as JSON in the environment; a malformed rule names the key."""
    settings = load_settings(environ={"WATCHKEEPER_BODY_SAMPLE_RULES": '{"route:checkout": 0.5}'})
    assert settings.body_sample_rules == {"route:checkout": 0.5}
    with pytest.raises(ConfigError, match="body_sample_rules"):
        load_settings(environ={"WATCHKEEPER_BODY_SAMPLE_RULES": '{"colour:red": 0.5}'})


@pytest.mark.parametrize("name", ["NATIVE", "ALERTS_TOKEN", "REDACT", "OTLP_HEADERS"])
def test_variables_read_elsewhere_are_not_unknown_settings(name: str) -> None:
    """WATCHKEEPER_NATIVE (read by the detectors at import), WATCHKEEPER_ALERTS_TOKEN
    (grafana push) and the SDK's variables are accepted, and are not settings."""
    assert load_settings(environ={f"WATCHKEEPER_{name}": "0"}).http_port == 4318


def test_flat_keys_fill_the_sections_of_their_components() -> None:
    """Each flat key lands in its component's section; flat reads and copies agree."""
    settings = load_settings(
        environ={"WATCHKEEPER_KAFKA_GROUP": "g", "WATCHKEEPER_REVIEW_LEASE_S": "60"},
        overrides={"store": "clickhouse", "clickhouse_url": "http://ch:8123/"},
    )
    assert (settings.kafka.group, settings.review.lease_s) == ("g", 60.0)
    assert (settings.storage.store, settings.storage.clickhouse_url) == (
        "clickhouse",
        "http://ch:8123/",
    )
    assert settings.kafka_group == settings.kafka.group
    assert {"kafka_group", "review_lease_s", "store"} <= settings.model_fields_set
    copy = settings.model_copy(update={"store": "chdb", "review_window_s": 10.0})
    assert (copy.storage.store, copy.review.window_s, copy.store) == ("chdb", 10.0, "chdb")
    assert settings.storage.store == "clickhouse"
    with pytest.raises(ValidationError):
        settings.model_copy(update={"ttl_days": 0})


def test_the_sidecar_knows_every_collector_key() -> None:
    """The sidecar accepts the collector's keys without importing it (COLLECTOR_KEYS):
    the list is exactly the collector's keys that are not the sidecar's own."""
    collector_only = set(Settings.flat_keys()) - set(IngestSettings.flat_keys())
    assert collector_only == set(COLLECTOR_KEYS)


def test_settings_import_nothing_they_configure() -> None:
    """The settings are a leaf: importing them loads no other module of the collector
    (review, store, pipeline ...), so every module may import them."""
    code = (
        "import sys, watchkeeper.collector.settings\n"
        "print(sorted(m for m in sys.modules if m.startswith('watchkeeper.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = ast.literal_eval(result.stdout)
    packages = {"watchkeeper.collector", "watchkeeper.ingest"}  # their __init__ run first
    assert [m for m in loaded if not m.startswith(SETTINGS_MODULES) and m not in packages] == []
