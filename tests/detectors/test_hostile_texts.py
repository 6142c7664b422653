"""Hostile texts through every default detector: a score or none, never an exception.

The detectors are the ones the collector builds from default settings. Each gets the texts
of :mod:`tests.detectors.hostile_texts` as prompt, as answer, as a context and everywhere
at once, plus calls with a hundred thousand contexts, one call at a time and as a run
(``update_many``, the collector's way). Afterwards it still scores a normal call as it did
before, and its state still pickles to a bounded size. The suite runs with and without
the compiled core, so both paths are held to this.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterator

import pytest

from tests.detectors.hostile_texts import hostile_texts, many_contexts
from tests.detectors.streams import calls
from watchkeeper.collector.detector_setup import configured_detectors
from watchkeeper.collector.settings import load_settings
from watchkeeper.detectors import Call, Detector

#: What a checkpoint of one detector may grow to after the hostile calls: none of them
#: may be kept whole (each text is up to 1 MB).
MAX_STATE_BYTES = 2_000_000


def _detectors() -> list[Detector]:
    return configured_detectors(load_settings(None, {}, environ={}).pipeline)


NAMES = [detector.name for detector in _detectors()]


def _fresh(name: str) -> Detector:
    return next(d for d in _detectors() if d.name == name)


def _warm_stream() -> list[Call]:
    stream = calls(11, 400)
    for i, call in enumerate(stream):
        if i % 2 == 0:
            call.contexts = [f"{call.output_text} Refunds take 30 days.", "Shipping is free."]
    return stream


PROBE = Call(
    "how do I reset my password?",
    "Open settings, choose account, then select reset password.",
    contexts=["Open settings, choose account, then select reset password. Links last 30 days."],
    model="m",
    duration_s=0.4,
    input_tokens=12,
    output_tokens=14,
    finish_reasons=["stop"],
)


def hostile_calls() -> Iterator[tuple[str, Call]]:
    """``(label, call)``: each text as prompt, answer, context and all three; many contexts."""
    for name, text in hostile_texts().items():
        yield f"{name}/prompt", Call(text, "Open settings.", model="m", duration_s=0.3)
        yield f"{name}/answer", Call("How do refunds work?", text, model="m", duration_s=0.3)
        yield (
            f"{name}/context",
            Call("How do refunds work?", "Refunds take 30 days.", contexts=[text], model="m"),
        )
        yield f"{name}/all", Call(text, text, contexts=[text, text, ""], model="m", duration_s=0.3)
    texts = hostile_texts()
    yield "many_contexts/long_answer", Call("q?", texts["sentences_1mb"], contexts=many_contexts())
    yield (
        "many_contexts/long_prompt",
        Call(texts["prose_1mb"], "Orders above 5 euros ship free.", contexts=many_contexts()),
    )


def _usable_after(detector: Detector, before: set[str]) -> None:
    """A normal call still gets every score it got before the hostile calls, finite."""
    detector.update(PROBE)
    assert before <= set(detector.scores), (before, dict(detector.scores))
    assert all(math.isfinite(v) for v in detector.scores.values())
    size = len(pickle.dumps(detector))
    assert size < MAX_STATE_BYTES, size
    restored = pickle.loads(pickle.dumps(detector))
    restored.update(PROBE)
    assert before <= set(restored.scores)


def _warmed(name: str) -> tuple[Detector, set[str]]:
    detector = _fresh(name)
    for call in _warm_stream():
        detector.update(call)
    detector.update(PROBE)
    return detector, set(detector.scores)


def test_the_collector_runs_all_thirteen_default_detectors() -> None:
    """The set under test is the whole default set, as the collector builds it."""
    assert len(NAMES) == 13
    assert len(set(NAMES)) == 13


@pytest.mark.parametrize("name", NAMES)
def test_one_call_at_a_time_gives_finite_scores_or_none(name: str) -> None:
    """``update`` on each hostile call: no exception, finite scores (or none), a bool."""
    detector, before = _warmed(name)
    for label, call in hostile_calls():
        try:
            detector.update(call)
        except Exception as exc:
            pytest.fail(f"{name} raised on {label}: {exc!r}")
        found = dict(detector.scores)
        assert all(math.isfinite(v) for v in found.values()), (label, found)
        assert isinstance(detector.drift_detected, bool), label
        assert isinstance(detector.alarm_reason, str), label
    _usable_after(detector, before)


@pytest.mark.parametrize("name", NAMES)
def test_a_run_of_hostile_calls_gives_finite_scores_or_none(name: str) -> None:
    """``update_many`` over the hostile calls among normal ones: one value or NaN per call
    in every column, nothing infinite, and the normal calls between them still scored."""
    detector, before = _warmed(name)
    labels, run = [], []
    for label, call in hostile_calls():
        labels += [label, "probe"]
        run += [call, PROBE]
    try:
        found = detector.update_many(run)
    except Exception as exc:
        pytest.fail(f"{name}.update_many raised: {exc!r}")
    for score, column in found.scores.items():
        assert len(column) == len(run), score
        bad = [labels[i] for i, v in enumerate(column) if math.isinf(v)]
        assert not bad, (score, bad)
    for score in before:
        column = found.scores.get(score, [])
        assert all(math.isfinite(column[i]) for i in range(1, len(run), 2)), score
    _usable_after(detector, before)
