"""``watchkeeper grafana export|push``: options from the command line and the settings."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from urllib.parse import urlsplit

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
    check_url("--collector-url", options.collector_url)
    check_url("--prometheus-url", options.prometheus_url)
    return options


def check_url(option: str, url: str) -> None:
    """:class:`GrafanaError` unless ``url`` is ``http(s)://host[:port][/path]``: a URL
    without a scheme or host would be provisioned as is and fail only inside Grafana."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise GrafanaError(f"{option} {url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise GrafanaError(f"{option} {url!r} is not an http(s)://host[:port] URL")
    if parts.query or parts.fragment:
        raise GrafanaError(f"{option} {url!r} must not carry a query or fragment")


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
    check_url("--url", url)
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
