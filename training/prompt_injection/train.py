"""Train the prompt-injection classifier on the train split, calibrate it on dev, save it.

    python -m training.prompt_injection.build_dataset    # first: fetch and build the sets
    python -m training.prompt_injection.train [--cache DIR] [--c 1.0] [--window 256]

Needs numpy and scipy (training only: the detectors read the saved weights with numpy).
A logistic regression with L2 penalty over windows of the train texts (each text weighs
the same whatever its number of windows; both classes weigh the same), features of
:mod:`watchkeeper.detectors.safety.injection_model` that occur in at least
``--min-groups`` train groups; the weights with the least effect are dropped to keep
``--keep`` features. The threshold is the logit that 1% of the dev benign texts exceed.
Deterministic: same data, same weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import optimize, sparse

from training.prompt_injection.build_dataset import DEFAULT_CACHE
from watchkeeper.detectors.safety import injection_model as im

MODEL_PATH = Path("detectors/src/watchkeeper/detectors/models/prompt_injection.npz")


def window_features(text: str, size: int) -> list[dict[str, float]]:
    """Per window of ``text``: feature -> value (one over the root of the length, for
    each feature the window holds: presence, not counts)."""
    words = im.tokens(text)
    per_position = [
        [word] + ([f"{words[i - 1]} {word}"] if i else []) for i, word in enumerate(words)
    ]
    out = []
    for start, end in im.windows(len(words), size):
        held = {name for names in per_position[start:end] for name in names}
        scale = 1.0 / math.sqrt(max(end - start, im.MIN_WINDOW))
        out.append(dict.fromkeys(held, scale))
    return out


def design(rows: list[dict[str, object]], size: int, min_groups: int):
    """The sparse matrix of the train windows, labels, sample weights and feature names."""
    per_row = [window_features(str(row["text"]), size) for row in rows]
    groups: dict[str, set[str]] = defaultdict(set)
    for row, found in zip(rows, per_row, strict=True):
        for window in found:
            for name in window:
                groups[name].add(f"{row['kind']}:{row['group']}")
    # A punctuation mark alone is no feature (pairs with it are): alone it told templates
    # from chat questions by their formatting, and flagged short inputs with a colon.
    names = sorted(
        name
        for name, seen in groups.items()
        if len(seen) >= min_groups and (" " in name or im.TOKEN_WORD.match(name))
    )
    index = {name: i for i, name in enumerate(names)}
    data, cols, indptr, labels, weights = [], [], [0], [], []
    positives = sum(1 for row in rows if row["label"] == 1)
    class_weight = {1: 0.5 / positives, 0: 0.5 / (len(rows) - positives)}
    for row, found in zip(rows, per_row, strict=True):
        for window in found:
            for name, value in sorted(window.items()):
                if name in index:
                    cols.append(index[name])
                    data.append(value)
            indptr.append(len(cols))
            labels.append(float(row["label"]))
            weights.append(class_weight[int(row["label"])] / len(found))  # type: ignore[call-overload]
    matrix = sparse.csr_matrix((data, cols, indptr), shape=(len(labels), len(names)))
    return matrix, np.array(labels), np.array(weights) * len(rows), names


def fit(matrix, labels, weights, c: float) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression (L-BFGS), weights and bias."""
    n = matrix.shape[1]

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:n], params[n]
        z = matrix @ w + b
        p = 1.0 / (1.0 + np.exp(-z))
        nll = np.sum(weights * (np.logaddexp(0, z) - labels * z))
        grad_z = weights * (p - labels)
        grad = np.concatenate([matrix.T @ grad_z + w / c, [grad_z.sum()]])
        return float(nll + 0.5 * w @ w / c), grad

    result = optimize.minimize(loss, np.zeros(n + 1), jac=True, method="L-BFGS-B",
                               options={"maxiter": 2000})  # fmt: skip
    return result.x[:n], float(result.x[n])


