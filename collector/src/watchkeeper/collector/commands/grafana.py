"""``watchkeeper grafana export|push``: dashboards and alerting as code."""

from __future__ import annotations

import argparse
from pathlib import Path

from watchkeeper.collector.commands.options import collector_errors, collector_settings
from watchkeeper.ingest.commands import Command, Subcommands


def add_parser(commands: Subcommands) -> argparse.ArgumentParser:
    """The ``grafana`` subcommand and its actions."""
    grafana = commands.add_parser(
        "grafana",
        help="Grafana dashboards and alerting as code: export files or push them",
        description="watchkeeper's Grafana dashboards (overview, detector drill-down, review "
        "queues), alert rules, alert-history contact point and notification policy.",
    )
    actions = grafana.add_subparsers(dest="grafana_command", metavar="ACTION", required=True)
    for action in (_add_export(actions), _add_push(actions)):
        _add_grafana_options(action)
    return grafana


def _add_export(actions: Subcommands) -> argparse.ArgumentParser:
    export = actions.add_parser(
        "export",
        help="write dashboards JSON and provisioning YAML to a directory",
        description="Write <uid>.json per dashboard and provisioning/{datasources,dashboards,"
        "alerting}/watchkeeper.yaml under DIR, for Grafana's file provisioning.",
    )
    export.add_argument("dir", type=Path, metavar="DIR", help="output directory (created)")
    export.add_argument(
        "--dashboards-path",
        metavar="PATH",
        help="where Grafana will find the JSON files "
        "(default: /var/lib/grafana/dashboards/watchkeeper)",
    )
    return export


def _add_push(actions: Subcommands) -> argparse.ArgumentParser:
    push = actions.add_parser(
        "push",
        help="create or update everything in a Grafana through its HTTP API (idempotent)",
        description="Upload the folder, data sources, dashboards, contact point and alert "
        "rules, and merge watchkeeper's routes into the notification policy tree. Objects "
        "already up to date are left alone, so pushing twice changes nothing.",
    )
    push.add_argument(
        "--url",
        metavar="URL",
        help="Grafana base URL (default: $GRAFANA_URL), e.g. http://grafana:3000",
    )
    push.add_argument(
        "--token", metavar="TOKEN", help="service account token (default: $GRAFANA_TOKEN)"
    )
    push.add_argument(
        "--no-datasources",
        action="store_true",
        help="leave data sources alone (they exist with uids watchkeeper-prometheus and "
        "watchkeeper-clickhouse)",
    )
    return push


def _add_grafana_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--collector-url",
        metavar="URL",
        help="collector base URL as Grafana reaches it, for the alert-history webhook "
        "(default: http://watchkeeper-collector:4318)",
    )
    parser.add_argument(
        "--prometheus-url",
        metavar="URL",
        help="Prometheus URL for the data source (default: http://prometheus:9090)",
    )
    parser.add_argument(
        "--clickhouse-url",
        metavar="URL",
        help="ClickHouse server for the data source (default: the clickhouse_url "
        "setting, else http://clickhouse:8123)",
    )
    parser.add_argument(
        "--page-receiver",
        metavar="NAME",
        help="contact point that pages on-call (default: grafana-default-email; push: "
        "the policy tree's root receiver)",
    )


def run(args: argparse.Namespace) -> int:
    """Export the files or push them; exit status 0 on success."""
    from watchkeeper.collector.alerting.command import run_grafana

    return run_grafana(collector_settings(args), args)


COMMAND = Command(
    add_parser=add_parser,
    run=run,
    errors=collector_errors,
    position=50,
    examples=(
        "  watchkeeper grafana export grafana/    dashboards + provisioning files for Grafana",
        '  watchkeeper grafana push --url http://grafana:3000 --token "$GRAFANA_TOKEN"',
    ),
)
