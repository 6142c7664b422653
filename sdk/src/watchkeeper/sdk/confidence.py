"""The app's own confidence in an answer, from the token log-probabilities a provider
returned because the app asked for them (OpenAI ``logprobs=True``; no extra request).

The confidence is the geometric mean of the answer's token probabilities,
``exp(mean log-prob)``, in [0, 1]: the probability per token the model gave the answer
it wrote. The collector calibrates it against reviewers' verdicts.

>>> tally = LogprobTally()
>>> tally.add([{"token": "Paris", "logprob": -0.1}, {"token": ".", "logprob": -0.3}])
>>> round(tally.mean or 0, 3), round(tally.confidence or 0, 3)
(-0.2, 0.819)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from watchkeeper.sdk.messages import field as get


@dataclass
class LogprobTally:
    """Token log-probabilities of the first choice, summed as they are read."""

    total: float = 0.0
    count: int = 0

    def add(self, tokens: object) -> None:
        """Add the tokens of a ``logprobs.content`` list (objects or dicts); ignores
        anything else."""
        if not isinstance(tokens, list | tuple):
            return
        for token in tokens:
            value = get(token, "logprob")
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if number and math.isfinite(value) and value <= 0:
                self.total += float(value)
                self.count += 1

    def add_choice(self, choice: object) -> None:
        """Add a Chat Completions choice's (or streamed chunk choice's) tokens, when it is
        the first choice (``index`` 0)."""
        if get(choice, "index", 0) == 0:
            self.add(get(get(choice, "logprobs"), "content"))

    @property
    def mean(self) -> float | None:
        """Mean token log-probability; None when no token carried one."""
        return self.total / self.count if self.count else None

    @property
    def confidence(self) -> float | None:
        """``exp(mean)``, in [0, 1]; None when no token carried a log-probability."""
        mean = self.mean
        return None if mean is None else math.exp(mean)
