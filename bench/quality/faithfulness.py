"""Faithfulness on development sets: claim-level scorer, lexical baseline, length-only control.

``python -m bench.quality faithfulness [-- --pairs N --seed S --source auto|debian|pydoc]``

Builds the QA-style, question-and-short-answer and summary-style sets of
:mod:`training.faithfulness.dev_sets` (faithful and unfaithful answers in pairs, from the
Python documentation; the scorer was checked on seeds 0 and 1, seed 2 is held back)
and prints, per set, the AUROC of ``ClaimGroundedness`` (the default
``faithfulness`` scorer), of ``LexicalGroundedness`` (word overlap) and of answer length
alone (in its better direction: what length can tell at best), then the AUROC per kind of
fault, then the CPU per call of both scorers (contexts seen before, and seen for the
first time). Install the Debian package ``python3.11-doc`` for the full sets; without it
the small fallback from ``pydoc_data`` is used (fewer, shorter documents).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence

from training.faithfulness.dev_sets import STYLES, Item, build

from watchkeeper.detectors import native_core
from watchkeeper.detectors.faithfulness.claims import ClaimGroundedness
from watchkeeper.detectors.faithfulness.groundedness import LexicalGroundedness

Scorer = Callable[[str, Sequence[str]], float]


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """P(a positive scores above a negative), ties half; NaN scores count as 0."""
    pairs = sorted((0.0 if math.isnan(s) else s, y) for s, y in zip(scores, labels, strict=True))
    positives = sum(labels)
    negatives = len(labels) - positives
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        rank_sum += (i + j + 1) / 2 * sum(y for _, y in pairs[i:j])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _length(answer: str, _contexts: Sequence[str]) -> float:
    return -float(len(answer.split()))


SCORERS: dict[str, Callable[[], Scorer]] = {
    "claims": ClaimGroundedness,
    "lexical": LexicalGroundedness,
    "length": lambda: _length,
}


def _scores(items: list[Item]) -> dict[str, list[float]]:
    """Each scorer's score of each item (the default one is given the question too)."""
    found = {}
    for name, make in SCORERS.items():
        scorer = make()
        found[name] = [scorer(i.answer, i.contexts) for i in items]
    # ``found["claims"]`` above is without the question: the default as it scores calls
    # whose prompt says nothing (what the question adds shows beside it).
    found["answer_only"] = found["claims"]
    claims = ClaimGroundedness()
    found["claims"] = [_score(claims, i, i.contexts) for i in items]
    return found


def _aurocs(scores: dict[str, list[float]], items: list[Item], keep: set[int]) -> dict[str, float]:
    """AUROC of each scorer on the items of the pairs in ``keep``."""
    at = [k for k, i in enumerate(items) if i.pair in keep]
    labels = [items[k].faithful for k in at]
    found = {}
    for name, values in scores.items():
        value = auroc([values[k] for k in at], labels)
        found[name] = max(value, 1 - value) if name == "length" else value
    return found


def _score(scorer: Scorer, item: Item, contexts: Sequence[str]) -> float:
    """The scorer's score of the item; the default scorer is given the question too."""
    if isinstance(scorer, ClaimGroundedness):
        return scorer(item.answer, contexts, question=item.question)
    return scorer(item.answer, contexts)


def _cost_us(scorer_type: Callable[[], Scorer], items: list[Item]) -> tuple[float, float]:
    """Best of 3 runs: CPU µs per call on first sight of each context list, then seen."""
    first = seen = math.inf
    for _ in range(3):
        scorer = scorer_type()
        # Trailing spaces make each item's contexts new to the caches (a pair's two
        # members share theirs).
        contexts = [[c + " " * (1 + k % 2) for c in i.contexts] for k, i in enumerate(items)]
        started = time.process_time()
        for item, context in zip(items, contexts, strict=True):
            _score(scorer, item, context)
        middle = time.process_time()
        for item, context in zip(items, contexts, strict=True):
            _score(scorer, item, context)
        ended = time.process_time()
        first = min(first, (middle - started) / len(items) * 1e6)
        seen = min(seen, (ended - middle) / len(items) * 1e6)
    return first, seen


def _report(style: str, source: str, items: list[Item], scores: dict[str, list[float]]) -> None:
    found = _aurocs(scores, items, {i.pair for i in items})
    chars = sum(len(i.answer) for i in items) / len(items)
    print(
        f"| {style} | {source} | {len(items) // 2} | {chars:.0f} | {found['claims']:.3f} "
        f"| {found['answer_only']:.3f} | {found['lexical']:.3f} | {found['length']:.3f} |"
    )


def _faults(style: str, items: list[Item], scores: dict[str, list[float]]) -> None:
    for fault in sorted({i.fault for i in items if not i.faithful}):
        pairs = {i.pair for i in items if i.fault == fault}
        found = _aurocs(scores, items, pairs)
        print(
            f"| {style} | {fault} | {len(pairs)} | {found['claims']:.3f} "
            f"| {found['lexical']:.3f} | {found['length']:.3f} |"
        )


def main(argv: list[str]) -> int:
    """Print the AUROC tables and the cost per call."""
    parser = argparse.ArgumentParser(prog="bench.quality faithfulness")
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", choices=("auto", "debian", "pydoc"), default="auto")
    args = parser.parse_args(argv)
    sets = {style: build(style, args.pairs, args.seed, args.source) for style in STYLES}
    print("AUROC, faithful vs unfaithful (length-only: its better direction)\n")
    print(
        "| set | source | pairs | answer chars | claims (default) | claims, answer only "
        "| lexical | length only |"
    )
    print("|---|---|---|---|---|---|---|---|")
    scores = {style: _scores(items) for style, (_, items) in sets.items()}
    for style, (source, items) in sets.items():
        _report(style, source, items, scores[style])
    print("\nPer kind of fault\n")
    print("| set | fault | pairs | claims | lexical | length only |")
    print("|---|---|---|---|---|---|")
    for style, (_, items) in sets.items():
        _faults(style, items, scores[style])
    core = "with" if native_core.AVAILABLE else "without"
    print(f"\nCPU µs per call ({core} the compiled core; best of 3)\n")
    print("| set | scorer | contexts new | contexts seen before |")
    print("|---|---|---|---|")
    for style, (_, items) in sets.items():
        for name, scorer_type in (("claims", ClaimGroundedness), ("lexical", LexicalGroundedness)):
            first, seen = _cost_us(scorer_type, items)
            print(f"| {style} | {name} | {first:.0f} | {seen:.0f} |")
    return 0
