"""The prompt-injection classifier: word and word-pair weights, scored over windows.

A text is lower-cased and cut into tokens (runs of letters and digits, and single
punctuation marks). Each token adds the weight of itself and of the pair it ends
(``previous token`` + space + ``token``); a window of :attr:`InjectionModel.window` tokens
sums the weights of the features it holds (each once), divided by the square root of its
length, plus a bias: a logistic regression's logit on that window. The text's score is
its highest window's, so a long benign article, program or log is judged by its most
attack-like stretch, not diluted
or summed up; windows overlap by half. The logit is shifted by the threshold calibrated
for a 1% false-positive rate on the development set and mapped to (0, 1): 0.5 is that
threshold.

Weights come from ``watchkeeper/detectors/models/prompt_injection.npz`` (trained by
``training/prompt_injection/train.py``; docs/models/prompt-injection.md), read on first use.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

from watchkeeper.detectors import native_core
from watchkeeper.detectors.safety.injection_ascii import AsciiForm
from watchkeeper.detectors.safety.injection_features import FeatureLookup
from watchkeeper.detectors.safety.injection_tokens import TOKEN, token_bytes
from watchkeeper.detectors.text import ahead

#: A token that is a word (not a punctuation mark).
TOKEN_WORD = re.compile(r"\w")
#: Characters at the start of a text the model reads (as the lexical patterns do)...
MAX_CHARS = 4000
#: ...and at its end, when it is longer: an instruction planted at the end of a long
#: document is read too, at a bounded cost.
TAIL_CHARS = 2000
#: Windows shorter than this count as this long when normalising (a two-word input is not
#: judged on two weights scaled up).
MIN_WINDOW = 8
#: What the best windows found ahead of the detector are kept under (:mod:`..text.ahead`).
BEST_AHEAD = "prompt_injection#best"


def tokens(text: str) -> list[str]:
    """The model's tokens of ``text``.

    >>> tokens("Ignore ALL previous instructions!")
    ['ignore', 'all', 'previous', 'instructions', '!']
    """
    return TOKEN.findall(text.lower())


def read_parts(text: str) -> list[str]:
    """What the model reads of ``text``: its first ``MAX_CHARS`` characters, and its last
    ``TAIL_CHARS`` when it is longer.

    >>> [len(part) for part in read_parts("a" * 10_000)], read_parts("short")
    ([4000, 2000], ['short'])
    """
    if len(text) <= MAX_CHARS:
        return [text]
    return [text[:MAX_CHARS], text[-TAIL_CHARS:]]


def features(words: list[str]) -> Iterable[str]:
    """Each token and each pair of adjacent tokens, in order (the model's features).

    >>> list(features(["you", "are", "dan"]))
    ['you', 'are', 'you are', 'dan', 'are dan']
    """
    previous = ""
    for word in words:
        yield word
        if previous:
            yield f"{previous} {word}"
        previous = word


def windows(count: int, size: int) -> list[tuple[int, int]]:
    """``(start, end)`` of the windows over ``count`` tokens: ``size`` long, half
    overlapping, the last one ending at the end (one window for a short text).

    >>> windows(10, 8), windows(3, 8), windows(0, 8)
    ([(0, 8), (2, 10)], [(0, 3)], [(0, 0)])
    """
    if count <= size:
        return [(0, count)]
    step = size // 2
    starts = [*range(0, count - size, step), count - size]
    return [(start, start + size) for start in starts]


@dataclass(frozen=True)
class InjectionModel:
    """Weights of the classifier and its calibration."""

    weights: dict[str, float]
    bias: float
    #: Window length in tokens.
    window: int
    #: Logit at which 1% of the development set's benign texts score higher.
    threshold: float
    #: Identifies the weights: recorded with the scores they produce.
    version: str

    @cached_property
    def lookup(self) -> FeatureLookup:
        """The weights as the scoring reads them (made on first use)."""
        return FeatureLookup.of(self.weights)

    @cached_property
    def native(self) -> native_core.InjectionFeatures | None:
        """The compiled core's totals of :attr:`lookup` (None without the core)."""
        return self._features(self.lookup.numbers)

    @cached_property
    def ascii_form(self) -> AsciiForm:
        """How a text beyond ASCII only by marks and spaces is written for the core."""
        return AsciiForm.of(self.lookup.numbers)

    @cached_property
    def native_marks(self) -> native_core.InjectionFeatures | None:
        """The core's totals of texts written by :attr:`ascii_form` (None without it)."""
        return self._features(self.ascii_form.numbers)

    def _features(self, numbers: dict[bytes, int]) -> native_core.InjectionFeatures | None:
        lookup = self.lookup
        keys = lookup.sorted_keys[:-1].tolist()
        weights = lookup.weights[:-1].tolist()
        return native_core.injection_features(numbers, lookup.unknown, keys, weights)

    def logit(self, text: str) -> float:
        """The highest window logit of what the model reads of ``text`` (:func:`read_parts`),
        minus the calibrated threshold. A feature counts once in a window, however often it
        occurs there."""
        return max(self._part_logit(part) for part in read_parts(text))

    def _part_logit(self, text: str) -> float:
        native = self.native
        if native is not None:
            found = native.totals(text, self.window)
            if found is None:  # beyond ASCII: marks written in ASCII, or Python's tokens
                found = self._beyond_ascii(native, text)
            count, totals = found
            return self.bias + self._best(windows(count, self.window), totals) - self.threshold
        lookup = self.lookup
        keys = lookup.keys(text)
        count = (keys.size + 1) // 2
        if count <= self.window:
            best = lookup.total(keys) / math.sqrt(max(count, MIN_WINDOW))
        else:
            spans = windows(count, self.window)
            best = self._best(spans, lookup.window_totals(keys, spans))
        return self.bias + best - self.threshold

    def _beyond_ascii(
        self, native: native_core.InjectionFeatures, text: str
    ) -> tuple[int, list[float]]:
        """Token count and window totals of a text beyond ASCII, as :meth:`_part_logit`
        reads them: the core's own when only marks and spaces are beyond ASCII."""
        written = self.ascii_form.ascii(text)
        marks = self.native_marks if written is not None else None
        found = marks.totals(written, self.window) if marks is not None and written else None
        if found is not None:
            return found
        tokens = token_bytes(text)
        return len(tokens), native.token_totals(tokens, self.window)

    @staticmethod
    def _best(spans: list[tuple[int, int]], totals: list[float]) -> float:
        """The highest window total, each divided by the square root of its length."""
        return max(
            total / math.sqrt(max(end - start, MIN_WINDOW))
            for (start, end), total in zip(spans, totals, strict=True)
        )

    def best_screen(self) -> native_core.Screen[float] | None:
        """The compiled core's :meth:`best` of a text of at most ``MAX_CHARS`` characters in
        ASCII, or beyond it only by marks already met, found with the GIL released (on the
        thread analysing texts ahead); None for the others, and None without the core."""
        native = self.native
        if native is None:
            return None
        form, marked = self.ascii_form, self.native_marks
        marks = (marked, form.known_stand_ins(), form.taken) if marked is not None else None
        return native_core.totals_screen(native, self.window, MAX_CHARS, MIN_WINDOW, marks)

    def best_ahead(self, texts: Sequence[str]) -> list[float | None]:
        """:meth:`best_screen`'s verdict on each text (None for all without the core)."""
        screen = self.best_screen()
        return [None] * len(texts) if screen is None else screen.many(list(texts))

    def best(self, count: int, totals: Sequence[float]) -> float:
        """What :meth:`scores` reads of a text's token count and window totals: the highest
        total divided by the square root of its window's length (at least ``MIN_WINDOW``):
        a short text's one window is ``count`` long, every other :attr:`window` long."""
        if count <= self.window:
            return totals[0] / math.sqrt(max(count, MIN_WINDOW))
        return max(totals) / math.sqrt(max(self.window, MIN_WINDOW))

    def score(self, text: str) -> float:
        """Probability-like risk in (0, 1): 0.5 at the 1%-false-positive threshold."""
        return _risk(self.logit(text))

    def scores(self, texts: Iterable[str]) -> list[float]:
        """:meth:`score` of each text, the same values.

        The detector scores every input: for the usual one (ASCII, or beyond it only by
        marks, at most ``MAX_CHARS`` characters) this reads the compiled core's totals,
        found ahead (:meth:`best_ahead`) or now, without the per-text calls of
        :meth:`logit` (every window but a short text's own is ``window`` tokens long).
        """
        native = self.native
        if native is None:
            return [self.score(text) for text in texts]
        bias, threshold = self.bias, self.threshold
        totals = native.totals
        held = ahead.held(BEST_AHEAD)
        out = []
        for text in texts:
            best = held.get(text)
            if best is None:
                found = totals(text, self.window) if len(text) <= MAX_CHARS else None
                if found is None:
                    out.append(self.score(text))
                    continue
                best = self.best(*found)
            out.append(_risk(bias + best - threshold))
        return out


def _risk(logit: float) -> float:
    """A logit mapped to (0, 1), rounded as the scores are stored."""
    return round(1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit)))), 6)


