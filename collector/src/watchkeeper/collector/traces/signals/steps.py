"""What the signals read from an assembled trace: its steps, question, answer and key.

A trace's *steps* are its LLM calls and tool calls in the order they started; its
*question* is what the user asked (the top span's input, else the first LLM call's);
its *answer* is what the app answered (the top span's output when it is an agent, a
chain or an LLM call, else the last LLM call's).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Final

from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import Trace, TraceSpan

#: Where the app's logical endpoint is recorded (``@observe(route=...)``).
ROUTE_KEY: Final = "watchkeeper.route"
AGENT_NAME_KEY: Final = "gen_ai.agent.name"
#: A tool's name: the GenAI conventions' key, then OpenInference's.
TOOL_NAME_KEYS: Final = ("gen_ai.tool.name", "tool.name")
TOOL_ARGUMENTS_KEY: Final = "gen_ai.tool.call.arguments"
#: A tool's declared argument schema: OpenInference's key, then the ``@observe`` one.
TOOL_SCHEMA_KEYS: Final = ("tool.parameters", "tool.json_schema", "gen_ai.tool.parameters")
#: The tools an LLM call was offered, in the GenAI conventions (a JSON list).
TOOL_DEFINITIONS_KEY: Final = "gen_ai.tool.definitions"
#: Input and output tokens: the GenAI conventions' keys, else OpenInference's.
_TOKEN_KEYS: Final = (
    ("gen_ai.usage.input_tokens", "llm.token_count.prompt"),
    ("gen_ai.usage.output_tokens", "llm.token_count.completion"),
)
_ANSWERING_KINDS: Final = frozenset({kinds.AGENT, kinds.CHAIN, kinds.LLM})


def steps(trace: Trace) -> list[TraceSpan]:
    """The trace's LLM and tool calls, in start order."""
    return [s for s in trace.spans if s.kind in (kinds.LLM, kinds.TOOL)]


def of_kind(trace: Trace, kind: str) -> list[TraceSpan]:
    """The trace's spans of one kind, in start order."""
    return [s for s in trace.spans if s.kind == kind]


def top(trace: Trace) -> TraceSpan | None:
    """The span at the top of the trace: its root, else the earliest top-level span."""
    if trace.root is not None:
        return trace.root
    top_level = trace.top_level()
    return top_level[0] if top_level else None


def question(trace: Trace) -> str:
    """What the user asked: the top span's input, else the first LLM call's."""
    first = top(trace)
    if first is not None and first.input_text.strip() and first.kind != kinds.TOOL:
        return first.input_text
    for span in of_kind(trace, kinds.LLM):
        if span.input_text.strip():
            return span.input_text
    return ""


def answer(trace: Trace) -> str:
    """What the app answered: the top span's output when it answers (agent, chain, LLM),
    else the output of the last LLM call that ended."""
    first = top(trace)
    if first is not None and first.kind in _ANSWERING_KINDS and first.output_text.strip():
        return first.output_text
    calls = sorted(of_kind(trace, kinds.LLM), key=lambda s: (s.end_ns, s.start_ns))
    for span in reversed(calls):
        if not span.is_error:
            return span.output_text
    return ""


def key(trace: Trace) -> str:
    """The key the trace's signals are watched by: ``service|route|agent``.

    The route is the top span's ``watchkeeper.route`` (else its name); the agent is the
    first agent span's ``gen_ai.agent.name`` (else its name; empty without an agent).
    """
    first = top(trace)
    if first is None:
        return "||"
    route = first.attributes.get(ROUTE_KEY) or first.name
    agent = next(
        (s.attributes.get(AGENT_NAME_KEY) or s.name for s in trace.spans if s.kind == kinds.AGENT),
        "",
    )
    return f"{first.service_name}|{route}|{agent}"


def tool_name(span: TraceSpan) -> str:
    """The tool's name: ``gen_ai.tool.name`` or ``tool.name``, else the span's name."""
    for name in TOOL_NAME_KEYS:
        found = span.attributes.get(name)
        if found:
            return found
    return span.name


def tool_arguments(span: TraceSpan) -> str:
    """The tool call's arguments as recorded (JSON text, usually)."""
    return span.input_text or span.attributes.get(TOOL_ARGUMENTS_KEY, "")


def tool_schema(span: TraceSpan) -> str:
    """The tool's declared argument schema (JSON text), or empty."""
    for name in TOOL_SCHEMA_KEYS:
        found = span.attributes.get(name)
        if found:
            return found
    return ""


def declared_tools(trace: Trace) -> dict[str, str]:
    """Tool name -> argument schema (JSON text) from the tool definitions the trace's LLM
    calls were given: OpenInference's ``llm.tools.<i>.tool.json_schema`` and the GenAI
    conventions' ``gen_ai.tool.definitions`` (a JSON list), OpenAI-style or bare."""
    found: dict[str, str] = {}
    for span in of_kind(trace, kinds.LLM):
        for name, value in span.attributes.items():
            if name[:10] == "llm.tools." and name.endswith(".tool.json_schema"):
                _declare(found, value)
        definitions = span.attributes.get(TOOL_DEFINITIONS_KEY)
        if definitions:
            try:
                listed = json.loads(definitions)
            except (ValueError, RecursionError):  # not JSON, or nested past the stack
                continue
            for definition in listed if isinstance(listed, list) else ():
                _declare(found, json.dumps(definition))
    return found


def _declare(found: dict[str, str], text: str) -> None:
    """Record one tool definition (JSON text) under its name."""
    try:
        definition = json.loads(text)
    except (ValueError, RecursionError):
        return
    if not isinstance(definition, dict):
        return
    inner = definition.get("function")
    named = inner if isinstance(inner, dict) else definition
    name = named.get("name")
    if isinstance(name, str) and name:
        found.setdefault(name, text)


def tokens(span: TraceSpan) -> int:
    """Input plus output tokens the span reported (0 when none)."""
    values = span.attributes
    return sum(_count(values, ours) or _count(values, theirs) for ours, theirs in _TOKEN_KEYS)


def _count(values: Mapping[str, str], name: str) -> int:
    raw = values.get(name)
    if not raw:
        return 0
    try:
        found = float(raw)
    except ValueError:
        return 0
    return int(found) if math.isfinite(found) and found > 0 else 0
