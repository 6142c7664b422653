"""Same input, same scores: a fixed traffic file replayed gives the recorded output.

``expected.jsonl`` was produced by ``watchkeeper replay --no-store calls.jsonl`` with fixed
false-alarm targets (``detector_calibration = "fixed"``), ``expected_budget.jsonl`` with
the default budget; any change in a score or an alarm shows here as a differing line.
Regenerate them only for a deliberate change of behaviour, and say so in the commit.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from watchkeeper.collector.replay import ReplayOptions, run_replay
from watchkeeper.collector.settings import Settings

HERE = Path(__file__).parent


@pytest.mark.parametrize(
    ("calibration", "recorded"), [("fixed", "expected.jsonl"), ("budget", "expected_budget.jsonl")]
)
def test_replay_of_the_fixed_file_gives_the_recorded_scores_and_alarms(
    calibration: str, recorded: str
) -> None:
    """Every call's scores and alarms (with their sizes and severities) equal the recorded
    ones, line for line, with fixed targets and with the budget's."""
    settings = Settings().model_copy(update={"detector_calibration": calibration})
    out, err = io.StringIO(), io.StringIO()
    status = run_replay(settings, ReplayOptions(HERE / "calls.jsonl", store=False), out, err)
    assert status == 0, err.getvalue()
    got = out.getvalue().splitlines()
    expected = (HERE / recorded).read_text(encoding="utf-8").splitlines()
    assert len(got) == len(expected)
    for index, (line, want) in enumerate(zip(got, expected, strict=True)):
        assert json.loads(line) == json.loads(want), f"call {index} differs"
    assert sum(len(json.loads(line)["alarms"]) for line in got) == 7
