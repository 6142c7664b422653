"""Ctrl-C during ``experiment run --baseline --judge-name``'s pairwise comparisons stops
them at once: the comparisons in flight are abandoned, the queued ones never asked, one
line says how many were cut short, nothing is stored, and the exit status is 130."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from tests.judge.standin import callable_judge
from watchkeeper.ingest.cli import main

HERE = "tests.experiments.test_pairwise_interrupt:"
BASELINE = "tests.experiments.test_pairwise_baseline:"
CASES = 20
WORKERS = 3
#: Holds every pairwise request until the test ends (or the hang guard gives up).
RELEASE = threading.Event()
_asked: list[str] = []
_lock = threading.Lock()


def stalling_judge(messages: list[dict[str, str]]) -> str:
    """The stand-in judge, except on pairwise prompts: the first sends Ctrl-C (SIGINT) to
    the main thread, and every one of them waits for ``RELEASE``."""
    prompt = "\n".join(m["content"] for m in messages)
    if "<first_answer>" not in prompt:
        return callable_judge(messages)
    with _lock:
        _asked.append(prompt)
        first = len(_asked) == 1
    if first:
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
    RELEASE.wait()
    return callable_judge(messages)


def test_ctrl_c_cuts_the_pairwise_comparisons_short(
    evalset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every pairwise request hangs and the first sends Ctrl-C: the command returns while
    they still hang, having asked no more pairs than it has workers; it reports all 20
    comparisons cut short and exits 130 (though the candidate also regressed)."""
    config = tmp_path / "watchkeeper.toml"
    config.write_text(
        f'[watchkeeper.judges.ref]\nprovider = "callable"\ncallable = "{HERE}stalling_judge"\n'
    )
    common = ["--config", str(config), "experiment", "run", "--evalset", str(evalset)]
    base = tmp_path / "base.jsonl"
    assert main([*common, "--target", BASELINE + "plain", "-o", str(base)]) == 0
    capsys.readouterr()
    guard = threading.Timer(120, RELEASE.set)  # a broken stop would hang, not fail
    guard.start()
    try:
        status = main(
            [*common, "--target", BASELINE + "marked", "-o", str(tmp_path / "cand.jsonl"),
             "--baseline", str(base), "--judge-name", "ref", "--workers", str(WORKERS)]
        )  # fmt: skip
        still_hanging = not RELEASE.is_set()
    finally:
        guard.cancel()
        RELEASE.set()
    assert still_hanging
    assert status == 130
    captured = capsys.readouterr()
    assert f"0 cases compared, candidate better 0, baseline better 0, tie 0; not compared: " \
        f"0 given up, 0 over budget, {CASES} cut short" in captured.out  # fmt: skip
    assert (
        f"watchkeeper experiment: interrupted; {CASES} of {CASES} pairwise comparisons cut "
        "short\n" in captured.err
    )
    assert 1 <= len(_asked) <= WORKERS
