"""``watchkeeper grafana export|push``: options from the command line and the settings."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

from watchkeeper.collector.alerting import GrafanaError
from watchkeeper.collector.alerting.export import GrafanaOptions, export, grafana_objects
from watchkeeper.collector.settings import Settings


def grafana_options(settings: Settings, args: argparse.Namespace) -> GrafanaOptions:
    """Defaults, then the settings (database, clickhouse_url), then the command line."""
    options = GrafanaOptions(database=settings.database)
    if settings.clickhouse_url:  # also set by --clickhouse-url
        options = replace(options, clickhouse_url=settings.clickhouse_url)
    for name in ("collector_url", "prometheus_url", "page_receiver", "dashboards_path"):
        value = getattr(args, name, None)
        if value:
            options = replace(options, **{name: value})
    return options


def run_grafana(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``grafana export DIR`` or ``grafana push``; exit status 0 on success."""
    options = grafana_options(settings, args)
    if args.grafana_command == "export":
        written = export(args.dir, options)
        print(f"wrote {len(written)} files under {args.dir}", file=sys.stderr)
        return 0
    from watchkeeper.collector.alerting.push import push

    # Pushed through the API, the contact point needs the token itself, not a placeholder.
    alerts_token = os.environ.get("WATCHKEEPER_ALERTS_TOKEN", "")
    if alerts_token:
        options = replace(options, alerts_token=alerts_token)
    url = args.url or os.environ.get("GRAFANA_URL", "")
    token = args.token or os.environ.get("GRAFANA_TOKEN", "")
    if not url:
        raise GrafanaError("no Grafana URL: pass --url or set GRAFANA_URL")
    if not token:
        raise GrafanaError("no Grafana token: pass --token or set GRAFANA_TOKEN")
    result = push(
        url,
        token,
        grafana_objects(options),
        with_datasources=not args.no_datasources,
        page_receiver=args.page_receiver,
        report=lambda line: print(line, file=sys.stderr),
    )
    changed = sum(action != "unchanged" for action in result.actions.values())
    print(f"{changed} of {len(result.actions)} objects changed in {url}", file=sys.stderr)
    return 0
