"""Which calls a judge scores: calls routed to review first, then its rules (route,
model, detector flags), then a uniform sample.

Decisions are a pure function of the call, its routing and flags, and the judge's name:
the uniform sample draws from a hash of (judge, span id), so after a restart the same
calls are due again (``worker.py`` re-derives its backlog from the store that way).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from fnmatch import fnmatchcase

from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.settings.judge import JudgeConfig, JudgeRule


def draw(judge: str, span_id: str, salt: str = "") -> float:
    """A uniform number in [0, 1) fixed by the judge, span id and salt."""
    digest = hashlib.blake2b(f"{judge}\x00{span_id}\x00{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class JudgeSampler:
    """The sampling of one judge (see the module)."""

    def __init__(self, name: str, config: JudgeConfig) -> None:
        self.name = name
        self.config = config
        # The hash of the judge's name, copied per call: half the cost of hashing it anew
        # (the hand-over draws for every stored call with texts).
        self._prefix = hashlib.blake2b(f"{name}\x00".encode(), digest_size=8)

    def draw(self, span_id: str, salt: str = "") -> float:
        """:func:`draw` for this judge."""
        digest = self._prefix.copy()
        digest.update(f"{span_id}\x00{salt}".encode())
        return int.from_bytes(digest.digest(), "big") / 2**64

    def reason(
        self,
        span_id: str,
        route: str,
        model: str,
        *,
        routed: bool,
        flagged_by: Collection[str] = (),
    ) -> str | None:
        """Why the call is judged (``review``, ``rule``, ``sample``), None when it is not."""
        config = self.config
        if config.review_first and routed:
            return "review"
        for i, rule in enumerate(config.rules):
            if (
                _matches(rule, route, model, flagged_by)
                and self.draw(span_id, f"rule{i}") < rule.rate
            ):
                return "rule"
        if self.draw(span_id) < config.sample_rate:
            return "sample"
        return None

    def picked(
        self,
        calls: Sequence[CallRecord],
        routed: Collection[str],
        flagged: Mapping[str, Collection[str]],
    ) -> list[tuple[CallRecord, str]]:
        """The calls :meth:`reason` picks, with why: the hand-over's loop over every
        stored call with texts, kept tight when the judge has no rules (the default)."""
        config = self.config
        if config.rules:
            out = []
            for call in calls:
                reason = self.reason(
                    call.span_id,
                    call.route,
                    call.model,
                    routed=call.span_id in routed,
                    flagged_by=flagged.get(call.span_id, ()),
                )
                if reason is not None:
                    out.append((call, reason))
            return out
        review, rate, prefix = config.review_first, config.sample_rate, self._prefix
        picked = []
        for call in calls:
            span_id = call.span_id
            if review and span_id in routed:
                picked.append((call, "review"))
                continue
            digest = prefix.copy()
            digest.update(f"{span_id}\x00".encode())
            if int.from_bytes(digest.digest(), "big") / 2**64 < rate:
                picked.append((call, "sample"))
        return picked


def _matches(rule: JudgeRule, route: str, model: str, flagged_by: Collection[str]) -> bool:
    if rule.route is not None and not fnmatchcase(route, rule.route):
        return False
    if rule.model is not None and not fnmatchcase(model, rule.model):
        return False
    return rule.flagged_by is None or rule.flagged_by in flagged_by
