"""Input drift: length, vocabulary, language, topic mix and embedding novelty."""

from __future__ import annotations

import random

from tests.detectors.streams import alarm_indices, calls, question
from tests.detectors.test_contract import toy_embed
from watchkeeper.detectors import (
    Call,
    InputEmbeddingDrift,
    InputLanguageDrift,
    InputLengthDrift,
    InputVocabularyDrift,
    TopicDrift,
)


def test_length_drift_finds_pasted_logs_fast_and_names_the_direction() -> None:
    """Inputs ten times longer from call 1,500 on are flagged within 30 calls, as a rise."""
    stream = calls(1, 3000)
    for call in stream[1500:]:
        call.input_text += " log line: ERROR sync failed" * 12
    reasons: list[str] = []
    alarms = alarm_indices(InputLengthDrift(), stream[:1530], reasons)
    assert len(alarms) == 1
    assert 1500 <= alarms[0] < 1530
    assert reasons == ["input length rose"]


def test_length_drift_is_quiet_on_stable_traffic() -> None:
    """No alarm on 20,000 calls of unchanging traffic (target: one per 200,000)."""
    assert alarm_indices(InputLengthDrift(), calls(2, 20_000)) == []


def test_length_scores_say_how_unusual_a_call_is() -> None:
    """A typical input scores near 0; a far longer one scores beyond 2 standard deviations."""
    detector = InputLengthDrift()
    for call in calls(3, 500):
        detector.update(call)
    detector.update(Call(calls(4, 1)[0].input_text))
    typical = detector.scores["input_drift"]
    detector.update(Call("x" * 5000))
    assert typical < 2.0 < detector.scores["input_drift"]


def test_vocabulary_drift_flags_a_new_topic_and_keeps_its_reference_frozen() -> None:
    """After learning billing/login words, questions about sync raise the OOV rate and alarm."""
    detector = InputVocabularyDrift(reference_calls=300)
    alarms = alarm_indices(detector, calls(5, 1500) + calls(6, 500, topics=("sync", "export")))
    assert alarms
    assert 1500 <= alarms[0] < 1600
    assert detector.vocabulary is not None
    assert "invoice" in detector.vocabulary
    assert "sync" not in detector.vocabulary
    detector.update(Call("how do I sync my notes offline?"))
    assert detector.oov_rate == 1.0


def test_vocabulary_reference_can_come_from_an_evalset_and_be_reset() -> None:
    """``with_reference`` freezes an evalset's vocabulary; ``reset_reference`` relearns."""
    detector = InputVocabularyDrift.with_reference(["reset my password"], reference_calls=2)
    detector.update(Call("reset my android password"))
    assert detector.oov_rate == 1 / 3
    detector.reset_reference()
    assert detector.vocabulary is None
    for text in ["export pdf", "export markdown"]:
        detector.update(Call(text))
    assert detector.vocabulary == frozenset({"export", "pdf", "markdown"})


def test_language_drift_flags_a_switch_to_another_language() -> None:
    """English traffic, then a quarter of it in Spanish: an alarm soon after the switch."""
    rng = random.Random(7)
    english = [Call(question(rng, "billing")) for _ in range(1000)]
    spanish = "¿Cómo puedo cambiar la tarjeta de mi cuenta?"
    mixed = [Call(spanish if rng.random() < 0.25 else question(rng, "login")) for _ in range(600)]
    detector = InputLanguageDrift()
    alarms = alarm_indices(detector, english + mixed)
    assert alarms
    assert 1000 <= alarms[0] < 1150
    assert detector.reference == {"en": 300}


def test_topic_drift_detects_a_new_topic_mix_and_reports_psi() -> None:
    """Billing/login traffic, then sync/export: the first window after the change alarms."""
    detector = TopicDrift(learn_calls=300, reference_calls=600, window=100)
    stream = calls(8, 2000) + calls(9, 300, topics=("sync", "export"))
    reasons: list[str] = []
    alarms = alarm_indices(detector, stream, reasons)
    assert alarms
    assert 2000 <= alarms[0] < 2200
    assert detector.psi > 0.25  # "major shift" by the industry's rule of thumb
    assert "Hellinger" in reasons[0]


def test_topic_drift_is_quiet_on_a_stable_mix() -> None:
    """The simulated threshold holds: no alarm over 100 stable windows."""
    detector = TopicDrift(learn_calls=300, reference_calls=600, window=100)
    assert alarm_indices(detector, calls(10, 10_900)) == []


def test_frozen_topic_reference_alarms_once_per_excursion() -> None:
    """With a frozen evalset reference, a lasting change alarms once, not every window."""
    evalset = [c.input_text for c in calls(11, 600)]
    detector = TopicDrift.with_reference(evalset, window=100)
    assert detector.frozen
    assert detector.monitoring
    alarms = alarm_indices(detector, calls(12, 1000, topics=("sync", "export")))
    assert alarms == [99]
    # Back to the reference mix, then away again: a second alarm.
    alarm_indices(detector, calls(13, 300))
    assert alarm_indices(detector, calls(14, 200, topics=("sync",))) == [99]


def test_unfrozen_topic_reference_is_relearned_after_an_alarm() -> None:
    """An auto-learned reference is dropped at an alarm and learned from the new traffic."""
    detector = TopicDrift(learn_calls=200, reference_calls=300, window=100)
    alarm_indices(detector, calls(15, 800) + calls(16, 100, topics=("sync",)))
    assert not detector.monitoring
    assert detector.keyword_list == []


def test_embedding_drift_uses_the_application_embedding() -> None:
    """Inputs unlike the reference in the given embedding space raise novelty and alarm."""
    detector = InputEmbeddingDrift(toy_embed, reference_size=100)
    stream = calls(17, 1200) + [Call("zzz qqq xxx jjj " * (1 + i % 3)) for i in range(100)]
    alarms = alarm_indices(detector, stream)
    assert alarms
    assert 1200 <= alarms[0] < 1250
    assert detector.novelty > 0.3
