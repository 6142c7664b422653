"""``watchkeeper up`` with a judge: one clear line for a missing key or an endpoint that
does not answer, and judge scores beside the detectors' within a minute of traffic."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from tests.judge.standin import StandIn, free_port

WATCHKEEPER = [sys.executable, "-m", "watchkeeper.collector.cli"]


def _env(**keys: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    env.update({f"WATCHKEEPER_{k.upper()}": v for k, v in keys.items()})
    return env


def test_a_missing_key_variable_stops_start_with_one_line(tmp_path: Path) -> None:
    """A judge whose api_key_env names an unset variable: exit 2, one line naming it."""
    result = subprocess.run(
        [*WATCHKEEPER, "up", "--data-dir", str(tmp_path / "data"), "--port", "0"],
        cwd=tmp_path,
        env=_env(
            judge_base_url="http://127.0.0.1:9/v1",
            judge_model="m",
            judge_api_key_env="WK_TEST_UNSET_JUDGE_KEY",
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "WK_TEST_UNSET_JUDGE_KEY" in lines[0]
    assert "judge_api_key_env" in lines[0]


@contextmanager
def _running_up(tmp_path: Path, **keys: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``watchkeeper up`` on a free port; yields the process and its base URL."""
    log = (tmp_path / "stderr.log").open("w+")
    process = subprocess.Popen(
        [*WATCHKEEPER, "up", "--data-dir", str(tmp_path / "data"), "--port", str(free_port())],
        cwd=tmp_path,
        env=_env(grpc_port="off", **keys),
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    try:
        url = ""
        deadline = time.monotonic() + 90
        while not url and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            found = re.search(r"OTLP/HTTP on (http://[\d.:]+)/v1/traces", _read(log))
            url = found.group(1) if found else ""
        assert url, _read(log)
        yield process, url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        log.close()


def _read(log: object) -> str:
    log.seek(0)  # type: ignore[attr-defined]
    return str(log.read())  # type: ignore[attr-defined]


def test_an_endpoint_that_does_not_answer_is_one_warning_line(tmp_path: Path) -> None:
    """The collector starts and serves; the judge's unreachable endpoint is one warning
    line naming it, and no traceback."""
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with _running_up(tmp_path, judge_base_url=dead, judge_model="m") as (_, url):
        deadline = time.monotonic() + 30
        while "does not answer" not in (tmp_path / "stderr.log").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.2)
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
            assert response.status == 200
    text = (tmp_path / "stderr.log").read_text()
    warnings = [line for line in text.splitlines() if "judge" in line]
    assert len(warnings) == 1, text
    assert dead in warnings[0]
    assert "Traceback" not in text


def test_judge_scores_appear_within_a_minute_of_traffic(tmp_path: Path, standin: StandIn) -> None:
    """Calls sent to ``watchkeeper up`` with a judge on the stand-in get their
    judge.default.* scores beside the detectors' (the score histogram on /metrics, then
    call_scores in the store) well within a minute."""
    keys = {"judge_base_url": standin.url, "judge_model": "standin", "judge_sample_rate": "1"}
    with _running_up(tmp_path, **keys) as (_, url):
        started = time.monotonic()
        request = urllib.request.Request(
            f"{url}/v1/traces",
            data=protobuf_payload(answer_spans(3)),
            headers={"content-type": "application/x-protobuf"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        wanted = 'watchkeeper_detector_score_count{score="judge.default.helpfulness"} 3.0'
        metrics = ""
        while wanted not in metrics and time.monotonic() - started < 60:
            time.sleep(0.5)
            with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
                metrics = response.read().decode()
        elapsed = time.monotonic() - started
        assert wanted in metrics, metrics
        print(f"judge scores of 3 calls on /metrics {elapsed:.1f} s after the request")
    from watchkeeper.collector.store.chdb_backend import ChdbBackend
    from watchkeeper.collector.store.store import Store

    store = Store(ChdbBackend(tmp_path / "data" / "chdb"))
    try:
        rows = store.select("SELECT Scores FROM {db}.call_scores FINAL")
    finally:
        store.close()
    assert len(rows) == 3
    assert all(row["Scores"]["judge.default.helpfulness"] == 3.0 for row in rows)
    assert all("input_length_drift.input_drift" in row["Scores"] for row in rows)