_LOCK = threading.Lock()
_LOADED: list[InjectionModel] = []


def load(data: bytes | None = None) -> InjectionModel:
    """The shipped model (read once), or one from ``data`` (an ``.npz`` file's bytes)."""
    if data is None and _LOADED:
        return _LOADED[0]
    import io

    import numpy as np

    with _LOCK:
        if data is None and _LOADED:
            return _LOADED[0]
        raw = data
        if raw is None:
            package = resources.files("watchkeeper.detectors.models")
            raw = package.joinpath("prompt_injection.npz").read_bytes()
        with np.load(io.BytesIO(raw)) as arrays:
            names = bytes(arrays["vocab"]).decode("utf-8").split("\n")
            values = [float(value) for value in arrays["weights"]]
            meta = {key: float(arrays[key]) for key in ("bias", "window", "threshold")}
            version = str(arrays["version"])
        model = InjectionModel(
            dict(zip(names, values, strict=True)),
            meta["bias"],
            int(meta["window"]),
            meta["threshold"],
            version,
        )
        if data is None:
            _LOADED.append(model)
        return model


def save(model: InjectionModel) -> bytes:
    """``model`` as ``.npz`` bytes (what :func:`load` reads)."""
    import io

    import numpy as np

    names = sorted(model.weights)
    out = io.BytesIO()
    np.savez_compressed(
        out,
        vocab=np.frombuffer("\n".join(names).encode("utf-8"), dtype=np.uint8),
        weights=np.array([model.weights[name] for name in names], dtype=np.float32),
        bias=np.float64(model.bias),
        window=np.float64(model.window),
        threshold=np.float64(model.threshold),
        version=np.str_(model.version),
    )
    return out.getvalue()
