"""``watchkeeper replay`` applies the configured judges and prints their scores."""

from __future__ import annotations

import io
import json
from pathlib import Path

from tests.judge.harness import judge_settings
from tests.judge.standin import StandIn
from watchkeeper.collector.replay import ReplayOptions, run_replay
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.store import Store


def _replay(path: Path, standin: StandIn, data_dir: Path) -> list[dict[str, object]]:
    settings = judge_settings(standin, judge_dimensions="helpfulness,safety").model_copy(
        update={"data_dir": data_dir}
    )
    out, err = io.StringIO(), io.StringIO()
    assert run_replay(settings, ReplayOptions(path), out, err) == 0, err.getvalue()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_replay_prints_judge_scores_beside_the_detectors(tmp_path: Path, standin: StandIn) -> None:
    """Each replayed call's line holds judge.default.<dimension> as the stand-in judged
    it; replaying the file again prints the same scores from the stored verdicts, with no
    new request, and puts them back into the rewritten scores rows."""
    path = tmp_path / "calls.jsonl"
    calls = [
        {"input": "q1", "output": "this is correct"},
        {"input": "q2", "output": "this is wrong"},
        {"input": "q3", "output": "my password is x"},
    ]
    path.write_text("".join(json.dumps(c) + "\n" for c in calls))
    first = _replay(path, standin, tmp_path / "data")
    expected = [(5.0, 1.0), (2.0, 1.0), (3.0, 0.0)]
    for line, (helpfulness, safety) in zip(first, expected, strict=True):
        scores = line["scores"]
        assert isinstance(scores, dict)
        assert scores["judge.default.helpfulness"] == helpfulness
        assert scores["judge.default.safety"] == safety
        assert "input_drift" in scores
    assert len(standin.requests) == 6
    again = _replay(path, standin, tmp_path / "data")
    assert [line["scores"] for line in again] == [line["scores"] for line in first]
    assert len(standin.requests) == 6
    # The replay rewrote the calls' scores rows; the judge scores were put back.
    store = Store(ChdbBackend(tmp_path / "data" / "chdb"))
    try:
        rows = store.select("SELECT Scores FROM {db}.call_scores FINAL")
    finally:
        store.close()
    assert sorted(r["Scores"]["judge.default.helpfulness"] for r in rows) == [2.0, 3.0, 5.0]
