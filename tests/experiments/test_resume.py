"""An interrupted run resumes from its stored results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.experiments import stand_in
from watchkeeper.ingest.cli import main

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests.experiments.stand_in:gated"


def _answered(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if '"ok": true' in line)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_run_resumes_where_it_stopped(
    evalset: Path, tmp_path: Path, how: signal.Signals, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run stopped (Ctrl-C, or killed) after 4 answers keeps them; run again, it asks
    only the other 16 cases and writes all 20 in evalset order.

    The 5th call blocks until the gate opens and its deadline is an hour away: Ctrl-C ends
    the run while that call is still in flight (a run that waited for it would not end
    before the bound below, which only guards against a hang).
    """
    results, log, gate = tmp_path / "r.jsonl", tmp_path / "calls.log", tmp_path / "gate"
    env = os.environ | {"WK_TEST_CALL_LOG": str(log), "WK_TEST_GATE": str(gate)}
    command = [
        sys.executable, "-m", "watchkeeper.collector.cli", "experiment", "run",
        "--evalset", str(evalset), "--target", TARGET, "--workers", "1",
        "--timeout", "3600", "-o", str(results),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while _answered(results) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _answered(results) == 4
        process.send_signal(how)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    if how == signal.SIGINT:
        assert process.returncode == 130
        assert "run the same command again to resume" in err
    assert _answered(results) == 4
    log.unlink()
    gate.touch()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(ROOT)
    status = main(["experiment", "run", *command[5:]])
    assert status == 0
    asked = log.read_text().splitlines()
    assert sorted(asked) == sorted(list(stand_in.KNOWLEDGE)[4:])
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [row["case_id"] for row in rows] == [f"case-{n:02d}" for n in range(20)]
    assert all(row["ok"] and "refusal" in row["metrics"] for row in rows)


def test_another_target_does_not_reuse_results(evalset: Path, tmp_path: Path) -> None:
    """Results are keyed by target identity: a different target asks every case again."""
    results = tmp_path / "r.jsonl"
    base = ("--evalset", str(evalset), "-o", str(results))
    assert main(["experiment", "run", *base, "--target", "tests.experiments.stand_in:answer"]) == 0
    stand_in.CALLS.clear()
    assert main(["experiment", "run", *base, "--target", "tests.experiments.stand_in:counted"]) == 0
    assert len(stand_in.CALLS) == 20
    stand_in.CALLS.clear()
    assert main(["experiment", "run", *base, "--target", "tests.experiments.stand_in:counted"]) == 0
    assert stand_in.CALLS == []
