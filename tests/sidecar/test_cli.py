"""``watchkeeper sidecar`` as a user runs it: help, one-line errors, stop, and its weight."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.sidecar.process import SidecarProcess, llm_request

WATCHKEEPER = [sys.executable, "-m", "watchkeeper.ingest.cli"]
#: Nothing listens here: connecting is refused at once.
DEAD_BROKER = "127.0.0.1:1"
#: With Kafka unreachable there is nothing to drain for: stop at once.
NO_DRAIN = {"WATCHKEEPER_SIDECAR_DRAIN_TIMEOUT_S": "0"}


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    full_env.update(env or {})
    return subprocess.run(
        [*WATCHKEEPER, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("watchkeeper: error: ")
    return lines[0]


def test_help_names_the_sidecar_options(tmp_path: Path) -> None:
    """`watchkeeper sidecar --help` documents its options; the tool's help lists it."""
    result = _run(["sidecar", "--help"], tmp_path)
    assert result.returncode == 0
    for option in ("--spool-dir", "--spool-max-bytes", "--kafka-bootstrap", "--port", "--host"):
        assert option in result.stdout
    assert "sidecar" in _run(["--help"], tmp_path).stdout


def test_unusable_spool_dir_is_one_line_naming_the_option(tmp_path: Path) -> None:
    """A spool directory that cannot be created stops the command with one line."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = _one_line_error(
        _run(["sidecar", "--port", "0", "--spool-dir", str(blocker / "spool")], tmp_path)
    )
    assert "--spool-dir" in line
    assert "not usable" in line


def test_bad_spool_bound_is_named_with_its_source(tmp_path: Path) -> None:
    """A spool bound below the minimum names the key and the variable it came from."""
    line = _one_line_error(
        _run(["sidecar"], tmp_path, {"WATCHKEEPER_SIDECAR_SPOOL_MAX_BYTES": "1000"})
    )
    assert "'sidecar_spool_max_bytes'" in line
    assert "WATCHKEEPER_SIDECAR_SPOOL_MAX_BYTES" in line


def test_second_sidecar_on_the_same_spool_is_refused(tmp_path: Path) -> None:
    """Two sidecars must never share a spool: the second stops with one line."""
    with SidecarProcess(tmp_path / "spool", DEAD_BROKER, "t", env=NO_DRAIN):
        line = _one_line_error(
            _run(["sidecar", "--port", "0", "--spool-dir", str(tmp_path / "spool")], tmp_path)
        )
    assert "in use by another process" in line


def test_taken_port_is_one_line(tmp_path: Path) -> None:
    """A port that is taken stops the command with one line naming --port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = _one_line_error(
            _run(["sidecar", "--port", str(port), "--spool-dir", str(tmp_path / "s")], tmp_path)
        )
    assert "--port" in line


def test_sigterm_stops_cleanly_and_keeps_unforwarded_spans(tmp_path: Path) -> None:
    """SIGTERM with Kafka unreachable exits 0; the spans are still there on the next start."""
    spool = tmp_path / "spool"
    sidecar = SidecarProcess(spool, DEAD_BROKER, "t", env=NO_DRAIN)
    with sidecar:
        assert sidecar.post(llm_request("term", 0, 5).SerializeToString()).status_code == 200
        assert sidecar.stop() == 0
    with SidecarProcess(spool, DEAD_BROKER, "t", env=NO_DRAIN) as again:
        assert again.metrics()["watchkeeper_sidecar_spool_records"] == 5


def test_sidecar_loads_neither_chdb_nor_the_detectors(tmp_path: Path) -> None:
    """The sidecar stays light: chDB's engine and river are not mapped into its process."""
    with SidecarProcess(tmp_path / "spool", DEAD_BROKER, "t", env=NO_DRAIN) as sidecar:
        assert sidecar.post(llm_request("light", 0, 3).SerializeToString()).status_code == 200
        assert sidecar.process is not None
        maps = Path(f"/proc/{sidecar.process.pid}/maps").read_text()
    # The probe works: Python extension modules do show up in the map.
    assert re.search(r"\.(cpython-[^ ]*|abi3)\.so", maps)
    assert "chdb" not in maps
    assert "river" not in maps


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) stops the sidecar like SIGTERM: exit 0, no traceback."""
    sidecar = SidecarProcess(tmp_path / "spool", DEAD_BROKER, "t", env=NO_DRAIN)
    with sidecar:
        assert sidecar.process is not None
        # A request answered first: by then the main thread waits for a stop signal (a Ctrl-C
        # during start-up is an interruption, exit 130).
        assert sidecar.post(llm_request("int", 0, 1).SerializeToString()).status_code == 200
        sidecar.process.send_signal(signal.SIGINT)
        assert sidecar.process.wait(60) == 0
