"""Detector state survives a restart: checkpoint to the store, restore on start."""

from __future__ import annotations

from collections.abc import Sequence

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.store.store import DetectorState, Store


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

    def key(scored: Sequence[tuple[object, dict[str, float]]]) -> list[tuple[str, float]]:
        return sorted(item for _, wide in scored for item in wide.items())

    assert key(got) == key(expected)
    assert key(cold) != key(expected)


def test_unusable_checkpoint_rows_are_skipped(store: Store) -> None:
    """A corrupt saved state is skipped (that key relearns); startup does not fail."""
    store.save_detector_states(
        [
            DetectorState("input_length_drift", "k", "bm90IGEgcGlja2xl"),  # not a pickle
            DetectorState("input_length_drift", "k2", "not base64!"),
        ]
    )
    assert Pipeline(store).restore_state() == 0


def test_the_newest_checkpoint_of_a_key_wins(store: Store) -> None:
    """Saving a (detector, key) again replaces its state; other keys keep theirs."""
    import time

    store.save_detector_states([DetectorState("d", "a", "old"), DetectorState("d", "b", "b")])
    time.sleep(0.002)  # checkpoints are stamped to the millisecond
    store.save_detector_states([DetectorState("d", "a", "new")])
    assert sorted(store.detector_states(), key=lambda s: s.key) == [
        DetectorState("d", "a", "new"),
        DetectorState("d", "b", "b"),
    ]
