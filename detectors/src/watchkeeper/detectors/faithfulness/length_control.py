"""What a score would be if it depended on answer length alone: a control for length effects."""

from __future__ import annotations

import math

#: Coarse bins: one per doubling of the length (1, 2-3, 4-7 ... 64+ words).
COARSE_BINS = 7
#: Ridge penalty keeping the fit stable when the reference saw few distinct lengths.
_RIDGE = 1e-6


def coarse_length_bin(words: int) -> int:
    """Coarse bin of an answer length: one per doubling.

    >>> [coarse_length_bin(n) for n in (0, 1, 3, 4, 40, 500)]
    [0, 0, 1, 2, 5, 6]
    """
    if words <= 1:
        return 0
    return min(COARSE_BINS - 1, int(math.log2(words)))


def _features(words: int) -> tuple[float, float, float]:
    length = float(max(words, 1))
    return 1.0, 1.0 / length, math.log(length)


class LengthControl:
    """The score an answer's length alone predicts, fitted on a reference period, then frozen.

    Lexical groundedness moves with answer length even when grounding does not: a fixed
    greeting or closing line weighs more in a short answer; long answers hold more words
    a context does not literally contain. After ``reference_calls`` (length, score) pairs
    this fits ``score ~ a + b / length + c * log(length)`` (least squares): smooth, so a
    few hundred answers suffice, and able to follow both shapes. A drop in the score that
    the prediction also shows is a length effect; a drop beyond it is a grounding effect.

    >>> control = LengthControl(reference_calls=4)
    >>> for words, score in [(5, 0.8), (10, 0.9), (20, 0.95), (40, 0.975)]:
    ...     control.learn(words, score)
    >>> control.frozen, round(control.predict(8), 3), round(control.predict(80), 3)
    (True, 0.875, 0.988)
    """

    def __init__(self, reference_calls: int = 300) -> None:
        self.reference_calls = reference_calls
        self.frozen = False
        self._pairs: list[tuple[int, float]] | None = []
        self._coefficients = (0.0, 0.0, 0.0)
        #: Mean score over the reference period.
        self.reference_mean = math.nan

    def learn(self, words: int, score: float) -> None:
        """Add one answer to the reference (ignored once frozen)."""
        pairs = self._pairs
        if pairs is None:
            return
        pairs.append((words, score))
        if len(pairs) >= self.reference_calls:
            self._freeze(pairs)

    def predict(self, words: int) -> float:
        """The reference's score for answers of this length, in [0, 1] (NaN before freezing)."""
        if not self.frozen:
            return math.nan
        a, b, c = self._coefficients
        _, inverse, log_length = _features(words)
        return min(1.0, max(0.0, a + b * inverse + c * log_length))

    def _freeze(self, pairs: list[tuple[int, float]]) -> None:
        # Normal equations of the 3-parameter least-squares fit, solved in place.
        xtx = [[0.0] * 3 for _ in range(3)]
        xty = [0.0] * 3
        for words, score in pairs:
            x = _features(words)
            for i in range(3):
                xty[i] += x[i] * score
                for j in range(3):
                    xtx[i][j] += x[i] * x[j]
        for i in (1, 2):  # the intercept is not penalised
            xtx[i][i] += _RIDGE * len(pairs)
        self._coefficients = _solve(xtx, xty)
        self.reference_mean = sum(score for _, score in pairs) / len(pairs)
        self._pairs = None
        self.frozen = True


def _solve(a: list[list[float]], b: list[float]) -> tuple[float, float, float]:
    """Gaussian elimination with partial pivoting for a 3x3 system."""
    n = 3
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        if abs(m[col][col]) < 1e-12:
            continue
        for r in range(col + 1, n):
            factor = m[r][col] / m[col][col]
            for k in range(col, n + 1):
                m[r][k] -= factor * m[col][k]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        if abs(m[r][r]) < 1e-12:
            continue
        x[r] = (m[r][n] - sum(m[r][k] * x[k] for k in range(r + 1, n))) / m[r][r]
    return x[0], x[1], x[2]
