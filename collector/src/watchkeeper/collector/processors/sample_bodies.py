"""Which call bodies (texts) to keep: a configured sample, plus every error and flag.

Metadata for every call is always stored; bodies are what costs storage, so they are
sampled. Sampling is deterministic by trace id — replays and replicas decide the same —
and uses the upper 64 bits of the id, independent of OpenTelemetry's ratio sampler (lower
64 bits), so the SDK's head rate and the body rate multiply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from watchkeeper.collector.record import CallRecord

#: Why a body was kept. Only ``sampled`` rows are a probability sample: re-weight those by
#: ``1 / SampleRate``; the others were kept regardless of sampling.
KEEP_SAMPLED = "sampled"
KEEP_ERROR = "error"
KEEP_FLAGGED = "flagged"
KEEP_REVIEW = "review"
_RULE_FIELDS = ("route", "model", "service")


def sampled(trace_id: str, rate: float) -> bool:
    """Deterministic sampling by trace id: the same id always gets the same answer.

    >>> sampled("00000000000000000000000000000000", 0.01), sampled("f" * 32, 0.99)
    (True, False)
    """
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return id_fraction(trace_id) < rate


def id_fraction(trace_id: str) -> float:
    """The trace id's upper 64 bits as a number in [0, 1); 1.0 for a malformed id."""
    try:
        return int(trace_id[:16], 16) / float(1 << 64)
    except ValueError:
        return 1.0


@dataclass(frozen=True)
class BodySampling:
    """Body sampling rates: a base rate and per route/model/service overrides.

    ``rules`` maps ``"route:<name>"``, ``"model:<name>"`` or ``"service:<name>"`` to a rate;
    the first of route, model, service that has a rule decides.

    >>> policy = BodySampling(0.1, {"route:checkout": 1.0, "model:gpt-4o": 0.5})
    >>> call = CallRecord("ab" * 16, "cd" * 8, 0, 0, route="checkout", request_model="gpt-4o")
    >>> policy.rate_for(call)
    1.0
    """

    base_rate: float = 1.0
    rules: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, rate in {"base": self.base_rate, **self.rules}.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"body sample rate for {key!r} must be in [0, 1], got {rate}")
        for key in self.rules:
            kind, _, name = key.partition(":")
            if kind not in _RULE_FIELDS or not name:
                raise ValueError(
                    f"body sample rule {key!r} must look like route:<name>, model:<name> "
                    "or service:<name>"
                )

    def rate_for(self, call: CallRecord) -> float:
        """The body rate that applies to ``call``."""
        if self.rules:
            for key in (
                f"route:{call.route}",
                f"model:{call.model}",
                f"service:{call.service_name}",
            ):
                rate = self.rules.get(key)
                if rate is not None:
                    return rate
        return self.base_rate

    def decide(self, call: CallRecord, flagged: bool) -> tuple[float, str] | None:
        """``(sample_rate, keep_reason)`` when the body is kept, else ``None``."""
        if call.is_error:
            return call.sample_rate, KEEP_ERROR
        if flagged:
            return call.sample_rate, KEEP_FLAGGED
        rate = self.rate_for(call)
        if sampled(call.trace_id, rate):
            return call.sample_rate * rate, KEEP_SAMPLED
        return None
