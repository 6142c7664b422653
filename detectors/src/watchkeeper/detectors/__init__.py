"""Streaming quality detectors for LLM traffic: drift, consistency, faithfulness, operations.

Each detector follows river's shape: ``update(call)`` returns nothing, then properties say
what was found (``scores`` for the call just seen, ``drift_detected`` when the stream
changed, ``alarm_reason`` saying what changed). Change detection is calibrated: each
detector raises a false alarm about once per ``target_arl`` calls on a stable stream.

>>> from watchkeeper.detectors import Call, default_detectors
>>> detectors = default_detectors()
>>> for detector in detectors:
...     detector.update(Call("How do I reset my password?", "Open Settings > Account."))
>>> [detector.name for detector in detectors][:3]
['input_length_drift', 'input_vocabulary_drift', 'input_language_drift']
"""

from collections.abc import Mapping

from watchkeeper.detectors.base import CallView, Detector, DetectorBatch
from watchkeeper.detectors.budget.budgeted_detectors import BudgetedDetectors
from watchkeeper.detectors.budget.false_alarm_budget import FalseAlarmBudget
from watchkeeper.detectors.call import Call
from watchkeeper.detectors.change.river_test import ChangeTest, RiverChangeTest
from watchkeeper.detectors.consistency.consistency_drift import ConsistencyDrift
from watchkeeper.detectors.descriptor_drift import DescriptorDrift
from watchkeeper.detectors.drift.embedding_novelty import InputEmbeddingDrift
from watchkeeper.detectors.drift.input_length import InputLengthDrift
from watchkeeper.detectors.drift.language import InputLanguageDrift
from watchkeeper.detectors.drift.topic import TopicDrift
from watchkeeper.detectors.drift.vocabulary import InputVocabularyDrift
from watchkeeper.detectors.effect.effect_size import Effect
from watchkeeper.detectors.effect.severity import FoundAlarm, SeverityPolicy
from watchkeeper.detectors.faithfulness.faithfulness_drift import FaithfulnessDrift
from watchkeeper.detectors.faithfulness.groundedness import (
    GroundednessScorer,
    LexicalGroundedness,
)
from watchkeeper.detectors.keyed import KeyedDetectors
from watchkeeper.detectors.operational.bad_output_rate import BadOutputRateDrift
from watchkeeper.detectors.operational.error_rate import ErrorRateDrift
from watchkeeper.detectors.operational.latency import LatencyDrift
from watchkeeper.detectors.operational.refusal_rate import RefusalRateDrift
from watchkeeper.detectors.operational.token_usage import TokenUsageDrift
from watchkeeper.detectors.rate_drift import RateDrift
from watchkeeper.detectors.safety.pii import PIILeakDetector
from watchkeeper.detectors.safety.prompt_injection import PromptInjectionDetector

__all__ = [
    "HIGHER_IS_BETTER",
    "BadOutputRateDrift",
    "BudgetedDetectors",
    "Call",
    "CallView",
    "ChangeTest",
    "ConsistencyDrift",
    "DescriptorDrift",
    "Detector",
    "DetectorBatch",
    "Effect",
    "ErrorRateDrift",
    "FaithfulnessDrift",
    "FalseAlarmBudget",
    "FoundAlarm",
    "GroundednessScorer",
    "InputEmbeddingDrift",
    "InputLanguageDrift",
    "InputLengthDrift",
    "InputVocabularyDrift",
    "KeyedDetectors",
    "LatencyDrift",
    "LexicalGroundedness",
    "PIILeakDetector",
    "PromptInjectionDetector",
    "RateDrift",
    "RefusalRateDrift",
    "RiverChangeTest",
    "SeverityPolicy",
    "TokenUsageDrift",
    "TopicDrift",
    "default_detectors",
]

#: Score names where higher means better; for every other score higher means worse (more
#: unusual, riskier, slower). Whoever combines scores of several detectors needs this.
HIGHER_IS_BETTER = frozenset(
    {"faithfulness", "faithfulness_length_control", "consistency", "consistency_semantic"}
)


def default_detectors(change_tests: Mapping[str, ChangeTest] | None = None) -> list[Detector]:
    """Fresh instances of the detectors the collector runs when configuration names none.

    ``change_tests`` plugs a change test into the detectors it names (see
    :meth:`Detector.use_change_test`), e.g. ``{"latency_drift":
    RiverChangeTest(ADWIN())}``; ValueError for a name that is not a default detector or
    one whose test cannot be replaced (``input_topic_drift`` compares windows, not calls).
    """
    tests = dict(change_tests or {})
    detectors: list[Detector] = [
        InputLengthDrift(),
        InputVocabularyDrift(),
        InputLanguageDrift(),
        TopicDrift(),
        ConsistencyDrift(),
        FaithfulnessDrift(change_test=tests.get("faithfulness_drift")),
        LatencyDrift(),
        TokenUsageDrift(),
        ErrorRateDrift(),
        RefusalRateDrift(),
        BadOutputRateDrift(),
        PromptInjectionDetector(),
        PIILeakDetector(),
    ]
    names = [detector.name for detector in detectors]
    for name, test in tests.items():
        if name not in names:
            raise ValueError(f"no default detector {name!r}; they are " + ", ".join(names))
        detector = detectors[names.index(name)]
        if detector.change_test is None:
            try:
                detector.use_change_test(test)
            except TypeError as exc:
                raise ValueError(str(exc)) from None
    return detectors
