"""Time from a planted drift to the page, through the shipped rules, real Prometheus and
real Alertmanager.

Each run starts a fresh ``watchkeeper up``, Prometheus (Debian's ``prometheus``) loading the
shipped ``dashboards/prometheus/*.yml`` unchanged and scraping and evaluating every
``--scrape-s`` seconds (15), and Alertmanager (``prometheus-alertmanager``) with
``group_wait`` = ``--group-wait-s`` (10), routing to watchkeeper's alert webhook and to a
stand-in pager. Demo traffic (25 calls/s) is stable for ``--stable-s``, then users paste
logs into their questions (inputs ten times longer) for ``--drift-s``. From the first
drifted call it times, per alert:

- (a) the detector's alarm: its ``watchkeeper_detector_alarms_total`` appears on
  ``/metrics`` (polled every 0.25 s);
- (b) the alert firing in Prometheus (``/api/v1/alerts``, polled every 0.25 s);
- (c) the notification reaching the pager.

A page whose detector alarmed before the first drifted call is a false page of the stable
part (the alarm, not the page, is what happened on stable traffic). Prints median and
worst over ``--runs`` runs (3; about 2.5 minutes each), one row per alert and detector::

    python -m bench.alerting.time_to_page [--runs 3] [--scrape-s 15] [--group-wait-s 10]
        [--group-by alertname detector]

It also counts the firing notifications that reach the pager per run: with ``--group-by
namespace category`` one drift is one notification listing every alert, not one per
alert and detector.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tests.alert_path.watchkeeper_up import WatchkeeperUp
from tests.support.alert_stack import RULES_DIR, Alertmanager, Pager, Prometheus

_ALARMS = re.compile(r'^watchkeeper_detector_alarms_total\{detector="([^"]+)"[^}]*\} (\S+)', re.M)


@dataclass
class Run:
    """What one run saw, in seconds after the first drifted call (negative: before it)."""

    alarms: dict[str, float] = field(default_factory=dict)  # detector -> first alarm
    firing: dict[tuple[str, str], float] = field(default_factory=dict)  # (alert, detector)
    pages: dict[tuple[str, str], float] = field(default_factory=dict)
    false_pages: list[str] = field(default_factory=list)
    notifications: list[float] = field(default_factory=list)  # firing ones, any alerts


def _detector_alarms(url: str) -> set[str]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {d for d, value in _ALARMS.findall(text) if float(value) > 0}


def _watch(up: WatchkeeperUp, prom: Prometheus, pager: Pager, until: float) -> Run:
    """Poll the alarms and Prometheus' alerts until ``until`` (epoch s); times are epoch."""
    run = Run()
    while time.time() < until:
        now = time.time()
        for detector in _detector_alarms(up.url):
            run.alarms.setdefault(detector, now)
        for alert in prom.alerts():
            if alert["state"] == "firing":
                key = (alert["labels"]["alertname"], alert["labels"].get("detector", ""))
                run.firing.setdefault(key, now)
        time.sleep(0.25)
    for at, body in list(pager.notifications):
        if body["status"] == "firing":
            run.notifications.append(at)
        for alert in body["alerts"]:
            if alert["status"] == "firing":
                key = (alert["labels"]["alertname"], alert["labels"].get("detector", ""))
                run.pages.setdefault(key, at)
    return run


