"""A trace assembled from its spans: a tree by parent id, in start order, partial when a
parent is missing.

Spans arrive in any order and across batches; :func:`assemble` needs only the set of
spans stored for one trace. A span whose parent is not among them is kept and shown as a
top-level span of a *partial* trace, never dropped.

>>> a = TraceSpan("t", "a", "", "agent", "agent", 0, 10, "OK", {})
>>> b = TraceSpan("t", "b", "a", "search", "tool", 2, 5, "OK", {})
>>> trace = assemble([b, a])
>>> trace.root.span_id, [s.span_id for s in trace.children("a")], trace.partial
('a', ['b'], False)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

#: A retrieved document: its text and its score (None when the retriever gave none).
Document = tuple[str, float | None]


@dataclass(slots=True)
class TraceSpan:
    """One span of a trace, any kind (``traces.kinds``), with what the views and the
    trajectory/RAG signals read. Times are ns since the epoch; ids are lowercase hex.

    A value: nothing changes one once made (``dataclasses.replace`` makes another). Not
    declared frozen because the collector makes one per stored span and a frozen
    dataclass sets each field through ``object.__setattr__``, about 7 times the cost.
    """

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    start_ns: int
    end_ns: int
    #: UNSET, OK or ERROR
    status: str
    attributes: Mapping[str, str]
    #: the span's input: a prompt, a tool's arguments, a retrieval query (bounded)
    input_text: str = ""
    #: the span's output: an answer, a tool's result (bounded)
    output_text: str = ""
    #: retrieved or reranked documents, in the order the span gave them
    documents: tuple[Document, ...] = ()
    session_id: str = ""
    user_id: str = ""
    service_name: str = ""
    status_message: str = ""

    @property
    def duration_ns(self) -> int:
        """End minus start, never negative."""
        return max(0, self.end_ns - self.start_ns)

    @property
    def is_error(self) -> bool:
        """True when the span's status is ERROR."""
        return self.status == "ERROR"


@dataclass(slots=True)
class Trace:
    """A trace's spans as a tree. ``spans`` is in start order; ``root`` is the earliest
    span without a parent (None when none arrived); ``partial`` is True when the root is
    missing or some span's parent is.

    A value, like :class:`TraceSpan` (not declared frozen: the signal stage makes one per
    trace it scores, and a frozen dataclass costs several times as much to make)."""

    trace_id: str
    spans: tuple[TraceSpan, ...]
    root: TraceSpan | None
    partial: bool
    #: parent ids named by some span but absent from the trace
    missing_parents: frozenset[str] = frozenset()
    _children: Mapping[str, tuple[TraceSpan, ...]] = field(default_factory=dict, repr=False)

    def children(self, span_id: str) -> tuple[TraceSpan, ...]:
        """The spans whose parent is ``span_id``, in start order."""
        return self._children.get(span_id, ())

    def top_level(self) -> tuple[TraceSpan, ...]:
        """The spans shown at the top of the tree: those without a parent and those whose
        parent is missing, in start order."""
        return self._children.get("", ())

    def walk(self) -> Iterator[tuple[int, TraceSpan]]:
        """(depth, span) depth-first from the top, children in start order; every span
        exactly once, even when parent ids form a cycle."""
        seen: set[str] = set()
        stack = [(0, span) for span in reversed(self.top_level())]
        while True:
            while stack:
                depth, span = stack.pop()
                if span.span_id in seen:
                    continue
                seen.add(span.span_id)
                yield depth, span
                stack.extend((depth + 1, c) for c in reversed(self.children(span.span_id)))
            # Spans only reachable through a cycle of parent ids: shown at the top.
            rest = [s for s in self.spans if s.span_id not in seen]
            if not rest:
                return
            stack.append((0, rest[0]))


def assemble(spans: Iterable[TraceSpan]) -> Trace:
    """The trace these spans make (all of one trace id). A span id seen twice keeps its
    last occurrence (a replayed batch writes the same span again)."""
    by_id: dict[str, TraceSpan] = {span.span_id: span for span in spans}
    ordered = tuple(sorted(by_id.values(), key=_start_order))
    missing = _NONE_MISSING
    grouped: dict[str, list[TraceSpan]] = {}
    root = None
    for span in ordered:
        parent = span.parent_span_id
        if not parent:
            if root is None:
                root = span
        elif parent not in by_id:
            missing = missing | {parent}
            parent = ""
        elif parent == span.span_id:  # its own parent: shown at the top
            parent = ""
        children = grouped.get(parent)
        if children is None:
            grouped[parent] = [span]
        else:
            children.append(span)
    return Trace(
        ordered[0].trace_id if ordered else "",
        ordered,
        root,
        root is None or bool(missing),
        missing,
        {key: tuple(value) for key, value in grouped.items()},
    )


_NONE_MISSING: frozenset[str] = frozenset()


def _start_order(span: TraceSpan) -> tuple[int, str]:
    return span.start_ns, span.span_id
