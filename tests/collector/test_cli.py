"""The ``watchkeeper`` command: help, one-line errors, and the headless demo."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

WATCHKEEPER = [sys.executable, "-m", "watchkeeper.collector.cli"]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 60):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    full_env.update(env or {})
    return subprocess.run(
        [*WATCHKEEPER, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("watchkeeper: error: ")
    return lines[0]


@pytest.mark.parametrize("command", [[], ["demo"], ["up"], ["collect"]])
def test_help_describes_each_command(command: list[str], tmp_path: Path) -> None:
    """--help works for the tool and every subcommand, and names its options."""
    result = _run([*command, "--help"], tmp_path)
    assert result.returncode == 0
    assert "usage: watchkeeper" in result.stdout
    if command:
        assert "--data-dir" in result.stdout
        assert "--port" in result.stdout


def test_unknown_env_setting_is_named(tmp_path: Path) -> None:
    """A misspelt WATCHKEEPER_* variable stops the command with a line naming it."""
    line = _one_line_error(_run(["up"], tmp_path, {"WATCHKEEPER_HTTP_PROT": "1"}))
    assert "WATCHKEEPER_HTTP_PROT" in line


def test_unknown_file_setting_is_named(tmp_path: Path) -> None:
    """An unknown key in the config file is named with the file."""
    config = tmp_path / "wk.toml"
    config.write_text("[watchkeeper]\nreview_rate = 0.5\n")
    line = _one_line_error(_run(["--config", str(config), "up"], tmp_path))
    assert "'review_rate'" in line
    assert "wk.toml" in line


def test_bad_value_is_named_with_its_source(tmp_path: Path) -> None:
    """A wrong value says which key, where it came from, and what is wrong."""
    line = _one_line_error(_run(["up"], tmp_path, {"WATCHKEEPER_TTL_DAYS": "-3"}))
    assert "'ttl_days'" in line
    assert "WATCHKEEPER_TTL_DAYS" in line


def test_unwritable_data_dir_is_named(tmp_path: Path) -> None:
    """A data directory that cannot be created says so and how to choose another."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = _one_line_error(
        _run(["up", "--data-dir", str(blocker / "sub"), "--port", "0"], tmp_path)
    )
    assert "not writable" in line
    assert "--data-dir" in line


def test_unreachable_broker_is_named(tmp_path: Path) -> None:
    """``collect`` against a closed port says which broker it could not reach."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _run(
        [
            "collect",
            "--kafka-bootstrap",
            f"127.0.0.1:{port}",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        tmp_path,
    )
    line = _one_line_error(result)
    assert f"127.0.0.1:{port}" in line
    assert "WATCHKEEPER_KAFKA_BOOTSTRAP" in line


def test_busy_port_is_named(tmp_path: Path) -> None:
    """A port already in use says which and how to pick another."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        line = _one_line_error(
            _run(["up", "--port", str(port), "--data-dir", str(tmp_path / "d")], tmp_path)
        )
    assert str(port) in line
    assert "--port" in line


@pytest.mark.slow
def test_headless_demo_runs_and_summarises(tmp_path: Path) -> None:
    """``demo --duration`` sends traffic through the pipeline into chDB, then exits 0.

    Every call sent is stored, the input drift halfway raises an alarm, review queues
    fill, and the data lands under ./.watchkeeper of the working directory.
    """
    result = _run(["demo", "--duration", "6", "--rate", "40", "--port", "0"], tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    sent = int(out.split("calls sent")[1].split()[0])
    stored = int(out.split("calls stored")[1].split()[0])
    assert sent > 100
    assert stored == sent
    alarms = int(out.split("alarms")[1].split()[0])
    assert alarms >= 1
    assert "input_length_drift" in out
    assert (tmp_path / ".watchkeeper" / "chdb").is_dir()

    # Run again on the same data: the summary counts and lists this run's calls and alarms.
    again = _run(["demo", "--duration", "6", "--rate", "40", "--port", "0"], tmp_path, timeout=120)
    assert again.returncode == 0, again.stderr
    sent = int(again.stdout.split("calls sent")[1].split()[0])
    assert int(again.stdout.split("calls stored")[1].split()[0]) == sent
    first_pages = {
        line.split("/ui/alarms/")[1] for line in out.splitlines() if "/ui/alarms/" in line
    }
    pages = {
        line.split("/ui/alarms/")[1] for line in again.stdout.splitlines() if "/ui/alarms/" in line
    }
    assert not first_pages & pages
