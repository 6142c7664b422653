"""Drift in tokens used per call, or in cost when prices are given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.descriptor_drift import SHIFT, TARGET_ARL, DescriptorDrift


class TokenUsageDrift(DescriptorDrift):
    """Detects a change in tokens per call (prompt + completion), or in cost per call.

    With ``prices`` (model -> (input, output) price per 1,000 tokens) the descriptor is the
    call's cost; calls of a model without a price, or without token counts, are skipped.
    The score ``tokens`` is signed: standard deviations above (positive) or below usual.
    Both directions alarm: more tokens cost money, fewer often mean cut-off answers.

    Examples
    --------
    >>> from watchkeeper.detectors import Call
    >>> detector = TokenUsageDrift(prices={"gpt-4o-mini": (0.15, 0.6)})
    >>> detector.cost(Call("q", model="gpt-4o-mini", input_tokens=1000, output_tokens=500))
    0.45
    """

    name = "token_usage_drift"
    score_name = "tokens"
    signed = True
    describes = "tokens per call"

    def __init__(
        self,
        prices: Mapping[str, tuple[float, float]] | None = None,
        *,
        target_arl: float = TARGET_ARL,
        shift: float = SHIFT,
        warmup: int = 100,
        seed: int = 0,
    ) -> None:
        super().__init__(target_arl=target_arl, shift=shift, warmup=warmup, seed=seed)
        self.prices = dict(prices) if prices else None
        if self.prices:
            self.describes = "cost per call"

    def cost(self, call: CallView) -> float | None:
        """The call's cost from ``prices``, or None when unknown."""
        if not self.prices or call.model not in self.prices:
            return None
        per_input, per_output = self.prices[call.model]
        return (call.input_tokens * per_input + call.output_tokens * per_output) / 1000.0

    def descriptor(self, call: CallView) -> float | None:
        """Cost when priced, else total tokens; None when the provider reported none."""
        if call.input_tokens <= 0 and call.output_tokens <= 0:
            return None
        if self.prices:
            return self.cost(call)
        return float(call.input_tokens + call.output_tokens)

    def descriptors(self, calls: Sequence[CallView]) -> list[float | None]:
        """``descriptor`` of each call; tokens without a method call per call."""
        if self.prices:
            return super().descriptors(calls)
        out: list[float | None] = []
        for call in calls:
            tokens_in, tokens_out = call.input_tokens, call.output_tokens
            none = tokens_in <= 0 and tokens_out <= 0
            out.append(None if none else float(tokens_in + tokens_out))
        return out

    def _params(self) -> dict[str, object]:
        return {"prices": self.prices, **super()._params()}
