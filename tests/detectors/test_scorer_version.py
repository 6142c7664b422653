"""Detectors name the model or scorer behind their scores (``scorer_version``)."""

from __future__ import annotations

from watchkeeper.detectors import (
    ConsistencyDrift,
    FaithfulnessDrift,
    InputEmbeddingDrift,
    LatencyDrift,
    PromptInjectionDetector,
)
from watchkeeper.detectors.semantic.minilm import MODEL_VERSION, MiniLmEmbedding


def letter_counts(text: str) -> list[float]:
    """A toy embedding: how often each letter occurs."""
    return [float(text.count(ch)) for ch in "abcdefghijklmnopqrstuvwxyz"]


def test_a_detector_without_a_model_has_no_version() -> None:
    """The base default is None: latency comes from no model."""
    assert LatencyDrift().scorer_version is None


def test_model_backed_detectors_name_their_model() -> None:
    """The injection classifier's weights and the claims scorer's version."""
    injection = PromptInjectionDetector()
    assert injection.scorer_version == injection.model_version
    assert injection.scorer_version
    assert FaithfulnessDrift().scorer_version.startswith("claims-")


def test_embedding_detectors_name_their_embedding() -> None:
    """Consistency names its embedding only when it has one; embedding drift names the
    packaged model's version, or an application's function by module and name."""
    assert ConsistencyDrift().scorer_version is None
    assert ConsistencyDrift(embed=MiniLmEmbedding()).scorer_version == MODEL_VERSION
    assert InputEmbeddingDrift(MiniLmEmbedding()).scorer_version == MODEL_VERSION
    assert InputEmbeddingDrift(letter_counts).scorer_version == f"{__name__}.letter_counts"
