"""configure(): validation at set-up, lazy set-up from the environment, and an OTLP
endpoint that is down never slowing the app."""

from __future__ import annotations

import socket
import time

import pytest

from tests.sdk.stats_delta import StatsDelta
from watchkeeper.sdk import (
    configuration,
    configure,
    flush,
    internal_errors,
    observe,
    settings,
    shutdown,
)
from watchkeeper.sdk import testing as sdk_testing


@observe
def answer(prompt: str) -> str:
    return "ok"


def closed_loopback_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unknown_exporter_raises_naming_the_choices() -> None:
    """An unknown exporter name fails at configure() with the valid choices listed."""
    with pytest.raises(ValueError, match="'otlp', 'kafka', 'none', 'memory'") as caught:
        configure("zipkin")
    assert "'zipkin'" in str(caught.value)


def test_unknown_exporter_from_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bad WATCHKEEPER_EXPORTER is reported with the variable's name."""
    monkeypatch.setenv("WATCHKEEPER_EXPORTER", "carrier-pigeon")
    with pytest.raises(ValueError, match="WATCHKEEPER_EXPORTER"):
        configure()


def test_kafka_exporter_needs_bootstrap_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """exporter="kafka" without brokers fails at configure(), not at the first export."""
    monkeypatch.delenv("WATCHKEEPER_KAFKA_BOOTSTRAP", raising=False)
    with pytest.raises(ValueError, match="WATCHKEEPER_KAFKA_BOOTSTRAP"):
        configure("kafka")


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://collector:4318", "http://collector:4318/v1/traces"),
        ("https://collector:4318/", "https://collector:4318/v1/traces"),
        ("http://127.0.0.1:4318/custom/path", "http://127.0.0.1:4318/custom/path"),
    ],
)
def test_otlp_endpoint_gets_the_traces_path(endpoint: str, url: str) -> None:
    """A bare OTLP base URL gets /v1/traces; a URL with a path is used as given."""
    assert settings.traces_url(endpoint) == url


def test_invalid_otlp_endpoint_is_rejected() -> None:
    """An endpoint that is not an http(s) URL fails at configure()."""
    with pytest.raises(ValueError, match="WATCHKEEPER_OTLP_ENDPOINT"):
        configure("otlp", endpoint="127.0.0.1:4318")


def test_first_call_configures_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without configure(), the first observed call sets the SDK up from WATCHKEEPER_*."""
    monkeypatch.setattr(configuration, "active_pipeline", None)
    monkeypatch.setenv("WATCHKEEPER_EXPORTER", "memory")
    monkeypatch.setenv("WATCHKEEPER_SERVICE_NAME", "support-bot")
    answer("hi")
    (span,) = sdk_testing.finished_spans()
    assert span.resource.attributes["service.name"] == "support-bot"
    shutdown()  # the lazily built pipeline, before monkeypatch restores the fixture's


def test_bad_environment_never_breaks_calls_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bad WATCHKEEPER_EXPORTER makes the lazy set-up fall back to not exporting: the
    call still works and the problem is counted (under pytest it would raise)."""
    monkeypatch.setattr(configuration, "active_pipeline", None)
    monkeypatch.setenv("WATCHKEEPER_EXPORTER", "bogus")
    with pytest.raises(ValueError, match="bogus"):
        answer("hi")

    monkeypatch.setattr(configuration, "active_pipeline", None)
    monkeypatch.setattr(internal_errors, "reraise_internal_errors", lambda: False)
    stats_delta = StatsDelta()
    assert answer("hi") == "ok"
    assert stats_delta["internal_errors"] == 1
    assert stats_delta["spans_ended"] == 1


def test_none_exporter_records_but_does_not_export(stats_delta: StatsDelta) -> None:
    """With "none", spans are created and ended (nesting, current_call work) but nothing
    is queued or exported."""
    configure("none")
    answer("hi")
    assert flush()
    assert stats_delta["spans_ended"] == 1
    assert stats_delta["spans_exported"] == 0
    with pytest.raises(RuntimeError, match="memory"):
        sdk_testing.finished_spans()


def test_unreachable_otlp_endpoint_neither_raises_nor_blocks(stats_delta: StatsDelta) -> None:
    """With the OTLP endpoint on a closed loopback port, calls never wait (export runs on
    the worker thread), failures are counted, and flush/shutdown keep their timeouts."""
    port = closed_loopback_port()
    configure(
        "otlp",
        endpoint=f"http://127.0.0.1:{port}/v1/traces",
        schedule_delay_s=0.01,
        export_timeout_s=2.0,
    )
    answer("warm-up")
    time.sleep(0.2)  # let the worker import the exporter and start failing

    slowest = 0.0
    for _ in range(20):
        started = time.perf_counter()
        assert answer("hi") == "ok"
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 1.0, f"a call took {slowest * 1000:.1f} ms"  # catches blocking, not noise

    started = time.perf_counter()
    flush(timeout_s=0.3)
    assert time.perf_counter() - started < 1.5

    deadline = time.monotonic() + 15
    while stats_delta["export_failures"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stats_delta["export_failures"] >= 1
    assert stats_delta["spans_exported"] == 0

    answer("queued behind the dead endpoint")
    started = time.perf_counter()
    shutdown(timeout_s=0.5)
    assert time.perf_counter() - started < 2.0
