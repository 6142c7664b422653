"""The version of the model behind each detector's scores, stored with the scores."""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import watchkeeper.collector.store.store as store_module
from tests.review.support import call_payload
from watchkeeper.collector.overview.monitor import Monitor
from watchkeeper.collector.overview.pages import call_page
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.record import ns_to_clickhouse
from watchkeeper.collector.replay import ReplayOptions, run_replay
from watchkeeper.collector.review.tokens import Principal, Role
from watchkeeper.collector.review.workflow import ReviewWorkflow
from watchkeeper.collector.settings import load_settings
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.judges import JudgeStore
from watchkeeper.collector.store.monitoring import MonitoringStore
from watchkeeper.collector.store.store import Store, open_store
from watchkeeper.detectors import (
    Detector,
    FaithfulnessDrift,
    LatencyDrift,
    PromptInjectionDetector,
)

CONTEXT = "Refunds are possible within 30 days of purchase with the original receipt."
QUESTIONS = [f"How long do I have to return item {i}?" for i in range(4)]
ANSWERS = ["You can get a refund within 30 days of purchase."] * len(QUESTIONS)


class NextInjectionModel(PromptInjectionDetector):
    """The injection detector as it would run after its weights were retrained."""

    @property
    def scorer_version(self) -> str:
        return "injection-next"


def _process(store: Store, detectors: list[Detector], route: str = "qa/answer") -> None:
    payload, _ = call_payload(QUESTIONS, contexts=[CONTEXT], answers=ANSWERS, route=route)
    # No review queues: the default ones name detectors these tests do not run.
    pipeline = Pipeline(store, detectors=detectors, router=ReviewRouter({}))
    pipeline.process([Payload(payload, "test")])


def _stored_versions(store: Store) -> list[dict[str, str]]:
    rows = store.select("SELECT ScorerVersions FROM {db}.call_scores FINAL ORDER BY SpanId")
    return [dict(row["ScorerVersions"]) for row in rows]


def test_pipeline_rows_carry_each_detectors_scorer_version(store: Store) -> None:
    """Every stored scores row names the injection model's weights and the claims scorer
    beside their scores; a detector with no model (latency) adds nothing."""
    detectors: list[Detector] = [PromptInjectionDetector(), FaithfulnessDrift(), LatencyDrift()]
    _process(store, detectors)
    injection = PromptInjectionDetector().model_version
    claims = FaithfulnessDrift().scorer_version
    assert claims.startswith("claims-")
    assert _stored_versions(store) == [
        {"prompt_injection": injection, "faithfulness_drift": claims}
    ] * len(QUESTIONS)


def test_a_changed_model_shows_in_the_stored_rows(store: Store) -> None:
    """Calls scored after the injection model changed carry the new version, the earlier
    calls keep the old one: the change is visible in the data."""
    _process(store, [PromptInjectionDetector()], route="before")
    _process(store, [NextInjectionModel()], route="after")
    rows = store.select(
        "SELECT Route, ScorerVersions['prompt_injection'] AS v FROM {db}.call_scores FINAL"
    )
    old = PromptInjectionDetector().model_version
    assert old != "injection-next"
    assert Counter((r["Route"], r["v"]) for r in rows) == {
        ("before", old): len(QUESTIONS),
        ("after", "injection-next"): len(QUESTIONS),
    }


def test_the_call_page_shows_the_version_beside_each_score(store: Store) -> None:
    """The call's API view holds ``scorer_versions`` and its page shows the version in
    the row of each of that detector's scores."""
    _process(store, [NextInjectionModel(), LatencyDrift()])
    span_id = str(store.select("SELECT SpanId FROM {db}.call_scores LIMIT 1")[0]["SpanId"])
    call = Monitor(MonitoringStore(store), ReviewWorkflow(store)).call(span_id)
    assert call["scorer_versions"] == {"prompt_injection": "injection-next"}
    html = call_page(call, [], Principal("t1", "ann", Role.VIEWER), "csrf")
    assert "<td>prompt_injection.safety</td>" in html
    assert "<td class='muted'>injection-next</td>" in html.split("prompt_injection.safety")[1]


