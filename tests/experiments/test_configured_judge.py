"""``--judge-name``: a judge of the collector's settings rates agreement with the reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.experiments.stand_in import PLANTED
from watchkeeper.ingest.cli import main

TARGET = "tests.experiments.stand_in:"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Settings with one judge, ``ref``, running the stand-in judge model in-process."""
    path = tmp_path / "watchkeeper.toml"
    path.write_text(
        f'[watchkeeper.judges.ref]\nprovider = "callable"\ncallable = "{TARGET}reference_judge"\n'
    )
    return path


def test_a_configured_judge_scores_correctness(evalset: Path, tmp_path: Path, config: Path) -> None:
    """The judge of the settings gives judge_correctness 1 to right answers and 0 to the
    planted wrong ones, and its drop fails the gate."""
    base, cand = tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    common = ["--config", str(config), "experiment", "run", "--evalset", str(evalset)]
    judge = ["--judge-name", "ref"]
    assert main([*common, "--target", TARGET + "answer", "-o", str(base), *judge]) == 0
    rows = [json.loads(line) for line in base.read_text().splitlines()]
    assert {row["metrics"]["judge_correctness"] for row in rows} == {1.0}
    others = ("exact_match", "normalized_match", "token_f1", "faithfulness", "refusal")
    only_judge = [f"--tolerance={m}=1" for m in others]
    status = main(
        [*common, "--target", TARGET + "worse", "-o", str(cand), "--baseline", str(base),
         *judge, *only_judge]
    )  # fmt: skip
    assert status == 1
    rows = [json.loads(line) for line in cand.read_text().splitlines()]
    assert sum(row["metrics"]["judge_correctness"] == 0.0 for row in rows) == len(PLANTED)


def test_an_unknown_judge_name_exits_2(
    evalset: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A judge name the settings do not have: one line naming the configured ones."""
    args = ["--config", str(config), "experiment", "run", "--evalset", str(evalset)]
    assert main([*args, "--target", TARGET + "answer", "--judge-name", "nope"]) == 2
    assert "no judge 'nope' in the settings (configured: ref)" in capsys.readouterr().err
