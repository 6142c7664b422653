"""The ``watchkeeper`` command line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EPILOG = """\
configuration: defaults < --config FILE (TOML, keys as in `[watchkeeper]`) <
WATCHKEEPER_* environment variables < command-line options. A wrong key or value stops
the command with a message naming it.

examples:
  watchkeeper demo                       live demo on http://127.0.0.1:4318
  watchkeeper demo --duration 30         headless: 30 s of traffic, then a summary
  watchkeeper up                         embedded collector for your own app (OTLP/HTTP)
  watchkeeper collect --kafka-bootstrap kafka:9092 --store clickhouse \\
      --clickhouse-url http://clickhouse:8123
  watchkeeper replay calls.jsonl > scores.jsonl   score recorded calls, store them
  watchkeeper tokens create --role reviewer --name ana   an API token for the review UI
  watchkeeper evalset export --queue alarms --since 7d --format jsonl -o evalset.jsonl
  watchkeeper sidecar --kafka-bootstrap kafka:9092   OTLP/HTTP on :4318 -> disk spool -> Kafka
  watchkeeper grafana export grafana/    dashboards + provisioning files for Grafana
  watchkeeper grafana push --url http://grafana:3000 --token "$GRAFANA_TOKEN"
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watchkeeper",
        description="Production quality monitoring for LLM applications.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity on stderr (default: WARNING)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="run a sample LLM app against an embedded watchkeeper",
        description="Start watchkeeper embedded (OTLP/HTTP receiver -> pipeline -> chDB under "
        "the data directory, review UI and /metrics on localhost) and drive an instrumented "
        "sample support bot with deterministic traffic whose inputs drift halfway. Shows a "
        "live view until Ctrl-C, or with --duration runs headless and prints a summary.",
    )
    _add_server_options(demo)
    demo.add_argument(
        "--duration",
        type=_positive_float,
        metavar="SECONDS",
        help="run headless for this long, print a summary, exit",
    )
    demo.add_argument(
        "--rate",
        type=_positive_float,
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

    up = commands.add_parser(
        "up",
        help="run watchkeeper embedded: OTLP/HTTP in, chDB, review UI, /metrics",
        description="Receive spans from your app over OTLP/HTTP (POST /v1/traces; the SDK's "
        "default target), run the detectors, store in chDB under the data directory, and "
        "serve the review UI, the review API (/docs) and /metrics. Ctrl-C stops.",
    )
    _add_server_options(up)

    collect = commands.add_parser(
        "collect",
        help="consume spans from Kafka in a consumer group into ClickHouse",
        description="Join a Kafka consumer group on the spans topic (otlp_proto or otlp_json), "
        "run the pipeline, store in chDB or a ClickHouse server, and serve the review API, "
        "UI and /metrics. Offsets are committed only after the store confirms.",
    )
    _add_server_options(collect)
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
    _add_sidecar_command(commands)
    _add_grafana_command(commands)
    from watchkeeper.collector.evalset.command import add_evalset_command
    from watchkeeper.collector.review.command import add_tokens_command

    add_evalset_command(commands)
    add_tokens_command(commands)
    replay = commands.add_parser(
        "replay",
        help="run recorded calls (JSON Lines) through the detectors; one JSON line per call",
        description="Read one JSON object per line (input, output; optional contexts, model, "
        "route, service, ts, duration_s, error, input_tokens, output_tokens, finish_reasons), "
        "run the pipeline, store the calls like live traffic, and write "
        '{"index": i, "scores": {...}, "alarms": [...]} per call to stdout. Bad lines are '
        "reported on stderr and skipped; the exit status is then 1.",
    )
    replay.add_argument("file", type=Path, metavar="FILE.jsonl", help="recorded calls ('-': stdin)")
    replay.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where chDB keeps data (default: ./.watchkeeper)",
    )
    replay.add_argument(
        "--no-store", action="store_true", help="score only: store in a throwaway directory"
    )
    return parser


