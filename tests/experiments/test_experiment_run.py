"""``watchkeeper experiment run`` as a CI gate, against in-process targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watchkeeper.ingest.cli import main

TARGET = "tests.experiments.stand_in:"


def _run(*args: str | Path) -> int:
    return main(["experiment", "run", *map(str, args)])


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def baseline(evalset: Path, tmp_path: Path) -> Path:
    """Results of the good target."""
    path = tmp_path / "baseline.jsonl"
    assert _run("--evalset", evalset, "--target", TARGET + "answer", "-o", path) == 0
    return path


def test_results_hold_every_case_with_its_metrics(baseline: Path) -> None:
    """One line per case in evalset order, with reference metrics and detector scores."""
    rows = _lines(baseline)
    assert [row["case_id"] for row in rows] == [f"case-{n:02d}" for n in range(20)]
    first = rows[0]
    assert first["ok"] is True
    assert first["output"] == "Paris"
    metrics = first["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["exact_match"] == metrics["normalized_match"] == metrics["token_f1"] == 1.0
    assert metrics["success"] == 1.0
    assert metrics["faithfulness"] > 0.5
    assert metrics["refusal"] == 0.0


def test_an_identical_candidate_passes(
    evalset: Path, baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same answers again: no metric differs, exit 0."""
    status = _run(
        "--evalset", evalset, "--target", TARGET + "async_answer", "--baseline", baseline,
        "-o", tmp_path / "candidate.jsonl",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    assert "REGRESSED" not in out
    assert "no case got worse" in out


def test_a_candidate_worse_on_planted_cases_fails(
    evalset: Path, baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Eight of twenty answers turned into refusals or wrong, ungrounded claims: the
    gate fails (exit 1), naming the metrics that dropped, and lists the planted cases as
    the ones that regressed most."""
    status = _run(
        "--evalset", evalset, "--target", TARGET + "worse", "--baseline", baseline,
        "-o", tmp_path / "candidate.jsonl", "--top", "8",
    )  # fmt: skip
    captured = capsys.readouterr()
    assert status == 1, captured.out
    regressed = {
        line.split()[0] for line in captured.out.splitlines() if line.endswith("REGRESSED")
    }
    assert {"exact_match", "token_f1", "refusal", "faithfulness"} <= regressed
    shown = {line.split(":")[0].strip() for line in captured.out.splitlines() if "case-" in line}
    assert shown == {f"case-{n:02d}" for n in range(8)}
    assert "regressed: " in captured.err


def test_a_tolerance_wide_enough_lets_the_drop_pass(
    evalset: Path, baseline: Path, tmp_path: Path
) -> None:
    """A drop within the stated tolerance of each metric is not a regression."""
    metrics = ("exact_match", "normalized_match", "token_f1", "faithfulness", "refusal")
    wide = [arg for m in metrics for arg in ("--tolerance", f"{m}=0.9")]
    status = _run(
        "--evalset", evalset, "--target", TARGET + "worse", "--baseline", baseline,
        "-o", tmp_path / "candidate.jsonl", *wide,
    )  # fmt: skip
    assert status == 0


def test_judge_scores_are_compared(evalset: Path, tmp_path: Path) -> None:
    """With --judge, each answer carries judge_correctness, and its drop fails the gate."""
    judge = ("--judge", TARGET + "judge")
    base, cand = tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    assert _run("--evalset", evalset, "--target", TARGET + "answer", "-o", base, *judge) == 0
    assert all(row["metrics"]["judge_correctness"] == 1.0 for row in _lines(base))  # type: ignore[index]
    only_judge = ("--tolerance", "exact_match=1", "--tolerance", "normalized_match=1",
                  "--tolerance", "token_f1=1", "--tolerance", "faithfulness=1",
                  "--tolerance", "refusal=1")  # fmt: skip
    status = _run(
        "--evalset", evalset, "--target", TARGET + "worse", "-o", cand, "--baseline", base,
        *judge, *only_judge,
    )  # fmt: skip
    assert status == 1
