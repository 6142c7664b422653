"""The on-call path with real parts: watchkeeper up -> Prometheus (the shipped rules) ->
Alertmanager -> watchkeeper's alert history and a stand-in pager.

Rule windows, offsets, ``for:`` and group intervals are the shipped ones times
:data:`FACTOR` (a generated copy; the shipped files are not edited): 30 minutes become
15 seconds. Prometheus scrapes and evaluates every second.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.alert_path.watchkeeper_up import WatchkeeperUp
from tests.support.alert_stack import Alertmanager, Pager, Prometheus, scaled_rules
from tests.support.otelcol import free_port

FACTOR = 1 / 120
ALERT = "WatchkeeperInputDrift"


def _episodes(pager: Pager, status: str) -> set[tuple[str, str]]:
    """(fingerprint, start) of the alert's notifications in ``status``: one per episode."""
    return {(alert["fingerprint"], alert["startsAt"]) for _, alert in pager.alerts(ALERT, status)}


def _wait(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    return False


@pytest.mark.timeout(300)
def test_planted_drift_pages_once_and_resolves(tmp_path: Path) -> None:
    """Stable traffic fires nothing; an input drift fires WatchkeeperInputDrift, which
    reaches the pager with its labels, runbook and dashboard links, resolves after the
    drift ended, and each firing and resolution lands once in alert_history. When the
    traffic stops, WatchkeeperNoCallsIngested pages."""
    pager = Pager()
    up = WatchkeeperUp(tmp_path / "data")
    try:
        rules = scaled_rules(tmp_path / "rules", FACTOR)
        webhook = f"{up.url}/api/alerts/webhook"
        with (
            Alertmanager(webhook, up.alerts_token(), pager.url, wait_s=0.5) as alertmanager,
            Prometheus([up.url.removeprefix("http://")], rules, alertmanager.url, 1.0) as prom,
        ):
            traffic = subprocess.Popen(
                [sys.executable, "-m", "tests.support.alert_traffic", "--endpoint",
                 f"{up.url}/v1/traces", "--stable-s", "25", "--drift-s", "15",
                 "--after-s", "45"],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert traffic.stdout is not None
            assert "drift_start" in json.loads(traffic.stdout.readline())
            # Nothing fired on 25 s of stable traffic (about 625 calls).
            assert prom.alerts() == []
            assert pager.notifications == [], [
                alert["labels"] for _, body in pager.notifications for alert in body["alerts"]
            ]
            assert _wait(lambda: pager.alerts(ALERT, "firing"), 60), prom.alerts()
            _, alert = pager.alerts(ALERT, "firing")[0]
            assert alert["labels"]["severity"] == "warning"
            assert alert["labels"]["detector"].startswith("input_")
            assert alert["annotations"]["runbook_url"].endswith("runbooks.md#watchkeeperinputdrift")
            assert alert["annotations"]["dashboard_path"].startswith("/d/watchkeeper-detector/")
            # Each input detector that alarmed is one alert, and the return to the stable
            # inputs is a change too; every episode resolves.
            assert _wait(lambda: _episodes(pager, "firing") <= _episodes(pager, "resolved"), 120), (
                prom.alerts()
            )
            traffic.wait(60)
            episodes = _episodes(pager, "firing")

            def recorded() -> list[dict[str, str]]:
                rows = up.call("GET", "/api/alerts?limit=100")
                return [row for row in rows if row["AlertName"] == ALERT]

            # Alertmanager notifies both receivers at once: the history may trail the pager.
            _wait(lambda: len(recorded()) >= 2 * len(episodes), 20)
            ours = recorded()
            # The app stopped sending after a busy minute: watchkeeper says it sees nothing.
            assert _wait(lambda: _firing(pager, "WatchkeeperNoCallsIngested"), 60), prom.alerts()
    finally:
        up.stop()
        pager.close()
    # One row per state change of each episode, however often it was notified.
    assert len([row for row in ours if row["Status"] == "firing"]) == len(episodes)
    assert len([row for row in ours if row["Status"] == "resolved"]) == len(episodes)
    assert {row["Fingerprint"] for row in ours} == {fingerprint for fingerprint, _ in episodes}


def _send_garbage(url: str, count: int) -> None:
    """``count`` undecodable OTLP/HTTP bodies: each is answered 400 and dead-lettered."""
    for _ in range(count):
        request = urllib.request.Request(
            url, data=b"\xff not a protobuf", method="POST",
            headers={"content-type": "application/x-protobuf"},
        )  # fmt: skip
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=5).close()
        time.sleep(0.1)


def _firing(pager: Pager, name: str, **labels: str) -> list[dict[str, Any]]:
    return [
        alert
        for _, alert in pager.alerts(name, "firing")
        if all(alert["labels"].get(k) == v for k, v in labels.items())
    ]


@pytest.mark.timeout(240)
def test_dead_target_dead_letters_and_stopped_collector_page(tmp_path: Path) -> None:
    """A scrape job pointing at a dead port fires WatchkeeperCollectorDown for that job
    only; a burst of undecodable payloads fires WatchkeeperDeadLetterRate; stopping the
    collector fires WatchkeeperCollectorDown for it, so a dead watchkeeper pages instead of
    going silent (and WatchkeeperCollectorAbsent does not page for the same cause)."""
    pager = Pager()
    up = WatchkeeperUp(tmp_path / "data")
    try:
        rules = scaled_rules(tmp_path / "rules", FACTOR)
        webhook = f"{up.url}/api/alerts/webhook"
        dead = f"127.0.0.1:{free_port()}"
        with (
            Alertmanager(webhook, up.alerts_token(), pager.url, wait_s=0.5) as alertmanager,
            Prometheus(
                [up.url.removeprefix("http://")], rules, alertmanager.url, 1.0,
                extra_jobs={"watchkeeper-replica": [dead]},
            ) as prom,
        ):  # fmt: skip
            # 20 s of garbage: longer than the scaled `for:` (10 s) past the first scrape.
            _send_garbage(f"{up.url}/v1/traces", 200)
            assert _wait(lambda: _firing(pager, "WatchkeeperDeadLetterRate"), 60), prom.alerts()
            assert _wait(lambda: _firing(pager, "WatchkeeperCollectorDown"), 30), prom.alerts()
            down = _firing(pager, "WatchkeeperCollectorDown")
            assert {alert["labels"]["job"] for alert in down} == {"watchkeeper-replica"}
            assert down[0]["labels"]["instance"] == dead
            dead_letters = _firing(pager, "WatchkeeperDeadLetterRate")[0]
            assert dead_letters["labels"]["namespace"] == "alert-path"
            assert dead_letters["annotations"]["runbook_url"].endswith(
                "runbooks.md#watchkeeperdeadletterrate"
            )
            up.stop()
            assert _wait(
                lambda: _firing(pager, "WatchkeeperCollectorDown", job="watchkeeper"), 60
            ), prom.alerts()
            # Failing scrapes are the down alert's: the absent alert does not page twice.
            assert _firing(pager, "WatchkeeperCollectorAbsent") == []
    finally:
        up.stop()
        pager.close()
