"""A real OpenTelemetry Collector for tests, built from the upstream Go modules.

:func:`build` compiles ``tests/support/otelcol/main.go`` (the OTLP receiver, the batch
processor, the Kafka and OTLP exporters at one Collector release, pinned by ``go.mod`` and
``go.sum``) into ``<repo>/.cache/otelcol/<hash>/otelcol`` once, where the hash covers the
sources and the Go version; later calls return at once. The first build takes one to
three minutes and fetches the modules from the Go module proxy. :class:`OtelCollector`
runs the binary with a YAML configuration on loopback and stops it again.

Command line, from the repository root::

    python -m tests.support.otelcol build
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

_SOURCE = Path(__file__).resolve().parent / "otelcol"
_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "otelcol"
_BUILD_TIMEOUT_S = 1200


class OtelcolError(RuntimeError):
    """The Collector could not be built or started; the message says why."""


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise OtelcolError(
            "the OpenTelemetry Collector tests need Go (https://go.dev/dl/, or Debian's "
            "golang-go; `make test` installs it): go is not on PATH"
        )
    return go


def binary_path() -> Path:
    """Where the binary for the current sources and Go version lives (built or not)."""
    digest = hashlib.sha256()
    for name in ("main.go", "go.mod", "go.sum"):
        digest.update((_SOURCE / name).read_bytes())
    version = subprocess.run(
        [_go(), "version"], capture_output=True, text=True, check=True, timeout=60
    )
    digest.update(version.stdout.encode())
    return _CACHE / digest.hexdigest()[:16] / "otelcol"


def build() -> Path:
    """The Collector binary, built first if the cache does not hold it."""
    target = binary_path()
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; the others wait for it
        if target.exists():
            return target
        partial = target.with_suffix(".partial")
        env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
        result = subprocess.run(
            [_go(), "build", "-trimpath", "-o", str(partial), "."],
            cwd=_SOURCE, env=env, capture_output=True, text=True,
            timeout=_BUILD_TIMEOUT_S, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise OtelcolError(f"building the OpenTelemetry Collector failed:\n{result.stderr}")
        partial.rename(target)
    return target


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OtelCollector:
    """The Collector running ``config`` (YAML text), stopped (SIGTERM) on exit.

    ``ready_port`` is a loopback port of the configuration (e.g. its OTLP/HTTP receiver's)
    that accepts connections once the Collector runs.
    """

    def __init__(self, config: str, ready_port: int) -> None:
        self.config = config
        self.ready_port = ready_port
        self._dir = Path(tempfile.mkdtemp(prefix="watchkeeper-otelcol-"))
        self._log = self._dir / "otelcol.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> OtelCollector:
        """Start and wait until ``ready_port`` accepts connections."""
        config = self._dir / "config.yaml"
        config.write_text(self.config)
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(build()), "--config", str(config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise OtelcolError("the OpenTelemetry Collector did not start:\n" + self.log())
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.ready_port), timeout=0.5),
            ):
                return self
            time.sleep(0.1)

    def log(self) -> str:
        """What the Collector wrote so far (its last 60 lines)."""
        with contextlib.suppress(OSError):
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-60:])
        return ""

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM (the Collector flushes its batches and exporters), then SIGKILL."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> OtelCollector:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    """``build``: build (or find) the binary and print its path."""
    if argv != ["build"]:
        print("usage: python -m tests.support.otelcol build", file=sys.stderr)
        return 2
    try:
        print(build())
    except OtelcolError as exc:
        print(f"otelcol: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
