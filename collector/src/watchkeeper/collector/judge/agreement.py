"""A judge measured against reviewers: agreement, confusion, calibration, bias probes.

Inputs are pairs of (judge score, reviewer score) on one rubric dimension, one pair per
label of a judged call (an item two reviewers labelled gives two pairs). Every function
here is pure; ``report.py`` reads the pairs from the store.

- **Cohen's kappa** (unweighted; chance-corrected agreement of two raters) with a
  bootstrap confidence interval over items, and Krippendorff's alpha at the dimension's
  level (ordinal for scores: a 4 against a 5 is a smaller miss than a 1 against a 5).
- **Confusion matrix**: reviewers' scores as rows, the judge's as columns.
- **Expected calibration error**: the judge's score read as a confidence that the call
  passes (its place on the scale: 1 on 1-5 is 0.0, 5 is 1.0; pass is 1.0) against the
  reviewers' verdict, binned; with the reliability table it comes from.
- **Length bias**: among items reviewers scored the same, Spearman's rank correlation of
  the judge's score with the answer's length (0: length does not sway the judge).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from watchkeeper.collector.review.agreement import cohen_kappa, krippendorff_alpha
from watchkeeper.collector.settings.rubric import RubricDimension

BOOTSTRAP_SAMPLES: Final = 1000
BOOTSTRAP_SEED: Final = 20


@dataclass(frozen=True)
class Pair:
    """One label of a judged call: the judge's and the reviewer's stored scores."""

    item: str
    judge: int
    human: int
    answer_chars: int = 0


def kappa(pairs: Sequence[Pair]) -> float | None:
    """Cohen's kappa of judge against reviewers (None when undefined).

    Cohen's own example shape: 50 items, both say yes on 20, both no on 15, 5 and 10
    split: kappa 0.4.

    >>> table = [(1, 1)] * 20 + [(1, 0)] * 5 + [(0, 1)] * 10 + [(0, 0)] * 15
    >>> round(kappa([Pair(str(i), j, h) for i, (j, h) in enumerate(table)]), 3)
    0.4
    """
    if not pairs:
        return None
    return cohen_kappa([p.judge for p in pairs], [p.human for p in pairs])


def alpha(pairs: Sequence[Pair], rubric: RubricDimension) -> float | None:
    """Krippendorff's alpha over (judge, reviewer) units at the dimension's level."""
    return krippendorff_alpha([[p.judge, p.human] for p in pairs], rubric.level)


def bootstrap_interval(
    pairs: Sequence[Pair],
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """A percentile bootstrap interval of kappa, resampling items (all labels of an item
    go together); None with fewer than two items or no defined resample."""
    by_item: defaultdict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        by_item[pair.item].append(pair)
    items = list(by_item.values())
    if len(items) < 2:
        return None
    draw = random.Random(seed)
    values = []
    for _ in range(samples):
        chosen = [pair for _ in items for pair in draw.choice(items)]
        value = kappa(chosen)
        if value is not None and not math.isnan(value):
            values.append(value)
    if not values:
        return None
    values.sort()
    tail = (1.0 - level) / 2
    low = values[int(tail * (len(values) - 1))]
    high = values[math.ceil((1 - tail) * (len(values) - 1))]
    return low, high


def confusion(pairs: Sequence[Pair], rubric: RubricDimension) -> dict[str, object]:
    """Counts of (reviewer score, judge score) over the dimension's scale.

    >>> from watchkeeper.collector.settings.rubric import RubricDimension
    >>> confusion([Pair("a", 1, 1), Pair("b", 0, 1)], RubricDimension(kind="pass_fail"))
    {'labels': ['fail', 'pass'], 'rows': [[0, 0], [1, 1]]}
    """
    values = [0, 1] if rubric.kind == "pass_fail" else list(range(rubric.min, rubric.max + 1))
    index = {value: i for i, value in enumerate(values)}
    rows = [[0] * len(values) for _ in values]
    for pair in pairs:
        if pair.human in index and pair.judge in index:
            rows[index[pair.human]][index[pair.judge]] += 1
    return {"labels": [rubric.show(v) for v in values], "rows": rows}


def confidence(score: int, rubric: RubricDimension) -> float:
    """The judge's score as a confidence that the call passes (its place on the scale)."""
    if rubric.kind == "pass_fail":
        return float(score)
    return (score - rubric.min) / (rubric.max - rubric.min)