def calibrated(model: im.InjectionModel, dev: list[dict[str, object]]) -> im.InjectionModel:
    """``model`` with the lowest threshold at which the dev benign texts of each kind
    (questions, articles, code, logs...) score 0.5 or more 1% of the time on average over
    the kinds: a kind with few texts weighs as much as one with many."""
    kinds = sorted({str(row["kind"]) for row in dev if row["label"] == 0})
    sizes = {kind: sum(1 for row in dev if row["kind"] == kind) for kind in kinds}
    candidates = sorted(
        ((model.logit(str(row["text"])), str(row["kind"])) for row in dev if row["label"] == 0),
        reverse=True,
    )
    flagged = dict.fromkeys(kinds, 0.0)
    # Lower the threshold past each benign logit in turn while the mean rate allows.
    threshold = candidates[0][0] + 1e-4
    for logit, kind in candidates:
        flagged[kind] += 1.0 / sizes[kind]
        if sum(flagged.values()) / len(kinds) > 0.01:
            break
        threshold = logit
    # Just above the highest logit that must stay under it (rounded scores stay < 0.5).
    below = [logit for logit, _ in candidates if logit < threshold]
    threshold = below[0] + 1e-4 if below else threshold
    return im.InjectionModel(model.weights, model.bias, model.window,
                             model.threshold + threshold, model.version)  # fmt: skip


def detector_score(model: im.InjectionModel, text: str) -> float:
    """What the detector scores with ``model`` as its classifier."""
    return model.score(text)


def collection(source: str) -> str:
    """The collection of an attack's source: the folder of its template under PyRIT's
    templates (``pliny``, ``Arth_Singh``...), ``top`` for the templates at the top (the
    jailbreakchat collection and a few papers'), ``seeds`` for the other prompts.

    >>> collection("pyrit/pliny/openai/gpt_4o.yaml"), collection("pyrit/dan_11.yaml")
    ('pliny', 'top')
    """
    parts = source.split("/")
    if parts[1] == "pyrit":  # pyrit/pyrit/datasets/seed_datasets/...
        return "seeds"
    return parts[1] if len(parts) > 2 else "top"


def held_out(row: dict[str, object], name: str) -> dict[str, object]:
    """``row`` with its split set for a hold-out check: attacks of the collection ``name``
    in dev, the other attacks in train; benign texts unchanged."""
    if row["kind"] != "attack":
        return row
    return {**row, "split": "dev" if collection(str(row["source"])) == name else "train"}


def main(argv: list[str] | None = None) -> int:
    """Train, calibrate, save; print the dev figures at the calibrated threshold."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 penalty")
    parser.add_argument("--window", type=int, default=256, help="window length in tokens")
    parser.add_argument("--min-groups", type=int, default=3)
    parser.add_argument("--keep", type=int, default=40_000, help="features kept")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument(
        "--hold-out",
        metavar="COLLECTION",
        help="a check of generalisation, not the shipped model: the attacks of one"
        " collection (top, pliny, Arth_Singh, multi_parameter, seeds) all go to dev, the"
        " others all to train; write the model to --out elsewhere",
    )
    args = parser.parse_args(argv)
    lines = (args.cache / "dataset.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    if args.hold_out:
        rows = [held_out(row, args.hold_out) for row in rows]
    train = [row for row in rows if row["split"] == "train"]
    dev = [row for row in rows if row["split"] == "dev"]
    matrix, labels, weights, names = design(train, args.window, args.min_groups)
    w, bias = fit(matrix, labels, weights, args.c)
    keep = np.argsort(-np.abs(w), kind="stable")[: args.keep]
    kept = {names[i]: float(np.float32(w[i])) for i in sorted(keep) if w[i] != 0.0}
    digest = hashlib.sha256(json.dumps([sorted(kept.items()), bias, args.window]).encode())
    version = f"prompt-injection-{digest.hexdigest()[:12]}"
    model = im.InjectionModel(kept, bias, args.window, 0.0, version)
    model = im.load(im.save(model))  # score with the weights as saved (float32)
    model = calibrated(model, dev)
    args.out.write_bytes(im.save(model))
    attacks = [detector_score(model, str(row["text"])) for row in dev if row["kind"] == "attack"]
    benign = [detector_score(model, str(row["text"])) for row in dev if row["label"] == 0]
    recall = sum(score >= 0.5 for score in attacks) / len(attacks)
    fpr = sum(score >= 0.5 for score in benign) / len(benign)
    size = args.out.stat().st_size
    print(f"{version}: {len(kept)} features, {size / 1e6:.2f} MB, {matrix.shape[0]} windows")
    short = [detector_score(model, str(r["text"])) for r in dev if r["kind"] == "short_injection"]
    caught = sum(score >= 0.5 for score in short)
    print(f"dev, detector score >= 0.5: short injections {caught} of {len(short)};", end=" ")
    print(f"recall {recall:.3f} of {len(attacks)} attacks,", end="")
    print(f" false positives {fpr:.4f} of {len(benign)} benign texts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
