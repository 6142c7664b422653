"""``watchkeeper up`` as a subprocess for the alert-path test and benchmark."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

_URL = re.compile(r"OTLP/HTTP on (http://\S+)/v1/traces")
_TOKEN_FILE = re.compile(r"admin token: (?:created|in) (\S+)")


class WatchkeeperUp:
    """``watchkeeper up`` on a free port with its data under ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "watchkeeper.ingest.cli", "up", "--port", "0",
             "--grpc-port", "off", "--data-dir", str(data_dir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, env=env,
        )  # fmt: skip
        self.url = ""
        token_file = ""
        self.lines: list[str] = []
        # A thread reads stderr: a selector misses lines already in the pipe's buffer.
        threading.Thread(target=self._read_stderr, daemon=True).start()
        deadline = time.monotonic() + 60
        while not (self.url and token_file):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("watchkeeper up did not start:\n" + "".join(self.lines))
            for line in list(self.lines):
                if match := _URL.search(line):
                    self.url = match.group(1)
                if match := _TOKEN_FILE.search(line):
                    token_file = match.group(1)
            time.sleep(0.1)
        self.admin_token = Path(token_file).read_text().strip()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """An API call as admin; the decoded JSON answer."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"authorization": f"Bearer {self.admin_token}",
                     "content-type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def alerts_token(self) -> str:
        """A new token of the ``alerts`` role, as Alertmanager's configuration takes it."""
        made = self.call("POST", "/api/tokens", {"name": "alertmanager", "role": "alerts"})
        return str(made["token"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
