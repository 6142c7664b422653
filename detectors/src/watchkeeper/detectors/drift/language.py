"""Drift in the languages and scripts of inputs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.call_run import columns_of
from watchkeeper.detectors.descriptor_drift import SHIFT, TARGET_ARL, DescriptorDrift
from watchkeeper.detectors.text.language import language

#: Bound on distinct language labels counted (there are a few dozen in practice).
MAX_LABELS = 64


class InputLanguageDrift(DescriptorDrift):
    """Detects a change in the language/script mix of inputs.

    Each input gets a label (``en``, ``es``, ``fr`` ... for common Latin-script languages,
    else its script: ``cyrillic``, ``han``, ``arabic`` ...; see
    :func:`~watchkeeper.detectors.text.language.language`). The label frequencies of the
    first ``reference_calls`` inputs (or of an evalset, :meth:`with_reference`) are frozen;
    the descriptor of a later input is its *surprise*, ``-log p(label)`` under that
    reference. A market launch in a new language, or a share of traffic switching
    language, moves the surprise and raises an alarm. Score: ``|z|`` of the surprise.

    Examples
    --------
    >>> from watchkeeper.detectors import Call
    >>> detector = InputLanguageDrift.with_reference(["How do I pay?"] * 9 + ["¿Cómo pago?"])
    >>> detector.update(Call("Where is my invoice?"))
    >>> detector.label, round(detector.surprise, 2)
    ('en', 0.19)
    >>> detector.update(Call("Wo ist meine Rechnung? Ich kann sie nicht finden"))
    >>> detector.label, round(detector.surprise, 2)
    ('de', 3.14)
    """

    name = "input_language_drift"
    score_name = "input_drift"
    describes = "language mix of inputs"

    def __init__(
        self,
        *,
        reference_calls: int = 300,
        target_arl: float = TARGET_ARL,
        shift: float = SHIFT,
        warmup: int = 100,
        seed: int = 0,
    ) -> None:
        super().__init__(target_arl=target_arl, shift=shift, warmup=warmup, seed=seed)
        self.reference_calls = reference_calls
        self.reference: dict[str, int] = {}
        self.frozen = False
        #: Label and surprise of the last input.
        self.label = ""
        self.surprise = float("nan")

    @classmethod
    def with_reference(cls, texts: Iterable[str], **params: object) -> InputLanguageDrift:
        """A detector whose reference label frequencies are frozen from ``texts``."""
        detector = cls(**params)  # type: ignore[arg-type]
        for text in texts:
            detector._count(language(text))
        detector.frozen = True
        return detector

    def reset_reference(self) -> None:
        """Learn new reference frequencies from the next ``reference_calls`` inputs."""
        self.reference = {}
        self.frozen = False

    def descriptor(self, call: CallView) -> float | None:
        """Surprise of the input's language label under the frozen reference."""
        self.label = language(call.input_text or "")
        if not self.frozen:
            self._count(self.label)
            if sum(self.reference.values()) >= self.reference_calls:
                self.frozen = True
            self.surprise = float("nan")
            return None
        total = sum(self.reference.values())
        # Half a count for the label and for an unseen one: never infinite, still large.
        seen = self.reference.get(self.label, 0)
        self.surprise = -math.log((seen + 0.5) / (total + 0.5 * (len(self.reference) + 1)))
        return self.surprise

    def descriptors(self, calls: Sequence[CallView]) -> list[float | None]:
        """``descriptor`` of each call; once the reference is frozen, each label's surprise
        is worked out once per run."""
        own = type(self).descriptor is InputLanguageDrift.descriptor
        if not (own and self.frozen and calls):
            return super().descriptors(calls)
        labels = [language(text) for text in columns_of(calls).inputs]
        reference = self.reference
        total = sum(reference.values())
        surprises = {
            label: -math.log((reference.get(label, 0) + 0.5) / (total + 0.5 * (len(reference) + 1)))
            for label in set(labels)
        }
        self.label = labels[-1]
        self.surprise = surprises[self.label]
        return [surprises[label] for label in labels]

    def _count(self, label: str) -> None:
        if label in self.reference or len(self.reference) < MAX_LABELS:
            self.reference[label] = self.reference.get(label, 0) + 1

    def _params(self) -> dict[str, object]:
        return {"reference_calls": self.reference_calls, **super()._params()}
