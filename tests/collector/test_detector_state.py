"""Detector state survives a restart: checkpoint to the store, restore on start."""

from __future__ import annotations

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.store.store import Store


def test_restart_resumes_what_the_detectors_learned(store: Store) -> None:
    """A new pipeline restored from a checkpoint scores the next calls like the old one."""
    first = Pipeline(store)
    first.process([Payload(protobuf_payload(answer_spans(60)), "test")])
    assert first.save_state() > 0

    restored, fresh = Pipeline(store), Pipeline(store)
    assert restored.restore_state() > 0
    following = [Payload(protobuf_payload(answer_spans(5)), "test")]
    expected = first.prepare(following).result.detection.scores
    got = restored.prepare(following).result.detection.scores
    cold = fresh.prepare(following).result.detection.scores

    def key(scored: list[tuple[object, dict[str, float]]]) -> list[tuple[str, float]]:
        return sorted(item for _, wide in scored for item in wide.items())

    assert key(got) == key(expected)
    assert key(cold) != key(expected)


def test_unusable_checkpoint_rows_are_skipped(store: Store) -> None:
    """A corrupt saved state is skipped (that key relearns); startup does not fail."""
    store.backend.insert_rows(
        "watchkeeper.detector_state",
        [
            {
                "SavedAt": "1700000000.000",
                "Detector": "input_length_drift",
                "DetectorKey": "k",
                "State": "bm90IGEgcGlja2xl",
            }
        ],
    )
    assert Pipeline(store).restore_state() == 0
