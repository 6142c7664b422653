"""`watchkeeper grafana export` and `watchkeeper grafana push` (grafana-client).

Push talks to tests/alerting/grafana_stub.py, which answers like Grafana's HTTP API for the
endpoints used; the second push of the same objects must change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.alerting.grafana_stub import GrafanaStub
from watchkeeper.collector.alerting import GrafanaError
from watchkeeper.collector.alerting.export import GrafanaOptions, grafana_objects
from watchkeeper.collector.alerting.grafana_alerts import CONTACT_POINT_NAME, SOURCE_MATCHER
from watchkeeper.collector.alerting.push import push
from watchkeeper.collector.cli import main

TOKEN = "glsa_test_token"


@pytest.fixture
def grafana() -> Iterator[tuple[GrafanaStub, str]]:
    """A running Grafana stand-in and its URL."""
    stub = GrafanaStub(TOKEN)
    url = stub.start()
    try:
        yield stub, url
    finally:
        stub.stop()


def test_export_writes_dashboards_and_provisioning(tmp_path: Path) -> None:
    """`grafana export DIR` writes one JSON per dashboard and the three provisioning files,
    with the options given on the command line and no secret in any file."""
    status = main(
        [
            "grafana",
            "export",
            str(tmp_path),
            "--collector-url",
            "http://collector.monitoring:4318",
            "--clickhouse-url",
            "https://reader:s3cret@ch.example:8443/",
        ]
    )
    assert status == 0
    names = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert names == [
        "provisioning/alerting/watchkeeper.yaml",
        "provisioning/dashboards/watchkeeper.yaml",
        "provisioning/datasources/watchkeeper.yaml",
        "watchkeeper-detector.json",
        "watchkeeper-overview.json",
        "watchkeeper-review.json",
    ]
    sources = yaml.safe_load((tmp_path / "provisioning/datasources/watchkeeper.yaml").read_text())
    clickhouse = next(s for s in sources["datasources"] if s["uid"] == "watchkeeper-clickhouse")
    assert clickhouse["jsonData"]["host"] == "ch.example"
    assert clickhouse["jsonData"]["port"] == 8443
    assert clickhouse["jsonData"]["secure"] is True
    assert clickhouse["secureJsonData"] == {"password": "$CLICKHOUSE_PASSWORD"}
    alerting = yaml.safe_load((tmp_path / "provisioning/alerting/watchkeeper.yaml").read_text())
    url = alerting["contactPoints"][0]["receivers"][0]["settings"]["url"]
    assert url == "http://collector.monitoring:4318/api/alerts/webhook"
    review = json.loads((tmp_path / "watchkeeper-review.json").read_text())
    textboxes = {v["name"]: v["query"] for v in review["templating"]["list"]}
    assert textboxes["collector_url"] == "http://collector.monitoring:4318"
    assert not any("s3cret" in p.read_text() for p in tmp_path.rglob("*") if p.is_file())


def test_export_to_an_unwritable_place_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory that cannot be created is reported in one line, exit status 2."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["grafana", "export", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("watchkeeper: error: cannot write to")
    assert "\n" not in err


def test_push_creates_everything_then_changes_nothing(
    grafana: tuple[GrafanaStub, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The first push creates folder, data sources, dashboards, contact point and rules and
    merges the policy; the second push makes no write at all and reports every object
    unchanged."""
    stub, url = grafana
    assert main(["grafana", "push", "--url", url, "--token", TOKEN]) == 0
    assert set(stub.folders) == {"watchkeeper"}
    assert set(stub.datasources) == {"watchkeeper-prometheus", "watchkeeper-clickhouse"}
    assert set(stub.dashboards) == {
        "watchkeeper-overview",
        "watchkeeper-detector",
        "watchkeeper-review",
    }
    assert all(d["folderUid"] == "watchkeeper" for d in stub.dashboards.values())
    assert len(stub.rules) == 4
    assert "watchkeeper-alert-history" in stub.contact_points
    assert [r["receiver"] for r in stub.policy["routes"]] == [
        CONTACT_POINT_NAME,
        "grafana-default-email",
    ]
    first = capsys.readouterr().err
    assert "dashboard watchkeeper-overview: created" in first

    writes_before = len(stub.writes)
    assert main(["grafana", "push", "--url", url, "--token", TOKEN]) == 0
    assert stub.writes[writes_before:] == []
    second = capsys.readouterr().err
    assert "created" not in second
    assert "updated" not in second
    assert "0 of 12 objects changed" in second


def test_push_updates_only_what_drifted(grafana: tuple[GrafanaStub, str]) -> None:
    """After someone edits a dashboard and a rule in Grafana, a push rewrites exactly those
    two objects."""
    stub, url = grafana
    objects = grafana_objects(GrafanaOptions())
    push(url, TOKEN, objects)
    stub.dashboards["watchkeeper-review"]["dashboard"]["title"] = "edited by hand"
    stub.rules["watchkeeper-detector-alarm"]["for"] = "1h"
    result = push(url, TOKEN, objects)
    changed = {what for what, action in result.actions.items() if action != "unchanged"}
    assert changed == {"dashboard watchkeeper-review", "alert rule watchkeeper-detector-alarm"}
    assert stub.dashboards["watchkeeper-review"]["dashboard"]["title"] == (
        "watchkeeper / review queues"
    )
    assert stub.rules["watchkeeper-detector-alarm"]["for"] == "0s"


