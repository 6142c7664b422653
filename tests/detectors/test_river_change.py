"""A river drift detector plugged in as a detector's change test, end to end."""

from __future__ import annotations

import pickle
import random

import pytest
from river.drift import ADWIN, PageHinkley

from tests.detectors.streams import PLAN_FACTS, alarm_indices
from watchkeeper.detectors import Call, FaithfulnessDrift
from watchkeeper.detectors.change.river_test import RiverChangeTest
from watchkeeper.detectors.keyed import KeyedDetectors

#: The first four plans (the streams drawn from them were tuned on these).
FACTS = PLAN_FACTS[:4]


def _stream(seed: int, n: int, made_up: float) -> list[Call]:
    """Answers quoting a retrieved fact; a share of them with a made-up price
    (same length: the length-only control cannot explain them)."""
    rng = random.Random(seed)
    calls = []
    for _ in range(n):
        contexts = rng.sample(FACTS, 2)
        answer = contexts[0]
        if rng.random() < made_up:
            price = next(w for w in answer.split() if w.isdigit())
            answer = answer.replace(f" {price} ", f" {int(price) + 1} ")
        calls.append(Call("what does it cost?", answer, contexts))
    return calls


@pytest.mark.parametrize(
    "river", [ADWIN(), PageHinkley(alpha=1.0, threshold=5.0)], ids=["ADWIN", "PageHinkley"]
)
def test_a_river_detector_drives_the_faithfulness_alarms(river: object) -> None:
    """With a river change test, a drop in grounding alarms soon after it starts, a stable
    stream does not, and the alarm reason is the detector's own."""
    detector = FaithfulnessDrift(change_test=RiverChangeTest(river, direction="down"))
    assert alarm_indices(detector, _stream(1, 1500, 0.02)) == []
    reasons: list[str] = []
    alarms = alarm_indices(detector, _stream(2, 800, 0.3), reasons)
    assert alarms
    assert alarms[0] < 300
    assert "length-only control" in reasons[0]


def test_rises_do_not_alarm_a_one_sided_test() -> None:
    """Grounding getting better is not an alarm when only drops are watched."""
    detector = FaithfulnessDrift(change_test=RiverChangeTest(ADWIN(), direction="down"))
    assert alarm_indices(detector, _stream(3, 1000, 0.4) + _stream(4, 1000, 0.0)) == []


def test_each_key_learns_its_own_copy_and_checkpoints_keep_it() -> None:
    """Per-key clones get fresh river detectors; a snapshot restores their state."""
    template = RiverChangeTest(ADWIN(), direction="down")
    keyed = KeyedDetectors(FaithfulnessDrift(change_test=template))
    for call in _stream(5, 400, 0.0):
        keyed.get("a").update(call)
    a, b = keyed.get("a"), keyed.get("b")
    assert a.change_test is template  # type: ignore[attr-defined]
    assert a._cusum is not b._cusum  # type: ignore[attr-defined]
    restored = KeyedDetectors.restore(keyed.snapshot())
    after = _stream(6, 600, 0.3)
    assert alarm_indices(restored.get("a"), after) == alarm_indices(a, after)  # type: ignore[arg-type]
    assert template.detector.width == 0  # the template itself never learns
    pickle.loads(pickle.dumps(template))


def test_something_that_is_not_a_river_detector_is_refused() -> None:
    """A clear error at construction, not a failure on the first call."""
    with pytest.raises(TypeError, match="river DriftDetector"):
        RiverChangeTest(object())
    with pytest.raises(ValueError, match="direction"):
        RiverChangeTest(ADWIN(), direction="sideways")