def reliability(
    pairs: Sequence[Pair], rubric: RubricDimension
) -> tuple[float | None, list[dict[str, float]]]:
    """Expected calibration error and its reliability table (one bin per judge score).

    Four items at confidence 0.25 of which one passed, four at 0.75 of which two did:
    ECE = 0.5 x |0.25 - 0.25| + 0.5 x |0.5 - 0.75| = 0.125.

    >>> from watchkeeper.collector.settings.rubric import RubricDimension
    >>> pairs = [Pair("x", 2, h) for h in (5, 1, 1, 1)] + [Pair("y", 4, h) for h in (5, 5, 1, 1)]
    >>> reliability(pairs, RubricDimension())[0]
    0.125
    """
    bins: defaultdict[int, list[bool]] = defaultdict(list)
    for pair in pairs:
        bins[pair.judge].append(rubric.passed(pair.human))
    if not bins:
        return None, []
    total = sum(len(v) for v in bins.values())
    table, ece = [], 0.0
    for score in sorted(bins):
        passed = bins[score]
        conf = confidence(score, rubric)
        accuracy = sum(passed) / len(passed)
        ece += len(passed) / total * abs(accuracy - conf)
        table.append({"score": score, "confidence": conf, "passed": accuracy, "n": len(passed)})
    return round(ece, 6), table


def length_bias(pairs: Sequence[Pair]) -> float | None:
    """Spearman's rho of judge score and answer length among items reviewers scored the
    same, pooled over reviewer scores (weighted by group size); None without two groups'
    worth of varying data.

    >>> pairs = [Pair(str(n), n // 100, 3, n) for n in (100, 200, 300, 400)]
    >>> length_bias(pairs)
    1.0
    """
    groups: defaultdict[int, list[Pair]] = defaultdict(list)
    for pair in pairs:
        groups[pair.human].append(pair)
    weighted, weight = 0.0, 0
    for group in groups.values():
        rho = spearman([p.answer_chars for p in group], [p.judge for p in group])
        if rho is not None:
            weighted += rho * len(group)
            weight += len(group)
    return round(weighted / weight, 6) if weight else None


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None when undefined."""
    if len(xs) < 3:
        return None
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return None
    return cov / math.sqrt(vx * vy)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    return ranks


#: Model-name prefixes and the family they belong to (self-preference).
FAMILIES: Final = {
    "gpt": "openai",
    "o1": "openai",
    "o3": "openai",
    "o4": "openai",
    "chatgpt": "openai",
    "claude": "anthropic",
    "gemini": "google",
    "gemma": "google",
    "llama": "meta",
    "mistral": "mistral",
    "mixtral": "mistral",
    "qwen": "qwen",
    "deepseek": "deepseek",
    "command": "cohere",
}


def family(model: str) -> str:
    """The model family a model name belongs to, '' when unknown.

    >>> family("gpt-4o-mini"), family("anthropic/claude-3-5-sonnet"), family("my-model")
    ('openai', 'anthropic', '')
    """
    name = model.lower().rsplit("/", 1)[-1]
    for prefix, found in FAMILIES.items():
        if name.startswith(prefix):
            return found
    return ""


def same_family(judge_model: str, app_model: str) -> bool:
    """Whether judge and app models are of one known family (self-preference risk)."""
    found = family(judge_model)
    return bool(found) and found == family(app_model)


def mean_gap(pairs: Sequence[Pair]) -> float | None:
    """Mean judge score minus reviewer score (positive: the judge is more lenient)."""
    if not pairs:
        return None
    return sum(p.judge - p.human for p in pairs) / len(pairs)
