"""The release gates' tolerances from the settings file, and options over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.ingest.cli import main

TARGET = "tests.experiments.stand_in:"
RED_TEAM = "tests.experiments.redteam_stand_in:vulnerable"
WIDE = "{exact_match = 0.9, normalized_match = 0.9, token_f1 = 0.9, faithfulness = 0.9, " \
    "refusal = 0.9}"  # fmt: skip


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "watchkeeper.toml"
    path.write_text(f"[watchkeeper]\n{body}\n", encoding="utf-8")
    return path


def _experiment(config: Path, evalset: Path, target: str, out: Path, *more: str) -> int:
    args = ["--config", str(config), "experiment", "run", "--evalset", str(evalset)]
    return main([*args, "--target", TARGET + target, "-o", str(out), *more])


def test_experiment_tolerances_of_the_settings_gate_the_run(evalset: Path, tmp_path: Path) -> None:
    """Tolerances wide enough in the settings let the worse candidate pass; an option for
    one metric overrides its setting and fails the gate again."""
    config = _config(tmp_path, f"experiment_tolerances = {WIDE}")
    baseline = tmp_path / "base.jsonl"
    assert _experiment(config, evalset, "answer", baseline) == 0
    worse = ("--baseline", str(baseline))
    assert _experiment(config, evalset, "worse", tmp_path / "c.jsonl", *worse) == 0
    strict = ("--tolerance", "exact_match=0.01")
    assert _experiment(config, evalset, "worse", tmp_path / "c.jsonl", *worse, *strict) == 1


def test_redteam_tolerances_of_the_settings(tmp_path: Path) -> None:
    """A configured '*' tolerance passes the vulnerable target; '*' on the command line
    replaces every configured tolerance."""
    config = _config(tmp_path, 'redteam_tolerances = {"*" = 1.0}')
    run = ["--config", str(config), "redteam", "run", "--target", RED_TEAM]
    assert main([*run, "-o", str(tmp_path / "r")]) == 0
    assert main([*run, "-o", str(tmp_path / "r"), "--tolerance", "*=0"]) == 1


def test_a_bad_tolerance_names_its_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A tolerance outside 0..1 stops the command with exit 2 and one line naming it."""
    config = _config(tmp_path, 'redteam_tolerances = {"role_play" = 3}')
    status = main(["--config", str(config), "redteam", "run", "--target", RED_TEAM])
    err = capsys.readouterr().err
    assert status == 2
    assert "redteam_tolerances" in err
    assert len(err.strip().splitlines()) == 1
