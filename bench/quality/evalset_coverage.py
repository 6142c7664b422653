"""Evalset coverage: does novelty single out a topic the evalset misses, on unseen prompts?

``python -m bench.quality evalset_coverage``

chatterbot-corpus, eight topics; each topic's prompts are split in half (seeded). The
evalset is the first half of seven topics; production is the second half of all eight, so
every production prompt is new text and only one topic is new. Per held-out topic and
representation (content-word TF-IDF, MiniLM): the AUC of novelty for "this input is of
the missing topic" (0.5: no better than chance), the share of the missing topic's inputs
among the most novel ones (as many as it has; ties broken at random), and the coverage of
the topics the evalset does have (threshold 0.5). Inputs with no content word are left
out, as the collector does.
"""

from __future__ import annotations

import math
import random
import time

from tests.support.workload import by_topic
from watchkeeper.collector.coverage.index import CoverageIndex, Embed

TOPICS = ("ai", "coding", "psychology", "emotion", "money", "sports", "food", "science")
THRESHOLD = 0.5


def _auc(positive: list[float], negative: list[float]) -> float:
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def _top_share(novelty: list[float], is_missing: list[bool], k: int) -> float:
    """Expected share of missing-topic inputs among the ``k`` most novel, ties at the
    cut broken at random (many inputs share novelty 1.0 with words)."""
    cut = sorted(novelty, reverse=True)[k - 1]
    above = [m for n, m in zip(novelty, is_missing, strict=True) if n > cut]
    at = [m for n, m in zip(novelty, is_missing, strict=True) if n == cut]
    return (sum(above) + (k - len(above)) * sum(at) / len(at)) / k


def _split(seed: int) -> dict[str, tuple[list[str], list[str]]]:
    rng = random.Random(seed)
    halves = {}
    for topic in TOPICS:
        prompts = list(dict.fromkeys(c.prompt for c in by_topic([topic])))
        rng.shuffle(prompts)
        halves[topic] = (prompts[: len(prompts) // 2], prompts[len(prompts) // 2 :])
    return halves


def _row(gap: str, halves: dict[str, tuple[list[str], list[str]]], embed: Embed | None) -> str:
    evalset = [p for topic in TOPICS if topic != gap for p in halves[topic][0]]
    production = [(topic, p) for topic in TOPICS for p in halves[topic][1]]
    novelty = CoverageIndex(evalset, embed).novelty([p for _, p in production])
    scored = [(n, t) for n, (t, _) in zip(novelty, production, strict=True) if not math.isnan(n)]
    missing = [n for n, t in scored if t == gap]
    known = [n for n, t in scored if t != gap]
    share = _top_share([n for n, _ in scored], [t == gap for _, t in scored], len(missing))
    covered = sum(n < THRESHOLD for n in known) / len(known)
    return f"{_auc(missing, known):>6.2f} {share:>9.0%} {covered:>9.0%}"


def main(argv: list[str]) -> int:
    """Print the table; 0."""
    del argv
    from watchkeeper.detectors.semantic.minilm import MiniLmEmbedding, model_dir

    halves = _split(seed=1)
    embeddings: list[tuple[str, Embed | None]] = [("words", None)]
    if model_dir() is not None:
        embeddings.append(("minilm", MiniLmEmbedding()))
    print("evalset coverage: a topic missing from the evalset, on held-out prompts")
    head = f"{'AUC':>6} {'top share':>9} {'covered':>9}"
    print(
        f"{'missing topic':<14}{'inputs':>7}  "
        + "   ".join(f"{n + ':':<8}{head}" for n, _ in embeddings)
    )
    for gap in TOPICS:
        started = time.perf_counter()
        cells = "   ".join(f"{'':<8}{_row(gap, halves, embed)}" for _, embed in embeddings)
        print(
            f"{gap:<14}{len(halves[gap][1]):>7}  {cells}  ({time.perf_counter() - started:.1f} s)"
        )
    return 0
