"""InputLengthDrift: the first detector, and the contract every detector will share."""

from __future__ import annotations

import pickle
import random
from dataclasses import dataclass

import pytest

from watchkeeper.detectors import InputLengthDrift, KeyedDetectors, default_detectors


@dataclass
class Call:
    """A minimal call satisfying CallView."""

    input_text: str
    output_text: str = ""
    duration_s: float = 0.1
    is_error: bool = False


def _stream(seed: int, n: int, shift_at: int | None = None) -> list[Call]:
    rng = random.Random(seed)
    calls = []
    for i in range(n):
        low, high = (30, 90) if shift_at is None or i < shift_at else (300, 900)
        calls.append(Call("w" * rng.randint(low, high)))
    return calls


def _alarms(detector: InputLengthDrift, calls: list[Call]) -> list[int]:
    found = []
    for i, call in enumerate(calls):
        detector.update(call)
        if detector.drift_detected:
            found.append(i)
    return found


def test_detects_a_tenfold_length_shift_quickly() -> None:
    """A 10x jump in input length is detected within 100 calls of the change."""
    alarms = _alarms(InputLengthDrift(), _stream(1, 3000, shift_at=1500))
    assert alarms
    assert 1500 <= alarms[0] < 1600


def test_quiet_on_stationary_traffic() -> None:
    """No alarm on 20,000 calls of unchanging traffic (calibration proper is issue 5)."""
    assert _alarms(InputLengthDrift(), _stream(2, 20_000)) == []


def test_deterministic_for_the_same_stream() -> None:
    """Two instances fed the same stream report identical scores and alarms."""
    calls = _stream(3, 2000, shift_at=1000)
    a, b = InputLengthDrift(), InputLengthDrift()
    for call in calls:
        a.update(call)
        b.update(call)
        assert (a.score, a.drift_detected) == (b.score, b.drift_detected)


def test_pickle_round_trip_keeps_what_was_learned() -> None:
    """A restored detector continues exactly as the original would have."""
    calls = _stream(4, 2000, shift_at=1200)
    original = InputLengthDrift()
    for call in calls[:1000]:
        original.update(call)
    restored = pickle.loads(pickle.dumps(original))
    for call in calls[1000:]:
        original.update(call)
        restored.update(call)
        assert (restored.score, restored.drift_detected) == (
            original.score,
            original.drift_detected,
        )


@pytest.mark.parametrize(
    "text", ["", "\x00", "数据漂移检测" * 50, "مرحبا " * 1000, "x" * 2_000_000]
)
def test_handles_empty_binary_non_english_and_huge_inputs(text: str) -> None:
    """Odd inputs give a finite, non-negative score and never raise."""
    detector = InputLengthDrift(warmup=0)
    for call in _stream(5, 50):
        detector.update(call)
    detector.update(Call(text))
    assert 0.0 <= detector.score < float("inf")


def test_keyed_detectors_are_bounded_and_independent() -> None:
    """Each key learns alone; the least recently used key is evicted past the bound."""
    keyed = KeyedDetectors(InputLengthDrift(), max_keys=3)
    for i in range(10):
        keyed.get(f"route-{i}").update(Call("hello"))
    assert len(keyed.keys()) == 3
    assert keyed.evicted == 7
    assert keyed.get("route-9") is not keyed.get("route-8")


def test_default_detectors_are_fresh_instances() -> None:
    """Each call to default_detectors returns new, untrained detectors."""
    first, second = default_detectors(), default_detectors()
    assert [d.name for d in first] == ["input_length_drift"]
    assert first[0] is not second[0]
