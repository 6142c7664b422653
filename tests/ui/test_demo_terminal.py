"""``watchkeeper demo`` tells its story in the terminal: a panel redrawn in place under a
pseudo-terminal, plain lines and one line per alarm without one; a summary at the end."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

DEMO = [sys.executable, "-m", "watchkeeper.collector.cli", "demo", "--port", "0"]
#: 600 calls, inputs drifting from the 300th: the input-length alarm fires within seconds.
ARGS = ["--duration", "10", "--rate", "60"]
KEY = "lumen-support-bot|support/answer|lumen-fake-1"
ALARM_URL = r"http://127\.0\.0\.1:\d+/ui/alarms/input_length_drift/[0-9a-f]{16}"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    return env | {"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}


def _check_summary(out: str) -> None:
    summary = out[out.index("watchkeeper demo summary") :]
    sent = int(summary.split("calls sent")[1].split()[0])
    assert int(summary.split("calls stored")[1].split()[0]) == sent
    assert "What drifted: from call 300 on, users pasted sync logs" in summary
    # The reason, then the alarm's size on the same line, then its link.
    alarm = rf"- input_length_drift at \d+ s: input length rose[^\n]*\n\s+{ALARM_URL}"
    assert re.search(alarm, summary)
    assert re.search(r"overview\s+http://127\.0\.0\.1:\d+/login#token=wk_", summary)


@pytest.mark.slow
def test_without_a_terminal_it_prints_lines_and_each_alarm(tmp_path: Path) -> None:
    """Piped output: no escape codes, a progress line every 5 s, a line per alarm with its
    reason and link as it fires, and the summary."""
    result = subprocess.run(
        [*DEMO, *ARGS, "--data-dir", str(tmp_path / "wk")],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stderr + result.stdout
    assert "\x1b[" not in out
    assert re.search(r"overview at http://127\.0\.0\.1:\d+/login#token=wk_", result.stderr)
    assert re.search(r"^\[\s*\d+\.\ds\] (baseline|drifted) +sent=\d+ stored=\d+", out, re.M)
    assert re.search(
        rf"^ALARM input_length_drift on {re.escape(KEY)}: input length rose[^\n]* -> "
        rf"{ALARM_URL}$",
        result.stderr,
        re.M,
    )
    _check_summary(result.stdout)


@pytest.mark.slow
def test_under_a_pseudo_terminal_one_panel_is_redrawn_in_place(tmp_path: Path) -> None:
    """On a terminal: one panel (phase, calls, alarms with reasons, queues, overview link)
    redrawn with cursor movements, no progress lines, then the summary."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*DEMO, *ARGS, "--data-dir", str(tmp_path / "wk")],
        env=_env(),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
    )
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the demo exited and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=30) == 0
    out = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[1A" in out or "\x1b[2K" in out  # the panel is redrawn in place
    assert out.count("watchkeeper demo ·") >= 3  # the panel's title, once per redraw
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    for label in ("phase", "calls", "alarms", "review queues", "overview"):
        assert re.search(rf"│ {label}\s", plain), label
    assert "drifted" in plain
    assert re.search(r"input_length_drift: input length rose", plain)
    assert not re.search(r"^\[\s*\d+\.\ds\]", plain, re.M)
    _check_summary(plain.replace("\r\n", "\n"))
