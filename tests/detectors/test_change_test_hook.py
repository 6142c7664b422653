"""``Detector.use_change_test``: one hook for every default detector watching a per-call
signal; the plugged test decides alarms, each clone (key) learns its own copy, scores do
not move, and batches give what call-by-call updates give."""

from __future__ import annotations

import pickle
import random

import pytest
from river.drift import ADWIN, PageHinkley

from tests.detectors.streams import calls
from watchkeeper.detectors import (
    Call,
    Detector,
    ErrorRateDrift,
    KeyedDetectors,
    RiverChangeTest,
    TopicDrift,
    default_detectors,
)

PLUGGABLE = [d.name for d in default_detectors() if d.name != "input_topic_drift"]


def _plugged(name: str) -> Detector:
    test = RiverChangeTest(PageHinkley(alpha=1.0, threshold=3.0))
    return next(d for d in default_detectors({name: test}) if d.name == name)


def _trace(detector: Detector, stream: list[Call]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for call in stream:
        detector.update(call)
        out.append((tuple(sorted(detector.scores.items())), detector.alarm_reason))
    return out


def test_every_default_detector_but_the_topic_mix_takes_a_change_test() -> None:
    """Twelve of the thirteen; the topic test compares windows, so it refuses clearly."""
    assert len(PLUGGABLE) == 12
    for name in PLUGGABLE:
        assert _plugged(name).change_test is not None
    with pytest.raises(ValueError, match="input_topic_drift: its change test cannot be"):
        default_detectors({"input_topic_drift": RiverChangeTest(ADWIN())})
    with pytest.raises(TypeError, match="input_topic_drift: its change test cannot be"):
        TopicDrift().use_change_test(RiverChangeTest(ADWIN()))


@pytest.mark.parametrize("name", PLUGGABLE)
def test_a_plugged_test_moves_alarms_not_scores(name: str) -> None:
    """Same scores as with the CUSUM; clones keep the template and feed their own copy;
    a pickle resumes identically; a batch gives what call-by-call updates give."""
    stream = calls(3, 1200, topics=("billing", "login"))
    for i, call in enumerate(stream):
        if i % 3 == 0:
            call.contexts = [call.output_text + " More in the help center.", "Other."]
    default = next(d for d in default_detectors() if d.name == name)
    plugged = _plugged(name)
    assert [s for s, _ in _trace(default, stream)] == [s for s, _ in _trace(plugged, stream)]
    clone = plugged.clone()
    assert clone.change_test is plugged.change_test
    restored = pickle.loads(pickle.dumps(plugged))
    rest = calls(4, 600, topics=("sync",))
    assert _trace(restored, rest) == _trace(plugged, rest)
    batch = clone.update_many(stream)
    one_by_one = _plugged(name)
    alarms = [(i, r) for i, (_, r) in enumerate(_trace(one_by_one, stream)) if r]
    assert batch.alarms == alarms


def test_a_rate_detector_alarms_on_more_events_only() -> None:
    """ADWIN on 1/0 per call: a rise from 2% to 10% errors alarms, a fall does not."""
    rng = random.Random(5)

    def stream(rate: float, n: int) -> list[Call]:
        return [Call("q", "a", is_error=rng.random() < rate) for _ in range(n)]

    detector = ErrorRateDrift()
    detector.use_change_test(RiverChangeTest(ADWIN()))
    rising = [i for i, (_, r) in enumerate(_trace(detector, stream(0.02, 2000))) if r]
    assert rising == []
    found = [i for i, (_, r) in enumerate(_trace(detector, stream(0.1, 1500))) if r]
    assert found
    assert found[0] < 800
    falling = ErrorRateDrift()
    falling.use_change_test(RiverChangeTest(ADWIN()))
    assert [r for _, r in _trace(falling, stream(0.1, 2000) + stream(0.0, 2000)) if r] == []


def test_restored_keys_take_the_configured_change_test() -> None:
    """State saved with ADWIN, restored under a prototype with the CUSUM (and back): the
    key's detector follows the configuration; a matching test is kept with what it learned."""
    adwin = RiverChangeTest(ADWIN())
    saved = _plugged("latency_drift")
    saved.use_change_test(adwin)
    for call in calls(6, 300):
        saved.update(call)
    plain = KeyedDetectors(next(d for d in default_detectors() if d.name == "latency_drift"))
    plain.put("k", pickle.loads(pickle.dumps(saved)))
    assert plain.get("k").change_test is None
    configured = KeyedDetectors(saved.clone())
    kept = pickle.loads(pickle.dumps(saved))
    learned = kept._change
    configured.put("k", kept)
    assert configured.get("k")._change is learned
