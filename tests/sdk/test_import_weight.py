"""Importing and using the SDK loads nothing heavy (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("chdb", "river", "pandas", "pyarrow", "numpy", "kafka")

CHECK = textwrap.dedent(
    """
    import json, sys

    HEAVY = {heavy!r}

    def loaded():
        return sorted(name for name in HEAVY if name in sys.modules)

    report = {{"before": loaded()}}
    import watchkeeper.sdk
    from watchkeeper.sdk import configure, flush, observe
    report["after_import"] = loaded()
    {configure}

    @observe(model="m")
    def answer(question: str) -> str:
        return "ok"

    answer("hi")
    report["after_call"] = loaded()
    report["flushed"] = {flush}
    report["after_flush"] = loaded()
    print(json.dumps(report))
    """
)

# A stand-in OTLP/HTTP receiver, so the default exporter really exports and exits fast.
OTLP_RECEIVER = textwrap.dedent(
    """
    import os, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["WATCHKEEPER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{server.server_port}"
    """
)


def run_fresh(code: str, **env: str) -> dict[str, object]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("WATCHKEEPER_")
    }
    environment.pop("PYTEST_CURRENT_TEST", None)
    environment.update(env)
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("setup", "configure", "flush", "env"),
    [
        ("", "", "flush()", {"WATCHKEEPER_EXPORTER": "none"}),
        ("", "configure('none')", "flush()", {}),
        (
            OTLP_RECEIVER,
            "",
            "flush(timeout_s=10) and watchkeeper.sdk.stats()['spans_exported'] == 1",
            {},
        ),
        (
            "",
            "configure('kafka', kafka_bootstrap='127.0.0.1:1', schedule_delay_s=60,"
            " shutdown_timeout_s=0.1)",
            "True",
            {},
        ),
    ],
    ids=["none-from-env", "none-configured", "default-otlp", "kafka-configured-not-yet-exported"],
)
def test_no_heavy_module_is_loaded(
    setup: str, configure: str, flush: str, env: dict[str, str]
) -> None:
    """chdb, river, pandas, pyarrow, numpy and the Kafka client stay unloaded after
    importing the SDK and after a decorated call; even with exporter="kafka" the client
    is imported only by the export thread, never on the app's thread."""
    code = setup + CHECK.format(heavy=HEAVY, configure=configure, flush=flush)
    report = run_fresh(code, **env)
    assert report["before"] == []
    assert report["after_import"] == []
    assert report["after_call"] == []
    assert report["flushed"] is True
    assert report["after_flush"] == []