@pytest.mark.parametrize("handed", [False, True], ids=["read-back", "handed-over"])
def test_a_judge_rewriting_a_row_keeps_its_versions(store: Store, handed: bool) -> None:
    """A judge's scores merged into a call's row keep the versions of the detectors'
    scores already in it, whether the row is read back from the store or handed over by
    the pipeline with the scores it was stored with (``StoredScores``)."""
    _process(store, [NextInjectionModel(), LatencyDrift()])
    row = store.select(
        "SELECT TraceId, SpanId, ServiceName, Route, Model, DetectorKey, Scores, "
        "toUnixTimestamp64Nano(Timestamp) AS TimestampNs FROM {db}.call_scores LIMIT 1"
    )[0]
    stored = dict(row.pop("Scores"))
    if handed:
        row["StoredScores"] = stored
    JudgeStore(store).add_scores(row, {"judge.tone.helpfulness": 1.0})
    merged = store.select(
        "SELECT Scores, ScorerVersions FROM {db}.call_scores FINAL WHERE SpanId = {span_id:String}",
        span_id=row["SpanId"],
    )
    assert len(merged) == 1
    assert merged[0]["Scores"]["judge.tone.helpfulness"] == 1.0
    assert dict(merged[0]["ScorerVersions"]) == {"prompt_injection": "injection-next"}


def test_migration_0020_upgrades_a_store_of_the_older_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store migrated up to 0019 with scores in it gets the column from 0020 alone: its
    old rows read an empty map, and new rows store their versions."""
    every = list(store_module._migrations())
    older: Any = lambda: [m for m in every if m[0] < 20]  # noqa: E731 - the older release
    monkeypatch.setattr(store_module, "_migrations", older)
    old = Store(ChdbBackend(tmp_path / "chdb"))
    try:
        old.migrate()
        # A row as the older release wrote it: no ScorerVersions column to name.
        old_row = {"Timestamp": ns_to_clickhouse(time.time_ns()), "TraceId": "t", "SpanId": "s"}
        old_row |= {"ServiceName": "svc", "Route": "old", "Model": "m", "DetectorKey": "k"}
        old.backend.insert_rows(
            f"{old.database}.call_scores", [old_row | {"Scores": {"latency_drift.latency": 1.0}}]
        )
        # The release that brought 0020, not a later one: later migrations are not this
        # test's subject.
        monkeypatch.setattr(store_module, "_migrations", lambda: [m for m in every if m[0] <= 20])
        assert old.migrate() == ["0020_scorer_versions.sql"]
        assert old.schema_version() == 20
        _process(old, [NextInjectionModel()], route="new")
        rows = old.select("SELECT Route, ScorerVersions FROM {db}.call_scores FINAL")
        assert Counter((r["Route"], str(dict(r["ScorerVersions"]))) for r in rows) == {
            ("old", "{}"): 1,
            ("new", "{'prompt_injection': 'injection-next'}"): len(QUESTIONS),
        }
    finally:
        old.close()


def test_replay_names_the_models_behind_its_scores(tmp_path: Path) -> None:
    """``watchkeeper replay`` says once, on stderr, which version of each model scored the
    file, and its stored rows carry the same versions."""
    rows = [
        {"input": q, "output": a, "contexts": [CONTEXT], "ts": int(time.time()) - 60 + i}
        for i, (q, a) in enumerate(zip(QUESTIONS, ANSWERS, strict=True))
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    settings = load_settings(None, {"data_dir": tmp_path / "data"}, environ={})
    out, err = io.StringIO(), io.StringIO()
    assert run_replay(settings, ReplayOptions(path), out, err) == 0, err.getvalue()
    injection = PromptInjectionDetector().model_version
    claims = FaithfulnessDrift().scorer_version
    said = [line for line in err.getvalue().splitlines() if "scored with" in line]
    assert len(said) == 1
    assert f"prompt_injection {injection}" in said[0]
    assert f"faithfulness_drift {claims}" in said[0]
    store = open_store(settings)
    try:
        stored = _stored_versions(store)
    finally:
        store.close()
    assert len(stored) == len(rows)
    assert all(v["prompt_injection"] == injection for v in stored)
    assert all(v["faithfulness_drift"] == claims for v in stored)
