"""``--grpc-port``, as every command with an OTLP/gRPC receiver spells it."""

from __future__ import annotations

import argparse


def add_grpc_port_option(parser: argparse.ArgumentParser) -> None:
    """``--grpc-port PORT|off`` into the ``grpc_port`` setting (checked with the others)."""
    parser.add_argument(
        "--grpc-port",
        dest="grpc_port",
        metavar="PORT|off",
        help="OTLP/gRPC port (default: 4317; 0 = any, and so when --port is 0; "
        "off = no gRPC receiver)",
    )