def _add_sidecar_command(commands: Any) -> None:
    sidecar = commands.add_parser(
        "sidecar",
        help="next to an app: OTLP/HTTP in, durable disk spool, forward to Kafka",
        description="Receive spans over OTLP/HTTP (POST /v1/traces, protobuf or JSON), keep "
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


def _add_grafana_command(commands: Any) -> None:
    grafana = commands.add_parser(
        "grafana",
        help="Grafana dashboards and alerting as code: export files or push them",
        description="watchkeeper's Grafana dashboards (overview, detector drill-down, review "
        "queues), alert rules, alert-history contact point and notification policy.",
    )
    actions = grafana.add_subparsers(dest="grafana_command", metavar="ACTION", required=True)
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
    for parser in (export, push):
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


def _add_server_options(parser: argparse.ArgumentParser) -> None:
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


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``watchkeeper`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.log_level != "DEBUG":
        # kafka-python logs every failed connection attempt at ERROR; our receiver reports
        # what matters once, in one line.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    from watchkeeper.collector.alerting import GrafanaError
    from watchkeeper.collector.receivers.kafka import ReceiverError
    from watchkeeper.collector.replay import ReplayError
    from watchkeeper.collector.server import ServerError
    from watchkeeper.collector.settings import ConfigError
    from watchkeeper.collector.sidecar.spool import SpoolError
    from watchkeeper.collector.store.backend import StoreError

    try:
        return _dispatch(args)
    except (
        ConfigError,
        StoreError,
        ReceiverError,
        ServerError,
        ReplayError,
        SpoolError,
        GrafanaError,
    ) as exc:
        if args.debug:
            raise
        print(f"watchkeeper: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:  # noqa: PLR0911 - one return per command
    from watchkeeper.collector.settings import load_settings

    overrides: dict[str, Any] = {
        key: getattr(args, key, None)
        for key in (
            "data_dir",
            "http_host",
            "http_port",
            "kafka_bootstrap",
            "kafka_topic",
            "kafka_group",
            "store",
            "clickhouse_url",
            "dead_letter_topic",
            "sidecar_spool_dir",
            "sidecar_spool_max_bytes",
        )
    }
    settings = load_settings(args.config, overrides)
    if args.command == "demo":
        from watchkeeper.collector.demo.run import DemoOptions, run_demo

        drift_after = args.drift_after
        if drift_after is None:
            drift_after = int(args.duration * args.rate / 2) if args.duration else 300
        return run_demo(
            settings,
            DemoOptions(
                duration_s=args.duration, rate=args.rate, seed=args.seed, drift_after=drift_after
            ),
        )
    if args.command == "replay":
        from watchkeeper.collector.replay import ReplayOptions, run_replay

        return run_replay(settings, ReplayOptions(args.file, store=not args.no_store))
    if args.command == "sidecar":
        from watchkeeper.collector.sidecar.run import run_sidecar

        return run_sidecar(settings)
    if args.command == "grafana":
        from watchkeeper.collector.alerting.command import run_grafana

        return run_grafana(settings, args)
    if args.command in ("evalset", "tokens"):
        from watchkeeper.collector.evalset.command import run_evalset
        from watchkeeper.collector.review.command import run_tokens

        return (run_evalset if args.command == "evalset" else run_tokens)(settings, args)
    if args.command == "up":
        return _serve(settings, kafka=False)
    return _serve(settings, kafka=True)


def _serve(settings: Any, *, kafka: bool) -> int:
    from watchkeeper.collector.receivers.kafka import KafkaReceiver
    from watchkeeper.collector.runtime import start_runtime, tune_for_throughput

    tune_for_throughput()
    receiver = None
    if kafka:
        runtime = start_runtime(settings, with_otlp=False)
        receiver = KafkaReceiver(
            runtime.pipeline,
            bootstrap=settings.kafka_bootstrap,
            topic=settings.kafka_topic,
            group=settings.kafka_group,
            max_batch=settings.kafka_max_batch,
            session_timeout_s=settings.kafka_session_timeout_s,
            checkpoint_s=settings.state_checkpoint_s,
            client=settings.kafka_client,
        )
        try:
            if settings.dead_letter_topic:
                from watchkeeper.collector.receivers.kafka import KafkaDeadLetterTopic

                sink = KafkaDeadLetterTopic(settings.kafka_bootstrap, settings.dead_letter_topic)
                runtime.pipeline.dead_letter_sink = sink
                receiver.dead_letters = sink
            receiver.start()
        except BaseException:
            runtime.close()
            raise
        what = f"consuming {settings.kafka_topic} from {settings.kafka_bootstrap}"
    else:
        runtime = start_runtime(settings)
        what = f"OTLP/HTTP on {runtime.server.url}/v1/traces"
    where = settings.data_dir if settings.store == "chdb" else settings.store
    url = runtime.server.url
    print(
        f"watchkeeper {what}; review UI {url}/, metrics {url}/metrics, data {where}. Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    if runtime.admin is not None and runtime.admin.file is not None:
        made = "created" if runtime.admin.created else "in"
        print(f"review UI admin token: {made} {runtime.admin.file}", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if receiver is not None:
            receiver.stop()
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
