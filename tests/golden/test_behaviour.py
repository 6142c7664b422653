"""Same input, same scores: a fixed traffic file replayed gives the recorded output.

``expected.jsonl`` was produced by ``watchkeeper replay --no-store calls.jsonl`` before the
code was restructured; any change in a score or an alarm shows here as a differing line.
Regenerate it only for a deliberate change of behaviour, and say so in the commit.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from watchkeeper.collector.replay import ReplayOptions, run_replay
from watchkeeper.collector.settings import Settings

HERE = Path(__file__).parent


def test_replay_of_the_fixed_file_gives_the_recorded_scores_and_alarms() -> None:
    """Every call's scores and alarms equal the recorded ones, line for line."""
    out, err = io.StringIO(), io.StringIO()
    status = run_replay(Settings(), ReplayOptions(HERE / "calls.jsonl", store=False), out, err)
    assert status == 0, err.getvalue()
    got = out.getvalue().splitlines()
    expected = (HERE / "expected.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(got) == len(expected)
    for index, (line, want) in enumerate(zip(got, expected, strict=True)):
        assert json.loads(line) == json.loads(want), f"call {index} differs"
    assert sum(len(json.loads(line)["alarms"]) for line in got) == 7
