"""``watchkeeper grafana export DIR``: dashboards and provisioning files for Grafana.

Layout of ``DIR`` (the committed ``dashboards/grafana/`` is this command's output with
default options; a test keeps them identical)::

    <uid>.json                                   one file per dashboard
    provisioning/datasources/watchkeeper.yaml    Prometheus and ClickHouse data sources
    provisioning/dashboards/watchkeeper.yaml     file provider for the dashboard JSON
    provisioning/alerting/watchkeeper.yaml       alert rules, contact point, policy

Mount ``provisioning/`` as Grafana's provisioning directory and the JSON files at
``dashboards_path``. Secrets never land in files: a ClickHouse password is referenced as
``$CLICKHOUSE_PASSWORD``, which Grafana reads from its environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml  # type: ignore[import-untyped,unused-ignore]

from watchkeeper.collector.alerting import GrafanaError
from watchkeeper.collector.alerting.clickhouse_query import PLUGIN_ID
from watchkeeper.collector.alerting.dashboards import DashboardOptions, build_dashboards
from watchkeeper.collector.alerting.grafana_alerts import (
    CLICKHOUSE_UID,
    FOLDER_TITLE,
    FOLDER_UID,
    PROMETHEUS_UID,
    AlertingOptions,
    alert_rules,
    contact_point,
    notification_policy,
    rules_file,
)

#: Environment variable Grafana expands into the ClickHouse password at provisioning.
PASSWORD_ENV = "CLICKHOUSE_PASSWORD"
DEFAULT_CLICKHOUSE_URL = "http://clickhouse:8123"
DEFAULT_PROMETHEUS_URL = "http://prometheus:9090"


@dataclass(frozen=True)
class GrafanaOptions:
    """Where things are, as seen from Grafana."""

    database: str = "watchkeeper"
    collector_url: str = "http://watchkeeper-collector:4318"
    prometheus_url: str = DEFAULT_PROMETHEUS_URL
    #: clickhouse-connect style DSN, e.g. ``http://user:pass@clickhouse:8123/``.
    clickhouse_url: str = DEFAULT_CLICKHOUSE_URL
    #: Contact point that pages on-call.
    page_receiver: str = "grafana-default-email"
    #: Where Grafana finds the dashboard JSON files (file provisioning).
    dashboards_path: str = "/var/lib/grafana/dashboards/watchkeeper"
    #: The contact point's bearer token for the alert webhook (the alerts role).
    alerts_token: str = AlertingOptions.alerts_token

    @property
    def alerting(self) -> AlertingOptions:
        """The options the alerting objects need."""
        return AlertingOptions(
            self.database, self.collector_url, self.page_receiver, self.alerts_token
        )

    @property
    def dashboards(self) -> DashboardOptions:
        """The options the dashboards need."""
        return DashboardOptions(self.database, self.collector_url)


@dataclass
class GrafanaObjects:
    """Everything watchkeeper provisions in Grafana, in the HTTP API's shapes."""

    dashboards: dict[str, dict[str, Any]]
    #: Data sources with ``secureJsonData`` holding real secrets (API only, never a file).
    datasources: list[dict[str, Any]]
    alert_rules: list[dict[str, Any]]
    contact_point: dict[str, Any]
    notification_policy: dict[str, Any]
    folder: dict[str, str] = field(
        default_factory=lambda: {"uid": FOLDER_UID, "title": FOLDER_TITLE}
    )


def grafana_objects(options: GrafanaOptions) -> GrafanaObjects:
    """Build every object (dashboards in code, alerting, data sources)."""
    alerting = options.alerting
    return GrafanaObjects(
        dashboards=build_dashboards(options.dashboards),
        datasources=datasources(options, secrets=True),
        alert_rules=alert_rules(alerting),
        contact_point=contact_point(alerting),
        notification_policy=notification_policy(alerting),
    )


def datasources(options: GrafanaOptions, *, secrets: bool) -> list[dict[str, Any]]:
    """The Prometheus and ClickHouse data sources the alert rules and dashboards use.

    With ``secrets=False`` a password is the ``$CLICKHOUSE_PASSWORD`` reference instead.
    """
    dsn = urlsplit(options.clickhouse_url)
    if dsn.scheme not in ("http", "https") or not dsn.hostname:
        raise GrafanaError(
            f"ClickHouse URL {options.clickhouse_url!r} is not http(s)://[user[:password]@]host[:port]"
        )
    secure = dsn.scheme == "https"
    clickhouse: dict[str, Any] = {
        "name": "watchkeeper ClickHouse",
        "uid": CLICKHOUSE_UID,
        "type": PLUGIN_ID,
        "access": "proxy",
        "jsonData": {
            "host": dsn.hostname,
            "port": dsn.port or (8443 if secure else 8123),
            "protocol": "http",
            "secure": secure,
            "username": dsn.username or "default",
            "defaultDatabase": options.database,
        },
    }
    if dsn.password:
        password = dsn.password if secrets else f"${PASSWORD_ENV}"
        clickhouse["secureJsonData"] = {"password": password}
    prometheus = {
        "name": "watchkeeper Prometheus",
        "uid": PROMETHEUS_UID,
        "type": "prometheus",
        "access": "proxy",
        "url": options.prometheus_url,
        "jsonData": {"httpMethod": "POST"},
    }
    return [prometheus, clickhouse]


def export(directory: Path, options: GrafanaOptions) -> list[Path]:
    """Write dashboards and provisioning files under ``directory``; returns the paths."""
    objects = grafana_objects(options)
    files: dict[Path, str] = {}
    for uid, model in sorted(objects.dashboards.items()):
        files[Path(f"{uid}.json")] = json.dumps(model, indent=2, sort_keys=True) + "\n"
    provisioning = Path("provisioning")
    files[provisioning / "datasources" / "watchkeeper.yaml"] = _yaml(
        "Data sources of watchkeeper's dashboards and alert rules.",
        {"apiVersion": 1, "datasources": datasources(options, secrets=False)},
    )
    files[provisioning / "dashboards" / "watchkeeper.yaml"] = _yaml(
        "Loads watchkeeper's dashboards (the JSON files) into the folder 'watchkeeper'.",
        {
            "apiVersion": 1,
            "providers": [
                {
                    "name": "watchkeeper",
                    "orgId": 1,
                    "folder": FOLDER_TITLE,
                    "folderUid": FOLDER_UID,
                    "type": "file",
                    "disableDeletion": False,
                    "allowUiUpdates": False,
                    "options": {"path": options.dashboards_path},
                }
            ],
        },
    )
    files[provisioning / "alerting" / "watchkeeper.yaml"] = _yaml(
        "watchkeeper's Grafana alert rules, the alert-history contact point and a notification "
        "policy.\n"
        "Grafana replaces the organisation's whole policy tree with this one; to merge into "
        "an\nexisting tree instead, use `watchkeeper grafana push`.",
        rules_file(objects.alert_rules, options.alerting),
    )
    written = []
    try:
        for relative, text in files.items():
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise GrafanaError(f"cannot write to {directory}: {exc.strerror or exc}") from None
    return written


def _yaml(comment: str, data: dict[str, Any]) -> str:
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    header += "# Generated by `watchkeeper grafana export`; edit the code, not this file.\n"
    body: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return header + body
