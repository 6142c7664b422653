"""Real Prometheus and Alertmanager on loopback, with the shipped rules, for tests and
benchmarks of the alert path.

* :func:`scaled_rules` writes a copy of ``dashboards/prometheus/*.yml`` with every
  duration (rule windows, offsets, ``for:``, group intervals) multiplied by ``factor``
  (``for:`` no shorter than :data:`MIN_FOR_S`); the shipped files are never edited.
* :class:`Pager` is a webhook receiver standing in for the on-call pager: it records
  every notification with the time it arrived.
* :class:`Prometheus` and :class:`Alertmanager` run Debian's binaries (``prometheus``,
  ``prometheus-alertmanager``; ``make test`` installs them) in a temporary directory.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from tests.support.otelcol import free_port

RULES_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "prometheus"
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
#: A duration where PromQL takes one: in a range selector or after ``offset``.
_IN_EXPR = re.compile(r"(\[|offset\s+)((?:\d+(?:ms|s|m|h|d|w|y))+)")


def scale_duration(text: str, factor: float) -> str:
    """``"30m"`` times 1/60 is ``"30000ms"``; compound durations (``1h30m``) too."""
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _DURATION.findall(text))
    return f"{max(1, round(seconds * factor * 1000))}ms"


#: Prometheus applies discovered scrape targets on a 5-second tick, so the first scrape
#: comes up to 5 s after start while rules are evaluated from the start: a shorter scaled
#: ``for:`` lets absent() alerts fire before anything was scraped.
MIN_FOR_S = 10.0


def scaled_rules(out_dir: Path, factor: float, min_for_s: float = MIN_FOR_S) -> list[Path]:
    """The shipped rule files, every duration times ``factor`` (``for:`` at least
    ``min_for_s``), written under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(RULES_DIR.glob("*.yml")):
        document = yaml.safe_load(source.read_text())
        for group in document.get("groups", []):
            if "interval" in group:
                group["interval"] = scale_duration(group["interval"], factor)
            for rule in group["rules"]:
                if "for" in rule:
                    scaled = scale_duration(rule["for"], factor)
                    at_least = f"{round(min_for_s * 1000)}ms"
                    rule["for"] = max(scaled, at_least, key=lambda d: int(d[:-2]))
                rule["expr"] = _IN_EXPR.sub(
                    lambda m: m.group(1) + scale_duration(m.group(2), factor), rule["expr"]
                )
        target = out_dir / source.name
        target.write_text(yaml.safe_dump(document, sort_keys=False))
        written.append(target)
    return written


class _Process:
    """A server binary in a temporary directory, waited for on ``ready_path``."""

    binary = ""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"watchkeeper-{self.binary}-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def args(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout_s: float = 30.0) -> _Process:
        binary = shutil.which(self.binary)
        if binary is None:
            raise RuntimeError(f"{self.binary} is not installed: run `make debian-tools`")
        with (self.dir / "log").open("wb") as log:
            self.process = subprocess.Popen(
                [binary, *self.args()], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{self.url}/-/ready", timeout=1).close()
                return self
            time.sleep(0.2)
        log_text = (self.dir / "log").read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"{self.binary} did not start:\n{log_text}")

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
            return json.load(response)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:  # fmt: skip
        self.stop()


class Prometheus(_Process):
    """Prometheus scraping ``targets`` every ``interval_s``, evaluating ``rule_files``.

    The targets are job ``watchkeeper``; ``extra_jobs`` (job name -> targets) adds jobs,
    e.g. one pointing at a dead port.
    """

    binary = "prometheus"

    def __init__(
        self, targets: list[str], rule_files: list[Path], alertmanager: str, interval_s: float,
        extra_jobs: dict[str, list[str]] | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        every = f"{round(interval_s * 1000)}ms"
        jobs = {"watchkeeper": targets, **(extra_jobs or {})}
        config = {
            "global": {"scrape_interval": every, "evaluation_interval": every},
            "rule_files": [str(path) for path in rule_files],
            "alerting": {
                "alertmanagers": [
                    {"static_configs": [{"targets": [alertmanager.removeprefix("http://")]}]}
                ]
            },
            "scrape_configs": [
                {
                    "job_name": job,
                    "scrape_timeout": every,
                    "static_configs": [{"targets": hosts, "labels": {"namespace": "alert-path"}}],
                }
                for job, hosts in jobs.items()
            ],
        }
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(config))

    def args(self) -> list[str]:
        return [
            f"--config.file={self.dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts pending or firing now."""
        return list(self.get("/api/v1/alerts")["data"]["alerts"])


class Alertmanager(_Process):
    """Alertmanager routing every watchkeeper alert to the watchkeeper webhook (with
    ``token``) and then to ``pager``, grouping by ``group_by`` (alert name and detector:
    a notification per alert; namespace and category: one per incident)."""

    binary = "prometheus-alertmanager"

    def __init__(
        self, webhook_url: str, token: str, pager_url: str, wait_s: float,
        group_by: tuple[str, ...] = ("alertname", "detector"),
    ) -> None:  # fmt: skip
        super().__init__()
        (self.dir / "token").write_text(token)
        wait = f"{round(wait_s * 1000)}ms"
        config = {
            "route": {
                "receiver": "pager",
                "group_by": list(group_by),
                "group_wait": wait,
                "group_interval": wait,
                "repeat_interval": "4h",
                "routes": [
                    {
                        "matchers": ['alertname =~ "Watchkeeper.+"'],
                        "receiver": "watchkeeper-history",
                        "continue": True,
                    },
                    {"matchers": ['alertname =~ "Watchkeeper.+"'], "receiver": "pager"},
                ],
            },
            "receivers": [
                {
                    "name": "watchkeeper-history",
                    "webhook_configs": [
                        {
                            "url": webhook_url,
                            "send_resolved": True,
                            "http_config": {
                                "authorization": {"credentials_file": str(self.dir / "token")}
                            },
                        }
                    ],
                },
                {"name": "pager", "webhook_configs": [{"url": pager_url, "send_resolved": True}]},
            ],
        }
        (self.dir / "alertmanager.yml").write_text(yaml.safe_dump(config))

    def args(self) -> list[str]:
        return [
            f"--config.file={self.dir / 'alertmanager.yml'}",
            f"--storage.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
        ]


class Pager:
    """A webhook receiver that records each notification as ``(arrival, body)``."""

    def __init__(self) -> None:
        self.notifications: list[tuple[float, dict[str, Any]]] = []
        received = self.notifications

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                received.append((time.time(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/page"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def alerts(self, name: str, status: str) -> list[tuple[float, dict[str, Any]]]:
        """Alerts named ``name`` in state ``status``, with their notification's arrival."""
        return [
            (at, alert)
            for at, body in list(self.notifications)
            for alert in body["alerts"]
            if alert["labels"]["alertname"] == name and alert["status"] == status
        ]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