def test_push_merges_into_an_existing_policy_tree(grafana: tuple[GrafanaStub, str]) -> None:
    """Routes others configured stay; a stale copy of watchkeeper's routes is replaced,
    not duplicated; pages go to the tree's root receiver."""
    stub, url = grafana
    stub.contact_points["pager"] = {"uid": "pager", "name": "pagerduty", "type": "pagerduty"}
    team_route = {"receiver": "grafana-default-email", "object_matchers": [["team", "=", "db"]]}
    stale = {"receiver": "grafana-default-email", "object_matchers": [SOURCE_MATCHER]}
    stub.policy = {"receiver": "pagerduty", "routes": [stale, team_route]}
    push(url, TOKEN, grafana_objects(GrafanaOptions()))
    routes = stub.policy["routes"]
    assert [r["receiver"] for r in routes] == [
        CONTACT_POINT_NAME,
        "pagerduty",
        "grafana-default-email",
    ]
    assert routes[0]["continue"] is True
    assert routes[2] == team_route


def test_push_without_datasources_leaves_them_alone(grafana: tuple[GrafanaStub, str]) -> None:
    """--no-datasources never writes data sources (rules then need them to exist: the stub,
    like Grafana, refuses a rule whose data source is missing)."""
    stub, url = grafana
    stub.datasources["watchkeeper-clickhouse"] = {"uid": "watchkeeper-clickhouse", "id": 99}
    status = main(["grafana", "push", "--url", url, "--token", TOKEN, "--no-datasources"])
    assert status == 0
    assert stub.datasources == {
        "watchkeeper-clickhouse": {"uid": "watchkeeper-clickhouse", "id": 99}
    }
    assert not any("/api/datasources" in path for _, path in stub.requests)


def test_wrong_token_is_one_line(
    grafana: tuple[GrafanaStub, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused token exits 2 with one line that says so, and nothing is written."""
    stub, url = grafana
    assert main(["grafana", "push", "--url", url, "--token", "wrong"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"watchkeeper: error: Grafana at {url} refused the token (401)")
    assert "\n" not in err
    assert stub.folders == {}


def test_unreachable_grafana_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """No Grafana listening: exit 2, one line naming the URL."""
    url = "http://127.0.0.1:9"  # discard port: nothing listens there
    assert main(["grafana", "push", "--url", url, "--token", TOKEN]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"watchkeeper: error: cannot reach Grafana at {url}")
    assert "\n" not in err


def test_missing_url_or_token_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --url/--token and without GRAFANA_URL/GRAFANA_TOKEN the command says which."""
    monkeypatch.delenv("GRAFANA_URL", raising=False)
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert main(["grafana", "push", "--token", TOKEN]) == 2
    assert "no Grafana URL" in capsys.readouterr().err
    assert main(["grafana", "push", "--url", "http://grafana:3000"]) == 2
    assert "no Grafana token" in capsys.readouterr().err


def test_grafana_error_names_the_refused_object(grafana: tuple[GrafanaStub, str]) -> None:
    """When Grafana refuses an object, the error names it and Grafana's reason."""
    _, url = grafana
    objects = grafana_objects(GrafanaOptions(page_receiver="nobody"))
    with pytest.raises(GrafanaError, match=r"refused notification policy: 400 .*nobody"):
        push(url, TOKEN, objects, page_receiver="nobody")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["export", "DIR", "--prometheus-url", "prometheus:9090"],
            "--prometheus-url 'prometheus:9090' is not an http(s)://host[:port] URL",
        ),
        (
            ["export", "DIR", "--collector-url", "http://collector:99999"],
            "--collector-url 'http://collector:99999' is not a URL: Port out of range 0-65535",
        ),
        (
            ["export", "DIR", "--prometheus-url", "http://prometheus:9090/?x=1"],
            "--prometheus-url 'http://prometheus:9090/?x=1' must not carry a query or fragment",
        ),
        (
            ["push", "--url", "grafana:3000", "--token", TOKEN],
            "--url 'grafana:3000' is not an http(s)://host[:port] URL",
        ),
    ],
    ids=["no scheme", "bad port", "query", "push url"],
)
def test_misconfigured_urls_are_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Prometheus, collector or Grafana URL that is not http(s)://host[:port] exits 2
    with one line naming the option, before anything is written or sent."""
    args = [str(tmp_path / "out") if arg == "DIR" else arg for arg in args]
    assert main(["grafana", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"watchkeeper: error: {message}"
    assert not (tmp_path / "out").exists()