def one_run(args: argparse.Namespace, workdir: Path) -> Run:
    """One fresh stack, stable then drifted traffic; times relative to the drift."""
    pager = Pager()
    up = WatchkeeperUp(workdir / "data")
    try:
        rules = sorted(RULES_DIR.glob("*.yml"))
        webhook = f"{up.url}/api/alerts/webhook"
        target = [up.url.removeprefix("http://")]
        with (
            Alertmanager(
                webhook, up.alerts_token(), pager.url, args.group_wait_s, tuple(args.group_by)
            ) as am,
            Prometheus(target, rules, am.url, args.scrape_s) as prom,
        ):
            traffic = subprocess.Popen(
                [sys.executable, "-m", "tests.support.alert_traffic", "--endpoint",
                 f"{up.url}/v1/traces", "--rate", str(args.rate), "--stable-s",
                 str(args.stable_s), "--drift-s", str(args.drift_s), "--after-s", "0"],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert traffic.stdout is not None
            started = time.time()
            run = _watch(up, prom, pager, started + args.stable_s + args.settle_s)
            drift = float(json.loads(traffic.stdout.readline())["drift_start"])
            traffic.wait(args.drift_s + 60)
    finally:
        up.stop()
        pager.close()
    run.alarms = {k: at - drift for k, at in run.alarms.items()}
    run.firing = {k: at - drift for k, at in run.firing.items()}
    run.pages = {k: at - drift for k, at in run.pages.items()}
    stable = {k for k, at in run.pages.items() if at < 0 or run.alarms.get(k[1], 0.0) < 0}
    run.false_pages = [f"{name} {det}".strip() for name, det in sorted(stable)]
    run.pages = {k: at for k, at in run.pages.items() if k not in stable}
    return run


def _figure(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.1f} / {max(values):.1f}"


def report(runs: list[Run]) -> None:
    """Per alert and detector: median / worst of (a), (b), (c) over the runs it paged in."""
    rows: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        for (name, detector), page in run.pages.items():
            row = rows[(name, detector)]
            row["page"].append(page)
            if (name, detector) in run.firing:
                row["firing"].append(run.firing[(name, detector)])
            if detector in run.alarms:
                row["alarm"].append(run.alarms[detector])
    print(
        f"{'alert':28} {'detector':24} {'runs':>4}  {'(a) alarm':>11} {'(b) firing':>11}"
        f" {'(c) page':>11}"
    )
    for (name, detector), row in sorted(
        rows.items(), key=lambda kv: statistics.median(kv[1]["page"])
    ):
        print(
            f"{name:28} {detector:24} {len(row['page']):>4}  {_figure(row['alarm']):>11} "
            f"{_figure(row['firing']):>11} {_figure(row['page']):>11}"
        )
    storm = [float(len(run.notifications)) for run in runs]
    print(f"firing notifications at the pager per run: {_figure(storm)} (median / worst)")
    first = [min(run.pages.values()) for run in runs if run.pages]
    print(f"first page of each run: {_figure(first)} s (median / worst)")
    false_pages = [page for run in runs for page in run.false_pages]
    print(f"false pages on the stable part: {len(false_pages)} over {len(runs)} runs", end="")
    print(f" ({', '.join(false_pages)})" if false_pages else "")


def main() -> None:
    """Run ``--runs`` times and print the table (seconds after the first drifted call)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scrape-s", type=float, default=15.0)
    parser.add_argument("--group-wait-s", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--stable-s", type=float, default=60.0)
    parser.add_argument("--drift-s", type=float, default=60.0)
    parser.add_argument("--settle-s", type=float, default=75.0)
    parser.add_argument(
        "--group-by", nargs="+", default=["alertname", "detector"],
        help="Alertmanager's group_by (namespace category: one notification per incident)",
    )  # fmt: skip
    args = parser.parse_args()
    print(
        f"{args.runs} runs; scrape and evaluation every {args.scrape_s:g} s, group_wait "
        f"{args.group_wait_s:g} s, group_by {','.join(args.group_by)}; {args.rate:g} calls/s, "
        f"stable {args.stable_s:g} s, then "
        f"drift; seconds after the first drifted call, median / worst",
        flush=True,
    )
    runs = []
    for number in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="watchkeeper-bench-alerting-") as workdir:
            runs.append(one_run(args, Path(workdir)))
        pages = ", ".join(f"{d or n} {at:.1f} s" for (n, d), at in sorted(runs[-1].pages.items()))
        print(f"run {number + 1}: pages {pages}; false {runs[-1].false_pages}", flush=True)
    report(runs)


if __name__ == "__main__":
    main()
