"""Traces being put together from the spans of successive batches, until complete.

A trace is complete when its root arrives: a process exports a span when it ends, and
the root ends last, so its children have been exported by then (in the same batch,
usually, or an earlier one). Where one process exports through two exporters (an
instrumentation's and the SDK's, each with its own batching) a child may come after its
root: ``grace_s`` then holds a rooted trace until the first batch that many seconds
after its root came. A trace whose root never comes is completed as *partial*
after ``timeout_s``, or when the bound on spans held pushes it out (oldest first). Spans
of a trace completed already (a late child from another process) are counted and left
out of its signals, which were computed once.

Memory is bounded: at most ``max_spans`` spans held in all, texts cut to
``max_text_chars`` and each document to ``max_text_chars`` as well.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from watchkeeper.collector.traces.assemble import Trace, TraceSpan, assemble
from watchkeeper.collector.traces.signals.recent_keys import RecentKeys

#: Trace ids remembered as complete (to tell a late span from a new trace; up to a quarter
#: more, see ``RecentKeys``).
_COMPLETED_MEMORY = 100_000


@dataclass
class OpenTraces:
    """Spans by trace id until their trace completes (not thread-safe)."""

    timeout_s: float = 60.0
    grace_s: float = 0.0
    max_spans: int = 20_000
    max_text_chars: int = 2_000
    clock: Callable[[], float] = time.monotonic
    #: spans of traces completed already, left out
    late_spans: int = 0
    #: traces completed before their root came (timeout or the bound)
    partial: int = 0
    _open: OrderedDict[str, tuple[float, list[TraceSpan]]] = field(default_factory=OrderedDict)
    _held: int = 0
    _completed: RecentKeys[str] = field(default_factory=lambda: RecentKeys(_COMPLETED_MEMORY))
    #: rooted traces waiting out ``grace_s``: trace id -> when the root came
    _rooted: OrderedDict[str, float] = field(default_factory=OrderedDict)

    @property
    def held(self) -> int:
        """Spans held now."""
        return self._held

    def add(self, spans: Iterable[TraceSpan]) -> list[Trace]:
        """Take a batch's spans; the traces they complete (and those timed out or pushed
        out by the bound), each assembled."""
        now = self.clock()
        done = []
        at_once = self.grace_s <= 0
        for trace_id, group in _by_trace(spans).items():
            if trace_id in self._completed:
                self.late_spans += len(group)
                continue
            trimmed = [trimmed_span(span, self.max_text_chars) for span in group]
            has_root = any(not span.parent_span_id for span in group)
            if at_once and has_root and trace_id not in self._open:
                # Whole in this batch: complete now, as the loop below would.
                self._remember(trace_id)
                done.append(assemble(trimmed))
                continue
            entry = self._open.get(trace_id)
            if entry is None:
                entry = self._open[trace_id] = (now, [])
            entry[1].extend(trimmed)
            self._held += len(trimmed)
            if has_root and trace_id not in self._rooted:
                self._rooted[trace_id] = now
        rooted = self._rooted
        while rooted:
            trace_id, came = next(iter(rooted.items()))
            if now - came < self.grace_s:
                break
            del rooted[trace_id]
            if trace_id in self._open:
                done.append(self._complete(trace_id))
        return done + self._expired(now)

    def is_open(self, trace_id: str) -> bool:
        """Whether spans of the trace are held."""
        return trace_id in self._open

    def is_completed(self, trace_id: str) -> bool:
        """Whether the trace completed already (among the ones remembered)."""
        return trace_id in self._completed

    def unseen(self, trace_ids: Iterable[str]) -> list[str]:
        """Those of ``trace_ids`` neither held nor completed (among those remembered)."""
        held, completed = self._open, self._completed
        return [t for t in trace_ids if t not in held and t not in completed]

    def take_unseen(self, trace_ids: Iterable[str]) -> None:
        """:meth:`take_alone` of traces :meth:`unseen` gave, at once."""
        self._completed.update(trace_ids)

    def take_alone(self, trace_id: str) -> bool:
        """A trace of one span that completes as it comes (its root, with nothing held
        for it and no grace period): marked complete without being held, as :meth:`add`
        would; False when it completed before (a late span, counted)."""
        if trace_id in self._completed:
            self.late_spans += 1
            return False
        self._remember(trace_id)
        return True

    def _remember(self, trace_id: str) -> None:
        self._completed.add(trace_id)

    def _expired(self, now: float) -> list[Trace]:
        done = []
        while self._open:
            trace_id, (opened, _) = next(iter(self._open.items()))
            if self._held <= self.max_spans and now - opened < self.timeout_s:
                break
            done.append(self._complete(trace_id))
            self.partial += done[-1].partial
        return done

    def _complete(self, trace_id: str) -> Trace:
        self._rooted.pop(trace_id, None)
        _, spans = self._open.pop(trace_id)
        self._held -= len(spans)
        self._remember(trace_id)
        return assemble(spans)


def trimmed_span(span: TraceSpan, limit: int) -> TraceSpan:
    """``span`` with its texts and documents cut to ``limit`` characters each, as the
    stage holds spans."""
    if (
        len(span.input_text) <= limit
        and len(span.output_text) <= limit
        and (not span.documents or all(len(text) <= limit for text, _ in span.documents))
    ):
        return span
    return dataclasses.replace(
        span,
        input_text=span.input_text[:limit],
        output_text=span.output_text[:limit],
        documents=tuple((text[:limit], score) for text, score in span.documents),
    )


def _by_trace(spans: Iterable[TraceSpan]) -> dict[str, list[TraceSpan]]:
    """The spans grouped by trace id, traces in the order their first span came."""
    groups: dict[str, list[TraceSpan]] = {}
    for span in spans:
        group = groups.get(span.trace_id)
        if group is None:
            groups[span.trace_id] = [span]
        else:
            group.append(span)
    return groups
