"""Bad evalsets and bad targets: reported, skipped or recorded as failed, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.experiments import stand_in
from watchkeeper.collector.experiments.cases import parse_evalset
from watchkeeper.ingest.cli import main

TARGET = "tests.experiments.stand_in:"


def _run(*args: str | Path) -> int:
    return main(["experiment", "run", *map(str, args)])


def test_bad_lines_are_reported_with_line_numbers_and_skipped(
    evalset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each kind of bad line is named with its line number; the good cases still run."""
    bad = [
        "not json at all",
        json.dumps({"input": "no id"}),
        json.dumps({"id": "x1"}),
        json.dumps({"id": "x2", "input": 42}),
        json.dumps({"id": "x3", "input": "q", "expected_output": ["a"]}),
        json.dumps({"id": "x4", "input": "q", "retrieval_context": "not a list"}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "case-03", "input": "again"}),
    ]
    with evalset.open("a") as out:
        out.write("\n".join(bad) + "\n")
    results = tmp_path / "r.jsonl"
    assert _run("--evalset", evalset, "--target", TARGET + "answer", "-o", results) == 0
    err = capsys.readouterr().err
    for number, reason in [
        (21, "not valid JSON"),
        (22, '"id" is missing'),
        (23, '"input" is missing'),
        (24, '"input" must be a string, got int'),
        (25, '"expected_output" must be a string, got list'),
        (26, '"retrieval_context" must be a list of strings'),
        (27, "expected a JSON object, got list"),
        (28, 'duplicate id "case-03" (first on line 4)'),
    ]:
        assert f"line {number}: {reason}" in err
    assert len(results.read_text().splitlines()) == 20


def test_no_usable_case_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An evalset with nothing usable is a usage error: one line, exit 2."""
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1}\nnot json\n')
    assert _run("--evalset", path, "--target", TARGET + "answer") == 2
    err = capsys.readouterr().err
    assert "no usable case" in err
    assert 'line 1: "input" is missing' in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--target", "tests.experiments.no_such_module:f"), "cannot import"),
        (("--target", TARGET + "nothing_here"), "has no"),
        (("--target", "no-colon"), "is not module:function"),
        (("--target-url", "http://127.0.0.1:9/v1"), "--target-url needs --model"),
    ],
)
def test_bad_targets_exit_2(
    evalset: Path, args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A target that cannot be set up is named in one line, exit 2."""
    assert _run("--evalset", evalset, *args) == 2
    assert message in capsys.readouterr().err


def test_missing_baseline_exits_2(evalset: Path, tmp_path: Path) -> None:
    """A baseline file that is not there is a usage error."""
    args = ("--target", TARGET + "answer", "--baseline", tmp_path / "none.jsonl")
    assert _run("--evalset", evalset, *args) == 2


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("raises", "ConnectionError: upstream model unavailable"),
        ("hangs", "timeout: no answer within 0.5 s"),
        ("not_text", "returned dict, not a string"),
    ],
)
def test_failing_targets_are_failed_cases(
    evalset: Path, tmp_path: Path, target: str, error: str
) -> None:
    """A target that raises, hangs or returns no string fails those cases only; the
    comparison with the good baseline then fails the gate on ``success``."""
    base, cand = tmp_path / "base.jsonl", tmp_path / "cand.jsonl"
    assert _run("--evalset", evalset, "--target", TARGET + "answer", "-o", base) == 0
    status = _run(
        "--evalset", evalset, "--target", TARGET + target, "--timeout", "0.5",
        "--workers", "8", "-o", cand, "--baseline", base,
    )  # fmt: skip
    assert status == 1
    rows = [json.loads(line) for line in cand.read_text().splitlines()]
    failed = {row["case_id"]: row["error"] for row in rows if not row["ok"]}
    assert failed == {f"case-{n:02d}": error for n in range(len(stand_in.PLANTED))}
    assert all(row["metrics"]["success"] == 0.0 for row in rows if not row["ok"])


def test_parse_evalset_accepts_ragas_names() -> None:
    """Ragas' field names are read too (user_input, reference, retrieved_contexts)."""
    line = json.dumps({"id": "r", "user_input": "q", "reference": "a", "retrieved_contexts": ["c"]})
    (case,) = parse_evalset([line]).cases
    assert (case.input, case.expected_output, case.contexts) == ("q", "a", ("c",))
