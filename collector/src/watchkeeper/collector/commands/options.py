"""What the collector's commands share: server options, the settings, the errors they report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from watchkeeper.ingest.commands import command_settings

if TYPE_CHECKING:
    from watchkeeper.collector.settings import Settings


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """--data-dir, --host and --port, as every serving command spells them."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where chDB keeps data (default: ./.watchkeeper)",
    )
    parser.add_argument(
        "--host", dest="http_host", metavar="ADDR", help="address to bind (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        dest="http_port",
        type=int,
        metavar="PORT",
        help="HTTP port for OTLP, API, UI and /metrics (default: 4318; 0 = any)",
    )


def positive_float(text: str) -> float:
    """An argparse type: a number greater than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def collector_settings(args: argparse.Namespace) -> Settings:
    """The collector's settings for a parsed command line."""
    from watchkeeper.collector.settings import Settings

    return command_settings(Settings, args)


def collector_errors() -> tuple[type[Exception], ...]:
    """The collector's failures a user can fix, reported in one line (exit status 2)."""
    from watchkeeper.collector.alerting import GrafanaError
    from watchkeeper.collector.receivers.kafka import ReceiverError
    from watchkeeper.collector.replay import ReplayError
    from watchkeeper.collector.store.backend import StoreError

    return (StoreError, ReceiverError, ReplayError, GrafanaError)
