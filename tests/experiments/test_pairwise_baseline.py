"""``experiment run --baseline --judge-name``: the judge compares the baseline's and the
candidate's answers to each case in both orders, against the stand-in chat-completions
server (tests/judge/standin.py), and ``--store`` keeps the comparisons for the judge's
order sensitivity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.experiments.stand_in import answer
from tests.judge.standin import StandIn, standin_server
from watchkeeper.collector.judge.pairwise import order_sensitivity
from watchkeeper.collector.settings import load_settings
from watchkeeper.collector.store.judges import JudgeStore
from watchkeeper.collector.store.store import open_store
from watchkeeper.ingest.cli import main

HERE = "tests.experiments.test_pairwise_baseline:"
CASES = 20


def plain(text: str) -> str:
    """The stand-in app's answer."""
    return answer(text)


def marked(text: str) -> str:
    """The same answer marked as correct: the stand-in judge prefers it in either order."""
    return f"{answer(text)} (correct)"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """The stand-in judge endpoint on loopback."""
    with standin_server() as server:
        yield server


def run_pair(evalset: Path, tmp_path: Path, standin: StandIn) -> list[str]:
    """Run the baseline (plain), then the candidate (marked) against it with the judge
    ``ref`` and ``--store``; returns the command's output lines."""
    config = tmp_path / "watchkeeper.toml"
    config.write_text(
        f'[watchkeeper.judges.ref]\nbase_url = "{standin.url}"\nmodel = "standin"\n'
        "max_retries = 0\n"
    )
    common = ["--config", str(config), "experiment", "run", "--evalset", str(evalset)]
    base = tmp_path / "base.jsonl"
    assert main([*common, "--target", HERE + "plain", "-o", str(base)]) == 0
    return [
        *common,
        "--target", HERE + "marked", "-o", str(tmp_path / "cand.jsonl"),
        "--baseline", str(base), "--judge-name", "ref",
        "--store", "--data-dir", str(tmp_path / "data"),
    ]  # fmt: skip


def stored_sensitivity(tmp_path: Path) -> list[dict[str, object]]:
    """The judge ``ref``'s order sensitivity as the store reports it."""
    store = open_store(load_settings(overrides={"data_dir": tmp_path / "data"}, environ={}))
    try:
        return order_sensitivity(JudgeStore(store).comparisons("ref"))
    finally:
        store.close()


def test_the_judge_compares_the_runs_answers_in_both_orders(
    evalset: Path, tmp_path: Path, standin: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    """A judge that reads the answers prefers the candidate's marked answer on every case
    whichever is shown first: no flip, and the 20 comparisons are in the store."""
    args = run_pair(evalset, tmp_path, standin)
    capsys.readouterr()
    assert main(args) in (0, 1)
    out = capsys.readouterr().out
    assert (
        f"pairwise (ref, helpfulness): {CASES} cases compared, candidate better {CASES}, "
        "baseline better 0, tie 0" in out
    )
    assert f"0 of {CASES} verdicts changed with the order" in out
    pairwise = [r for r in standin.requests if "<first_answer>" in str(r["body"])]
    assert len(pairwise) == 2 * CASES
    assert stored_sensitivity(tmp_path) == [
        {"dimension": "helpfulness", "comparisons": CASES, "flips": 0, "flip_rate": 0.0}
    ]


def test_a_position_biased_judge_flips_on_every_case(
    evalset: Path, tmp_path: Path, standin: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    """A judge that always prefers the answer shown first names A with A first and B with
    B first: every verdict flips (a tie), flip rate 1.0, stored as such."""
    args = run_pair(evalset, tmp_path, standin)
    standin.prefer_first = True
    capsys.readouterr()
    assert main(args) in (0, 1)
    out = capsys.readouterr().out
    assert f"{CASES} cases compared, candidate better 0, baseline better 0, tie {CASES}" in out
    assert f"{CASES} of {CASES} verdicts changed with the order" in out
    assert "(flip rate 1.00)" in out
    assert stored_sensitivity(tmp_path) == [
        {"dimension": "helpfulness", "comparisons": CASES, "flips": CASES, "flip_rate": 1.0}
    ]
