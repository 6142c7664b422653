"""Build the prompt-injection train and dev sets from the fetched packages.

    python -m training.prompt_injection.build_dataset [--cache DIR]

Writes ``<cache>/dataset.jsonl``: one text a line with ``label`` (1 attack, 0 benign),
``kind``, ``source``, ``group`` and ``split``. Deterministic for the pinned packages.

The split is by group (:func:`split_of`): a jailbreak template family, a man page, a
documentation page, a log file or a chatterbot topic is wholly in train or wholly in dev,
so a dev attack is never a variant of a template seen in training, and the harmful
objectives filled into dev templates are not those of the train templates.
"""

from __future__ import annotations

import argparse
import json
import random
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, replace
from pathlib import Path

from training.prompt_injection import sources
from training.prompt_injection.fetch import fetch_all
from training.prompt_injection.sources import Text

DEFAULT_CACHE = Path(".cache/training/prompt_injection")
#: Percent of the groups of each kind in dev.
DEV_PERCENT = 30
#: Objectives filled into each template.
FILLS = 4
#: Non-English languages of chatterbot-corpus used (others are kept out: fewer questions).
LANGUAGES = ("chinese", "french", "german", "hindi", "italian", "japanese", "korean",
             "portuguese", "russian", "spanish", "turkish", "ukrainian", "persian")  # fmt: skip


def split_of(group: str) -> str:
    """``dev`` for ``DEV_PERCENT`` percent of the groups (by a hash of the name), else
    ``train``.

    >>> split_of("dan"), split_of("dev_mode")
    ('train', 'train')
    """
    return "dev" if zlib.crc32(group.encode()) % 100 < DEV_PERCENT else "train"


def pieces(text: Text, low: int, high: int, rng: random.Random, most: int) -> Iterator[Text]:
    """Up to ``most`` consecutive pieces of ``text`` of ``low`` to ``high`` characters,
    cut at line ends (a long text gives short and long inputs alike)."""
    lines, start = text.text.splitlines(keepends=True), 0
    for _ in range(most):
        want, piece = rng.randint(low, high), ""
        while start < len(lines) and len(piece) < want:
            piece += lines[start]
            start += 1
        if len(piece.strip()) < min(low, 80):
            return
        yield replace(text, text=piece.strip())


def snippets(text: Text, rng: random.Random, count: int) -> Iterator[Text]:
    """Up to ``count`` short snippets of ``text`` (one or two lines from random places, 15
    to 300 characters), as the kind ``snippet``: short benign inputs with the colons,
    brackets and imperatives of documents, code and logs, which chatbot questions lack."""
    lines = [line.strip() for line in text.text.splitlines() if line.strip()]
    for _ in range(count if lines else 0):
        at = rng.randrange(len(lines))
        piece = " ".join(lines[at : at + rng.randint(1, 2)])
        if 15 <= len(piece) <= 300:
            yield replace(text, text=piece, kind="snippet")


def attacks(pyrit: Path, rng: random.Random) -> Iterator[Text]:
    """Each template filled with ``FILLS`` objectives of its split, and the bare prompt
    extraction and 0DIN attack prompts."""
    local = pyrit / "pyrit/datasets/seed_datasets/local"
    objectives = sources.seeds(local / "adv_bench.prompt")
    by_split = {"train": objectives[0::2], "dev": objectives[1::2]}
    for template, source, family in sources.jailbreak_templates(pyrit):
        for objective in rng.sample(by_split[split_of(family)], FILLS):
            yield Text(sources.fill(template, objective), 1, "attack", source, family)
    for path in [local / "psfuzz_steal_system.prompt", *sorted((local / "0din").glob("*"))]:
        for seed in sources.seeds(path):
            yield Text(seed, 1, "attack", f"pyrit/{path.relative_to(pyrit)}", path.stem)
    for objective in objectives:
        source = "pyrit/datasets/seed_datasets/local/adv_bench.prompt"
        yield Text(objective, 0, "request", source, f"objective/{objective[:24]}")


def benign(found: dict[str, Path], rng: random.Random) -> Iterator[Text]:
    """Questions, articles, code, logs and non-English texts, long ones cut in pieces, and
    short snippets of the articles, code and logs."""
    yield from sources.chatterbot(found["chatterbot-corpus"], "english", "question")
    for language in LANGUAGES:
        yield from sources.chatterbot(found["chatterbot-corpus"], language, "non_english")
    for text in sources.python_docs(found["python3.11-doc"], 300):
        yield from pieces(text, 300, 12_000, rng, 3)
        yield from snippets(text, rng, 3)
    for text in sources.man_pages(found["manpages"], "manpages", "article", 300):
        yield from pieces(text, 300, 8_000, rng, 2)
        yield from snippets(text, rng, 3)
    for package in ("manpages-de", "manpages-fr", "manpages-es", "manpages-ru", "manpages-ja"):
        for text in sources.man_pages(found[package], package, "non_english", 80):
            yield from pieces(text, 100, 6_000, rng, 2)
    for package in ("pyrit", "fail2ban"):
        for text in sources.code_files(found[package], package, 250):
            yield from pieces(text, 200, 8_000, rng, 2)
            yield from snippets(text, rng, 2)
    for text in sources.log_files(found["fail2ban"]):
        yield from pieces(text, 100, 6_000, rng, 3)
        yield from snippets(text, rng, 3)


def build(cache: Path) -> list[dict[str, object]]:
    """Every text of both splits, as JSON-ready records."""
    found = fetch_all(cache)
    rng = random.Random(18)
    texts: Iterable[Text] = [
        *attacks(found["pyrit"], rng),
        *sources.bastion(found["bastioncorpus"]),
        *benign(found, rng),
    ]
    rows = []
    for text in texts:
        row: dict[str, object] = asdict(text)
        row["split"] = split_of(text.group if text.label else f"{text.kind}:{text.group}")
        rows.append(row)
    for text in sources.corpus_mini(found["jailbreak-corpus-mini-py"]):
        rows.append({**asdict(text), "split": "dev"})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Build the data set and print its counts by split, label and kind."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    rows = build(args.cache)
    with (args.cache / "dataset.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts = Counter((row["split"], row["kind"]) for row in rows)
    for (split, kind), count in sorted(counts.items()):
        print(f"{split:5} {kind:12} {count:6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
