"""What the sidecar costs and carries, measured (README: Sidecar).

    python -m bench.sidecar.bench_sidecar                # spool + HTTP ingest, no Kafka
    python -m bench.sidecar.bench_sidecar --kafka        # also forwarding to a real broker

1. The spool alone: appends of one OTLP request's messages (50 traces of one GenAI span,
   about 20 KB), with and without fsync, then reading and committing them all.
2. ``watchkeeper sidecar`` as a process: OTLP/HTTP protobuf requests of 100 spans posted
   by 4 client threads; spans per second accepted (on disk) and the sidecar's CPU per
   span (from /proc, user + system).
3. With ``--kafka``: a broker of its own; the spool filled while Kafka is stopped, then
   the time from the broker's return to an empty spool, in messages per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from tests.sidecar.process import SidecarProcess, llm_request
from watchkeeper.ingest.otlp.split import messages_by_trace
from watchkeeper.ingest.sidecar.spool import Spool


def bench_spool(directory: Path, fsync: bool, appends: int = 2000) -> dict[str, float]:
    """Appends per second and MB/s into a fresh spool; then drain rate."""
    request = llm_request("bench", 0, 50)
    messages = messages_by_trace(request)
    size = sum(len(k) + len(v) for k, v in messages)
    spool = Spool(directory, max_bytes=4 << 30, fsync=fsync)
    started = time.perf_counter()
    for _ in range(appends):
        spool.append(messages)
    append_s = time.perf_counter() - started
    started = time.perf_counter()
    drained = 0
    while entries := spool.read(500, 4 << 20):
        spool.commit(entries)
        drained += len(entries)
    drain_s = time.perf_counter() - started
    spool.close()
    return {
        "request_kb": size / 1024,
        "appends_per_s": appends / append_s,
        "mb_per_s": appends * size / append_s / 1e6,
        "drain_messages_per_s": drained / drain_s,
    }


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_http(workdir: Path, requests: int = 400, threads: int = 4) -> dict[str, float]:
    """Spans/s accepted over OTLP/HTTP by a sidecar process, and its CPU per span."""
    body = llm_request("bench-http", 0, 100).SerializeToString()
    with SidecarProcess(
        workdir / "spool-http",
        "127.0.0.1:1",
        "t",
        extra_args=["--spool-max-bytes", str(4 << 30)],
    ) as sidecar:
        assert sidecar.process is not None
        url = f"{sidecar.url}/v1/traces"
        headers = {"content-type": "application/x-protobuf"}
        with httpx.Client() as warm:
            for _ in range(20):
                warm.post(url, content=body, headers=headers).raise_for_status()
        cpu_before = _cpu_s(sidecar.process.pid)

        def post(count: int) -> None:
            with httpx.Client() as client:
                for _ in range(count):
                    client.post(url, content=body, headers=headers).raise_for_status()

        workers = [
            threading.Thread(target=post, args=(requests // threads,)) for _ in range(threads)
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        wall = time.perf_counter() - started
        cpu = _cpu_s(sidecar.process.pid) - cpu_before
    spans = requests // threads * threads * 100
    return {"spans_per_s": spans / wall, "cpu_us_per_span": cpu / spans * 1e6}


def bench_forward(workdir: Path, requests: int = 500) -> dict[str, float]:
    """Messages/s from a full spool into Kafka once the broker is back."""
    from tests.support.kafka_broker import KafkaBroker, create_topic

    with KafkaBroker(num_partitions=3) as broker:
        create_topic(broker.bootstrap, "otlp_spans", 3)
        with SidecarProcess(
            workdir / "spool-kafka",
            broker.bootstrap,
            "otlp_spans",
            extra_args=["--spool-max-bytes", str(4 << 30)],
        ) as sidecar:
            broker.stop(keep_data=True)
            run = uuid.uuid4().hex
            for i in range(requests):
                sidecar.post(llm_request(run, i * 100, 100).SerializeToString())
            pending = sidecar.metrics()["watchkeeper_sidecar_spool_records"]
            broker.start()
            back = time.perf_counter()
            first = None
            deadline = back + 600
            while time.perf_counter() < deadline:
                metrics = sidecar.metrics()
                if first is None and metrics["watchkeeper_sidecar_forwarded_messages_total"] > 0:
                    first = time.perf_counter()
                if metrics["watchkeeper_sidecar_spool_records"] == 0:
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError("the spool did not drain")
            done = time.perf_counter()
    assert first is not None
    return {
        "messages": pending,
        "recovery_s": done - back,
        "reconnect_s": first - back,
        "messages_per_s": pending / (done - first),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(prog="python -m bench.sidecar.bench_sidecar")
    parser.add_argument("--kafka", action="store_true", help="also measure forwarding")
    parser.add_argument(
        "--only", choices=["spool", "http", "kafka"], help="run one measurement only"
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    parts = {args.only} if args.only else {"spool", "http"} | ({"kafka"} if args.kafka else set())
    with tempfile.TemporaryDirectory(prefix="wk-bench-sidecar-") as scratch:
        workdir = Path(scratch)
        for fsync in (True, False) if "spool" in parts else ():
            rounds = [
                bench_spool(workdir / f"spool-{fsync}-{r}", fsync) for r in range(args.rounds)
            ]
            print(
                f"spool fsync={fsync}: request {rounds[0]['request_kb']:.1f} KB, "
                f"{statistics.median(r['appends_per_s'] for r in rounds):,.0f} appends/s, "
                f"{statistics.median(r['mb_per_s'] for r in rounds):,.1f} MB/s; drain "
                f"{statistics.median(r['drain_messages_per_s'] for r in rounds):,.0f} messages/s"
            )
        if "http" in parts:
            http = [bench_http(workdir / f"http-{r}") for r in range(args.rounds)]
            print(
                f"sidecar OTLP/HTTP ingest (4 clients, 100 spans/request, fsync on): "
                f"{statistics.median(r['spans_per_s'] for r in http):,.0f} spans/s, "
                f"{statistics.median(r['cpu_us_per_span'] for r in http):.1f} us CPU/span"
            )
        if "kafka" in parts:
            forward = bench_forward(workdir)
            print(
                f"forwarding after a broker outage: {forward['messages']:.0f} messages, spool "
                f"empty {forward['recovery_s']:.1f} s after the broker was back (reconnect "
                f"{forward['reconnect_s']:.1f} s), {forward['messages_per_s']:,.0f} messages/s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
