"""Conversation signals as turns arrive: what :func:`.conversation.conversation_signals`
computes for a whole session, kept per open session in a few numbers and a small index
of its questions, so sessions need not be held whole.

A session is over when no turn came for ``timeout_s``; at most ``max_sessions`` are
open (least recently active closed first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import Trace
from watchkeeper.collector.traces.signals import steps
from watchkeeper.detectors.consistency.equivalence import EquivalenceIndex

#: Distinct questions remembered per open session.
QUESTIONS_PER_SESSION = 32
#: Spans of a session's last turn remembered besides its top span.
_OTHERS_KEPT = 8


@dataclass
class _Open:
    key: str
    index: EquivalenceIndex = field(
        default_factory=lambda: EquivalenceIndex(max_groups=QUESTIONS_PER_SESSION)
    )
    turns: int = 0
    rephrases: int = 0
    last_rephrase: bool = False
    last_unanswered: bool = False
    last_seen: float = 0.0
    #: the last turn's trace and top span, where the session's alarms are shown
    last_trace: str = ""
    last_span: str = ""
    last_start_ns: int = 0
    #: the last turn's question and answer, shown on the session's review item
    last_question: str = ""
    last_answer: str = ""
    #: other spans of the last turn (id, start), where its scores may be stored instead
    last_others: tuple[tuple[str, int], ...] = ()


class EndedSession(NamedTuple):
    """A session that is over: its key, its signals and its last turn's trace, top span,
    start, question and answer."""

    session_id: str
    key: str
    signals: dict[str, float]
    trace_id: str
    span_id: str
    start_ns: int
    question: str = ""
    answer: str = ""
    #: the last turn's other spans that are not LLM calls: ``(span id, start)``
    others: tuple[tuple[str, int], ...] = ()


@dataclass
class SessionTracker:
    """Per-turn and per-session conversation signals, turn by turn (not thread-safe)."""

    timeout_s: float = 1800.0
    max_sessions: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _open: OrderedDict[str, _Open] = field(default_factory=OrderedDict)

    def turn(self, trace: Trace) -> dict[str, float]:
        """The turn's signals (``rephrase``); empty for a trace of no session."""
        top = steps.top(trace)
        session_id = next((s.session_id for s in trace.spans if s.session_id), "")
        if top is None or not session_id:
            return {}
        state = self._open.pop(session_id, None) or _Open(steps.key(trace))
        self._open[session_id] = state
        asked = steps.question(trace)
        again = bool(asked.strip()) and state.index.find_or_add(asked)[1]
        answered = steps.answer(trace)
        state.turns += 1
        state.rephrases += again
        state.last_rephrase = again
        state.last_unanswered = not answered.strip() or top.is_error
        state.last_question, state.last_answer = asked, answered
        state.last_seen = self.clock()
        state.last_trace, state.last_span = trace.trace_id, top.span_id
        state.last_start_ns = top.start_ns
        state.last_others = tuple(
            (s.span_id, s.start_ns) for s in trace.spans if s is not top and s.kind != kinds.LLM
        )[:_OTHERS_KEPT]
        return {"rephrase": float(again)}

    def ended(self) -> list[EndedSession]:
        """Sessions over since the last call (idle past the timeout, or pushed out)."""
        now = self.clock()
        out = []
        while self._open:
            session_id, state = next(iter(self._open.items()))
            idle = now - state.last_seen >= self.timeout_s
            if not idle and len(self._open) <= self.max_sessions:
                break
            del self._open[session_id]
            out.append(_ended(session_id, state))
        return out


def _ended(session_id: str, state: _Open) -> EndedSession:
    abandoned = state.last_rephrase or state.last_unanswered
    signals = {
        "turns": float(state.turns),
        "abandoned": float(abandoned),
        "rephrase_rate": state.rephrases / state.turns,
    }
    if not abandoned:
        signals["turns_to_resolution"] = float(state.turns)
    return EndedSession(
        session_id,
        state.key,
        signals,
        state.last_trace,
        state.last_span,
        state.last_start_ns,
        state.last_question,
        state.last_answer,
        state.last_others,
    )
