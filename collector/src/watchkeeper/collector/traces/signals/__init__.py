"""Trajectory, RAG-component and conversation signals: pure functions over assembled traces.

Each signal is a number per trace (``trajectory.*``, ``rag.*``), per conversation turn or
per session (``conversation.*``); :class:`~.watch.SignalWatch` watches each as a score
stream, per (service, route, agent) key, with the calibrated change detectors the other
detectors use.

>>> from watchkeeper.collector.traces.assemble import TraceSpan, assemble
>>> agent = TraceSpan("t", "a", "", "invoke_agent", "agent", 0, 9, "OK", {},
...                   input_text="Where is order 7?", output_text="It shipped.")
>>> tool = TraceSpan("t", "b", "a", "execute_tool get_order", "tool", 1, 2, "ERROR",
...                  {"gen_ai.tool.name": "get_order"}, input_text='{"id": 7}')
>>> found = trace_signals(assemble([agent, tool]))
>>> found["trajectory.tool_error"], found["trajectory.answer_after_tool_error"]
(1.0, 1.0)
"""

from __future__ import annotations

from watchkeeper.collector.traces.assemble import Trace
from watchkeeper.collector.traces.signals.rag import rag_signals
from watchkeeper.collector.traces.signals.trajectory import trajectory_signals


def trace_signals(trace: Trace) -> dict[str, float]:
    """Every per-trace signal of ``trace``, by stored name (``trajectory.*``, ``rag.*``)."""
    found = {f"trajectory.{name}": value for name, value in trajectory_signals(trace).items()}
    found.update((f"rag.{name}", value) for name, value in rag_signals(trace).items())
    return found


__all__ = ["trace_signals"]
