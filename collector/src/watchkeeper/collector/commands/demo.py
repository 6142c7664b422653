"""``watchkeeper demo``: a sample LLM app against an embedded watchkeeper."""

from __future__ import annotations

import argparse

from watchkeeper.collector.commands.options import (
    add_server_options,
    collector_errors,
    collector_settings,
    positive_float,
)
from watchkeeper.ingest.commands import Command, Subcommands
from watchkeeper.ingest.grpc.options import add_grpc_port_option


def add_parser(commands: Subcommands) -> argparse.ArgumentParser:
    """The ``demo`` subcommand."""
    demo = commands.add_parser(
        "demo",
        help="run a sample LLM app against an embedded watchkeeper",
        description="Start watchkeeper embedded (OTLP/HTTP receiver -> pipeline -> chDB under "
        "the data directory, review UI and /metrics on localhost) and drive an instrumented "
        "sample support bot with deterministic traffic whose inputs drift halfway. Shows a "
        "live view until Ctrl-C, or with --duration runs headless and prints a summary.",
    )
    add_server_options(demo)
    add_grpc_port_option(demo)
    demo.add_argument(
        "--duration",
        type=positive_float,
        metavar="SECONDS",
        help="run headless for this long, print a summary, exit",
    )
    demo.add_argument(
        "--rate",
        type=positive_float,
        default=25.0,
        metavar="CALLS_PER_S",
        help="traffic rate (default: 25 calls/s)",
    )
    demo.add_argument("--seed", type=int, default=7, help="traffic seed (default: 7)")
    demo.add_argument(
        "--drift-after",
        type=int,
        default=None,
        metavar="CALLS",
        help="calls before inputs drift (default: half the calls of --duration, or 300)",
    )
    return demo


def run(args: argparse.Namespace) -> int:
    """Run the demo; headless with ``--duration``."""
    from watchkeeper.collector.demo.run import DemoOptions, run_demo

    settings = collector_settings(args)
    drift_after = args.drift_after
    if drift_after is None:
        drift_after = int(args.duration * args.rate / 2) if args.duration else 300
    options = DemoOptions(
        duration_s=args.duration, rate=args.rate, seed=args.seed, drift_after=drift_after
    )
    return run_demo(settings, options)


COMMAND = Command(
    add_parser=add_parser,
    run=run,
    errors=collector_errors,
    position=10,
    examples=(
        "  watchkeeper demo                       live demo on http://127.0.0.1:4318",
        "  watchkeeper demo --duration 30         headless: 30 s of traffic, then a summary",
    ),
)
