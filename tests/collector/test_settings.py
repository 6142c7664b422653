"""The settings loader: precedence, named errors, and what it must not reject."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.collector.settings import ConfigError, load_settings


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
