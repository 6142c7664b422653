"""``watchkeeper sidecar``: its options, and running it with its settings."""

from __future__ import annotations

import argparse
from pathlib import Path

from watchkeeper.ingest.commands import Command, Subcommands, command_settings
from watchkeeper.ingest.grpc.options import add_grpc_port_option
from watchkeeper.ingest.settings import COLLECTOR_KEYS, IngestSettings
from watchkeeper.ingest.sidecar.spool import SpoolError


def add_parser(commands: Subcommands) -> argparse.ArgumentParser:
    """The ``sidecar`` subcommand and its options."""
    sidecar = commands.add_parser(
        "sidecar",
        help="next to an app: OTLP/HTTP and gRPC in, durable disk spool, forward to Kafka",
        description="Receive spans over OTLP/HTTP (POST /v1/traces, protobuf or JSON) and "
        "OTLP/gRPC (port 4317), keep "
        "them in a size-bounded spool on disk, and forward them to the Kafka topic (one "
        "message per trace, key = trace id). A request is answered 200 once its spans are "
        "on disk; Kafka down or the sidecar restarted loses nothing. When the spool is full, "
        "requests get 503 and clients retry. Serves /metrics and /healthz on the same port.",
    )
    sidecar.add_argument(
        "--host", dest="http_host", metavar="ADDR", help="address to bind (default: 127.0.0.1)"
    )
    sidecar.add_argument(
        "--port",
        dest="http_port",
        type=int,
        metavar="PORT",
        help="HTTP port for OTLP, /metrics and /healthz (default: 4318; 0 = any)",
    )
    add_grpc_port_option(sidecar)
    sidecar.add_argument(
        "--kafka-bootstrap",
        metavar="HOST:PORT[,...]",
        help="Kafka bootstrap servers (default: 127.0.0.1:9092)",
    )
    sidecar.add_argument("--kafka-topic", metavar="TOPIC", help="topic (default: otlp_spans)")
    sidecar.add_argument(
        "--spool-dir",
        dest="sidecar_spool_dir",
        type=Path,
        metavar="DIR",
        help="spool directory (default: ./.watchkeeper/spool)",
    )
    sidecar.add_argument(
        "--spool-max-bytes",
        dest="sidecar_spool_max_bytes",
        type=int,
        metavar="BYTES",
        help="disk bound of the spool (default: 268435456, i.e. 256 MiB)",
    )
    return sidecar


def run(args: argparse.Namespace) -> int:
    """Run the sidecar until SIGTERM or Ctrl-C."""
    from watchkeeper.ingest.sidecar.run import run_sidecar

    # A config file or environment shared with a collector may hold its keys too.
    return run_sidecar(command_settings(IngestSettings, args, ignored=COLLECTOR_KEYS))


COMMAND = Command(
    add_parser=add_parser,
    run=run,
    errors=lambda: (SpoolError,),
    position=40,
    examples=(
        "  watchkeeper sidecar --kafka-bootstrap kafka:9092   "
        "OTLP on :4318 (HTTP) and :4317 (gRPC) -> disk spool -> Kafka",
    ),
)
