"""``--store``: finished experiment and red-team runs in the store (migration 0016)."""

from __future__ import annotations

from pathlib import Path

from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.experiments import run_results, runs
from watchkeeper.collector.store.store import Store
from watchkeeper.ingest.cli import main

STAND_IN = "tests.experiments."


def test_runs_are_stored_with_their_cases(evalset: Path, tmp_path: Path) -> None:
    """An experiment and a red-team run land in ``experiment_results``; the run list gives
    each run's kind, cases, failures and metric means, and a run's cases come back."""
    data = tmp_path / "wk"
    store_args = ["--store", "--data-dir", str(data)]
    experiment = ["experiment", "run", "--evalset", str(evalset), "-o", str(tmp_path / "e")]
    assert main([*experiment, "--target", STAND_IN + "stand_in:worse", *store_args]) == 0
    redteam = ["redteam", "run", "-o", str(tmp_path / "r"), "--tolerance", "*=1"]
    assert main([*redteam, "--target", STAND_IN + "redteam_stand_in:guarded", *store_args]) == 0
    store = Store(ChdbBackend(data / "chdb"))
    try:
        found = {row["Kind"]: row for row in runs(store)}
        assert set(found) == {"experiment", "redteam"}
        run = found["experiment"]
        assert (run["Cases"], run["Failed"]) == (20, 0)
        assert run["Target"] == "python:tests.experiments.stand_in:worse"
        assert abs(run["Means"]["exact_match"] - 12 / 20) < 1e-9
        assert found["redteam"]["Means"]["attack_success"] == 0.0
        cases = run_results(store, run["RunId"])
        assert len(cases) == 20
        assert "Santiago" in {c["Output"] for c in cases}
        assert runs(store, target="python:nothing") == []
    finally:
        store.close()
