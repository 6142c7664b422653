"""``watchkeeper up`` (embedded: OTLP/HTTP in) and ``watchkeeper collect`` (from Kafka)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from watchkeeper.collector.commands.options import (
    add_server_options,
    collector_errors,
    collector_settings,
)
from watchkeeper.ingest.commands import Command, Subcommands, wait_for_stop
from watchkeeper.ingest.grpc.options import add_grpc_port_option

if TYPE_CHECKING:
    from watchkeeper.collector.receivers.kafka import KafkaReceiver
    from watchkeeper.collector.runtime import Runtime
    from watchkeeper.collector.settings import Settings


def add_up_parser(commands: Subcommands) -> argparse.ArgumentParser:
    """The ``up`` subcommand."""
    up = commands.add_parser(
        "up",
        help="run watchkeeper embedded: OTLP/HTTP and gRPC in, chDB, review UI, /metrics",
        description="Receive spans from your app over OTLP/HTTP (POST /v1/traces; the SDK's "
        "default target) and OTLP/gRPC (port 4317), run the detectors, store in chDB under "
        "the data directory, and serve the review UI, the review API (/docs) and /metrics. "
        "Ctrl-C stops.",
    )
    add_server_options(up)
    add_grpc_port_option(up)
    return up


def add_collect_parser(commands: Subcommands) -> argparse.ArgumentParser:
    """The ``collect`` subcommand."""
    collect = commands.add_parser(
        "collect",
        help="consume spans from Kafka in a consumer group into ClickHouse",
        description="Join a Kafka consumer group on the spans topic (otlp_proto or otlp_json), "
        "run the pipeline, store in chDB or a ClickHouse server, and serve the review API, "
        "UI and /metrics. Offsets are committed only after the store confirms.",
    )
    add_server_options(collect)
    collect.add_argument(
        "--kafka-bootstrap",
        metavar="HOST:PORT[,...]",
        help="Kafka bootstrap servers (default: 127.0.0.1:9092)",
    )
    collect.add_argument("--kafka-topic", metavar="TOPIC", help="topic (default: otlp_spans)")
    collect.add_argument(
        "--kafka-group", metavar="GROUP", help="consumer group (default: watchkeeper-collector)"
    )
    collect.add_argument(
        "--store",
        choices=["chdb", "clickhouse"],
        help="chdb (embedded, default) or clickhouse (a server)",
    )
    collect.add_argument(
        "--clickhouse-url",
        metavar="URL",
        help="ClickHouse server, e.g. http://user:pass@host:8123/",
    )
    return collect


def run_up(args: argparse.Namespace) -> int:
    """OTLP/HTTP receiver, pipeline, store, review UI and /metrics until stopped."""
    from watchkeeper.collector.runtime import start_runtime, tune_for_throughput

    settings = collector_settings(args)
    tune_for_throughput()
    runtime = start_runtime(settings)
    what = f"OTLP/HTTP on {runtime.server.url}/v1/traces"
    if runtime.grpc is not None:
        what += f" and OTLP/gRPC on {runtime.grpc.endpoint}"
    return _serve(settings, runtime, what)


def run_collect(args: argparse.Namespace) -> int:
    """A Kafka consumer feeding the pipeline, with the review UI and /metrics, until stopped."""
    from watchkeeper.collector.runtime import start_runtime, tune_for_throughput

    settings = collector_settings(args)
    tune_for_throughput()
    runtime = start_runtime(settings, with_otlp=False)
    try:
        receiver = _start_receiver(settings, runtime)
    except BaseException:
        runtime.close()
        raise
    what = f"consuming {settings.kafka.topic} from {settings.kafka.bootstrap}"
    return _serve(settings, runtime, what, receiver)


def _start_receiver(settings: Settings, runtime: Runtime) -> KafkaReceiver:
    from watchkeeper.collector.receivers.kafka import KafkaDeadLetterTopic, KafkaReceiver

    kafka = settings.kafka
    receiver = KafkaReceiver(
        runtime.pipeline,
        bootstrap=kafka.bootstrap,
        topic=kafka.topic,
        group=kafka.group,
        max_batch=kafka.max_batch,
        session_timeout_s=kafka.session_timeout_s,
        checkpoint_s=settings.pipeline.state_checkpoint_s,
        client=kafka.client,
    )
    if kafka.dead_letter_topic:
        sink = KafkaDeadLetterTopic(kafka.bootstrap, kafka.dead_letter_topic)
        runtime.pipeline.dead_letter_sink = sink
        receiver.dead_letters = sink
    receiver.start()
    return receiver


def _serve(
    settings: Settings, runtime: Runtime, what: str, receiver: KafkaReceiver | None = None
) -> int:
    """Say where everything is, then run until SIGTERM or Ctrl-C; stop cleanly."""
    storage = settings.storage
    where = storage.data_dir if storage.store == "chdb" else storage.store
    url = runtime.server.url
    print(
        f"watchkeeper {what}; review UI {url}/, metrics {url}/metrics, data {where}. Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    if runtime.admin is not None and runtime.admin.file is not None:
        made = "created" if runtime.admin.created else "in"
        print(f"review UI admin token: {made} {runtime.admin.file}", file=sys.stderr, flush=True)
    try:
        wait_for_stop()
    finally:
        if receiver is not None:
            receiver.stop()
        runtime.close()
    return 0


UP = Command(
    add_parser=add_up_parser,
    run=run_up,
    errors=collector_errors,
    position=20,
    examples=(
        "  watchkeeper up                         "
        + "embedded collector for your own app (OTLP/HTTP)",
    ),
)
COLLECT = Command(
    add_parser=add_collect_parser,
    run=run_collect,
    errors=collector_errors,
    position=30,
    examples=(
        "  watchkeeper collect --kafka-bootstrap kafka:9092 --store clickhouse \\\n"
        "      --clickhouse-url http://clickhouse:8123",
    ),
)
