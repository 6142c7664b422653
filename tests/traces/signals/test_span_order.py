"""Signals of a trace do not depend on the order its spans come in.

The stage gets a trace's spans in whatever order the batch holds them: a summary the
stage drops (another payload held spans of its trace) gives back the trace's column rows
after its other spans, and exporters send children and parents in any order. Assembly
orders spans by start time, then span id, so the signals read the same trace.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from tests.traces.signals.planted import FAULTS, agent_trace
from watchkeeper.collector.traces.assemble import assemble
from watchkeeper.collector.traces.signals import trace_signals
from watchkeeper.collector.traces.signals.steps import key


@pytest.mark.parametrize("fault", [None, *FAULTS])
@pytest.mark.parametrize("ties", [False, True])
def test_signals_are_the_same_whatever_the_span_order(fault: str | None, ties: bool) -> None:
    """Each planted trace's spans shuffled, and the trace with columns' rows last: the same
    signals and key; with ``ties`` every span starts at the same time (the order then
    rests on span ids alone)."""
    rng = random.Random(7)
    for _ in range(5):
        spans = list(agent_trace(rng, fault).spans)
        if ties:
            spans = [dataclasses.replace(s, start_ns=spans[0].start_ns) for s in spans]
        expected = assemble(spans)
        for _ in range(4):
            rng.shuffle(spans)
            trace = assemble(spans)
            assert trace_signals(trace) == trace_signals(expected)
            assert key(trace) == key(expected)
        calls_first = [s for s in spans if s.kind == "llm"] + [s for s in spans if s.kind != "llm"]
        assert trace_signals(assemble(calls_first)) == trace_signals(expected)
