"""The contract every detector passes: river's estimator checks, for LLM calls.

Deterministic for a seed, pickle round-trip resumes identically, clones are fresh, memory
stays bounded however long the stream, and odd input never raises.
"""

from __future__ import annotations

import math
import pickle
import random
from collections.abc import Callable

import pytest

from tests.detectors.streams import calls
from watchkeeper.detectors import (
    Call,
    Detector,
    InputEmbeddingDrift,
    KeyedDetectors,
    TokenUsageDrift,
    default_detectors,
)


def toy_embed(text: str) -> list[float]:
    """A picklable toy embedding: letter counts."""
    return [float(text.count(ch)) for ch in "etaoinshrdlu"]


def _factories() -> dict[str, Callable[[], Detector]]:
    found: dict[str, Callable[[], Detector]] = {}
    for detector in default_detectors():
        found[detector.name] = detector.clone
    found["input_embedding_drift"] = lambda: InputEmbeddingDrift(toy_embed, reference_size=50)
    found["token_cost_drift"] = lambda: TokenUsageDrift(prices={"m": (0.5, 1.5)})
    return found


FACTORIES = _factories()
NAMES = sorted(FACTORIES)


def _rag(stream: list[Call]) -> list[Call]:
    """Give every third call contexts containing its answer, so faithfulness has work."""
    for i, call in enumerate(stream):
        if i % 3 == 0:
            call.contexts = [call.output_text + " More details in the help center.", "Other."]
    return stream


def _trace(detector: Detector, stream: list[Call]) -> list[tuple[object, ...]]:
    out = []
    for call in stream:
        detector.update(call)
        out.append((tuple(sorted(detector.scores.items())), detector.drift_detected))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_for_the_same_stream(name: str) -> None:
    """Two fresh instances fed the same stream report identical scores and alarms."""
    stream = _rag(calls(1, 1500))
    assert _trace(FACTORIES[name](), stream) == _trace(FACTORIES[name](), stream)


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip_resumes_identically(name: str) -> None:
    """A detector restored from a pickle continues exactly as the original would."""
    stream = _rag(calls(2, 2400, topics=("billing", "login", "sync")))
    original = FACTORIES[name]()
    _trace(original, stream[:1600])
    restored = pickle.loads(pickle.dumps(original))
    assert _trace(restored, stream[1600:]) == _trace(original, stream[1600:])


@pytest.mark.parametrize("name", NAMES)
def test_clone_is_fresh_and_keeps_parameters(name: str) -> None:
    """``clone()`` gives an untrained instance that behaves like a new one."""
    stream = _rag(calls(3, 600))
    trained = FACTORIES[name]()
    _trace(trained, stream)
    assert trained.clone()._params() == trained._params()
    assert _trace(trained.clone(), stream) == _trace(FACTORIES[name](), stream)


@pytest.mark.parametrize("name", NAMES)
def test_memory_stays_bounded(name: str) -> None:
    """State stops growing: 6,000 more calls of ever-new inputs add less than 10%.

    Every input and answer is unique (fresh random words), the worst case for groups,
    vocabularies and caches.
    """
    rng = random.Random(4)
    letters = "abcdefghijklmnopqrstuvwxyz"

    def fresh(i: int) -> Call:
        words = ["".join(rng.choices(letters, k=6)) for _ in range(8)]
        return Call(
            " ".join(words[:5]) + "?",
            " ".join(words[3:]) + f" {i}.",
            contexts=[" ".join(words)] if i % 2 else [],
            model="m",
            duration_s=rng.random() + 0.01,
            input_tokens=10,
            output_tokens=20,
        )

    detector = FACTORIES[name]()
    for i in range(6000):
        detector.update(fresh(i))
    size = len(pickle.dumps(detector))
    for i in range(6000, 12_000):
        detector.update(fresh(i))
    grown = len(pickle.dumps(detector))
    assert grown < 1.1 * size + 4096, (size, grown)
    assert grown < 2_000_000


ODD_INPUTS = [
    Call(""),
    Call("\x00\x01\ufffd", "\x00"),
    Call("数据漂移检测" * 50, "模型回答" * 30, contexts=["上下文"]),
    Call("مرحبا " * 1000, "شكرا", contexts=[""]),
    Call("x" * 2_000_000, "y" * 2_000_000, contexts=["z" * 2_000_000]),
    Call("\ud800 lone surrogate", "\udfff"),
    Call("q", "a", duration_s=math.nan, input_tokens=-5, output_tokens=2**40),
    Call("q", "a", duration_s=math.inf, finish_reasons=["LENGTH", ""]),
    Call("q", "", is_error=True, contexts=["c"] * 500),
]


@pytest.mark.parametrize("name", NAMES)
def test_odd_inputs_never_raise_and_give_finite_scores(name: str) -> None:
    """Empty, binary, non-English, huge and NaN inputs: no exception, finite scores."""
    detector = FACTORIES[name]()
    for call in _rag(calls(5, 400)):
        detector.update(call)
    for call in ODD_INPUTS:
        detector.update(call)
        assert all(math.isfinite(v) for v in detector.scores.values()), detector.scores
        assert isinstance(detector.drift_detected, bool)


@pytest.mark.parametrize("name", NAMES)
def test_scores_carry_the_declared_main_score(name: str) -> None:
    """Over a realistic stream, the detector reports its ``score_name`` at least once."""
    detector = FACTORIES[name]()
    seen: set[str] = set()
    for call in _rag(calls(6, 2000)):
        detector.update(call)
        seen |= set(detector.scores)
    assert detector.score_name in seen


def test_default_detectors_are_fresh_and_uniquely_named() -> None:
    """Each call to default_detectors returns new instances with distinct names."""
    first, second = default_detectors(), default_detectors()
    names = [d.name for d in first]
    assert len(set(names)) == len(names)
    assert "input_length_drift" in names
    assert all(a is not b for a, b in zip(first, second, strict=True))


def test_keyed_detectors_are_bounded_independent_and_restorable() -> None:
    """Each key learns alone; LRU eviction past the bound; a snapshot restores all keys."""
    keyed = KeyedDetectors(default_detectors()[0], max_keys=3)
    for i in range(10):
        keyed.get(f"route-{i}").update(Call("hello" * i))
    assert keyed.keys() == ["route-7", "route-8", "route-9"]
    assert keyed.evicted == 7
    assert keyed.get("route-9") is not keyed.get("route-8")
    restored = KeyedDetectors.restore(keyed.snapshot())
    assert restored.keys() == keyed.keys()
    with pytest.raises(ValueError, match="snapshot"):
        KeyedDetectors.restore(pickle.dumps((0, keyed)))
