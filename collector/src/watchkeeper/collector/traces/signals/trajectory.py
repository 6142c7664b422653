"""Agent trajectory signals of one assembled trace: how the agent got to its answer.

Computed for traces with at least one tool call or agent span (a plain LLM call has no
trajectory). Every value is a number per trace; events are 0 or 1:

- ``tool_error`` (event): some tool call failed;
- ``tool_error_rate``: the share of the trace's tool calls that failed;
- ``schema_violation`` (event): some tool call's arguments do not fit the tool's declared
  JSON schema: the tool span's own (``tool.parameters``), else the definition the trace's
  LLM calls were given (``llm.tools.<i>.tool.json_schema``, ``gen_ai.tool.definitions``);
  only for traces where some tool declares one;
- ``repeated_tool_calls``: tool calls identical (same tool, same arguments) to an earlier
  one of the trace;
- ``tool_loop`` (event): the same call made :data:`LOOP_REPEATS` times or more, or a
  run of two or three tools repeating itself that many times in a row (``a b a b a b``,
  whatever the arguments);
- ``steps``: LLM and tool calls made for the task; ``tokens``: the tokens they used
  (when reported);
- ``no_answer`` (event): the trajectory ended without an answer;
- ``ended_after_tool_error`` (event): its last step was a failed tool call;
- ``answer_after_tool_error`` (event): it answered although a tool call failed and that
  tool never succeeded afterwards (the answer had to do without that result).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Final

import orjson

from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import Trace, TraceSpan
from watchkeeper.collector.traces.signals import steps
from watchkeeper.collector.traces.signals.tool_schema import value_fits

#: Times the same call (or run of calls) is repeated before it counts as a loop.
LOOP_REPEATS: Final = 3
#: Longest run of tool names checked for repeating itself.
MAX_LOOP_PERIOD: Final = 3


def trajectory_signals(trace: Trace) -> dict[str, float]:
    """The trajectory signals of ``trace`` (empty when it has no tool call or agent)."""
    tools: list[TraceSpan] = []
    taken: list[TraceSpan] = []
    agent = False
    for span in trace.spans:  # one pass: the signal stage runs this on every trace
        kind = span.kind
        if kind == kinds.TOOL:
            tools.append(span)
            taken.append(span)
        elif kind == kinds.LLM:
            taken.append(span)
        elif kind == kinds.AGENT:
            agent = True
    if not tools and not agent:
        return {}
    failed = sum(tool.is_error for tool in tools)
    answered = bool(steps.answer(trace).strip())
    found: dict[str, float] = {
        "tool_error": float(failed > 0),
        "steps": float(len(taken)),
        "no_answer": float(not answered),
        "ended_after_tool_error": float(failed > 0 and _ends_after_tool_error(taken)),
        "answer_after_tool_error": float(answered and failed > 0 and _unrecovered(tools)),
    }
    if tools:
        parsed = [_parsed(tool) for tool in tools]
        found["tool_error_rate"] = failed / len(tools)
        calls = [
            (steps.tool_name(tool), canonical)
            for tool, (_, canonical) in zip(tools, parsed, strict=True)
        ]
        found["repeated_tool_calls"] = float(len(calls) - len(set(calls)))
        found["tool_loop"] = float(_loops(calls))
        violation = _schema_violation(tools, parsed, steps.declared_tools(trace))
        if violation is not None:
            found["schema_violation"] = float(violation)
    used = sum(steps.tokens(span) for span in taken)
    if used:
        found["tokens"] = float(used)
    return found


#: A tool call's arguments: parsed (``_UNREADABLE`` when not JSON) and in canonical form.
Parsed = tuple[object, str]
_UNREADABLE = object()


def _parsed(tool: TraceSpan) -> Parsed:
    """The call's arguments parsed once, and their canonical form (key order aside)."""
    arguments = steps.tool_arguments(tool)
    if not arguments:
        return {}, "{}"
    try:
        # orjson reads and writes strict JSON in a fraction of json's time; what it
        # refuses (NaN, integers beyond 64 bits) json reads, as the same value.
        value = orjson.loads(arguments)
        return value, orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        pass
    try:
        value = json.loads(arguments)
    except (ValueError, RecursionError):  # not JSON, or nested past the stack
        return _UNREADABLE, arguments.strip()
    return value, json.dumps(value, sort_keys=True)


def _loops(calls: Sequence[tuple[str, str]]) -> bool:
    """The same call :data:`LOOP_REPEATS` times, or a run of two or three tool names
    repeating itself that many times in a row (one tool called again with other
    arguments is a search refined, not a loop)."""
    if len(calls) < LOOP_REPEATS:
        return False
    if max(Counter(calls).values()) >= LOOP_REPEATS:
        return True
    names = [name for name, _ in calls]
    for period in range(2, MAX_LOOP_PERIOD + 1):
        span = period * LOOP_REPEATS
        for start in range(len(names) - span + 1):
            window = names[start : start + span]
            if all(window[i] == window[i % period] for i in range(span)):
                return True
    return False


def _schema_violation(
    tools: Sequence[TraceSpan], parsed: Sequence[Parsed], declared: dict[str, str]
) -> bool | None:
    """True when some call breaks its tool's schema (arguments that are not JSON do);
    None when no tool declares one. A tool span's own schema wins over the definition
    the model was given."""
    verdicts = [
        _fits(value, steps.tool_schema(tool) or declared.get(steps.tool_name(tool), ""))
        for tool, (value, _) in zip(tools, parsed, strict=True)
    ]
    checked = [verdict for verdict in verdicts if verdict is not None]
    if not checked:
        return None
    return not all(checked)


def _fits(value: object, schema: str) -> bool | None:
    if not schema:
        return None
    if value is _UNREADABLE:
        return False if value_fits({}, schema) is not None else None
    return value_fits(value, schema)


def _ends_after_tool_error(taken: Sequence[TraceSpan]) -> bool:
    """The step that ended last is a failed tool call."""
    if not taken:
        return False
    last = max(taken, key=lambda s: (s.end_ns, s.start_ns))
    return last.kind == kinds.TOOL and last.is_error


def _unrecovered(tools: Sequence[TraceSpan]) -> bool:
    """Some tool failed and no later call of that tool succeeded."""
    for i, tool in enumerate(tools):
        if tool.is_error:
            name = steps.tool_name(tool)
            later = tools[i + 1 :]
            if not any(steps.tool_name(t) == name and not t.is_error for t in later):
                return True
    return False
