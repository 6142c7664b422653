"""Trajectory signals of single traces: each planted fault shows in its own signal, and a
clean trace raises none."""

from __future__ import annotations

import json
import random

import pytest

from tests.traces.signals.planted import ORDER_SCHEMA, TraceBuilder, agent_trace
from watchkeeper.collector.traces.assemble import TraceSpan, assemble
from watchkeeper.collector.traces.signals import trace_signals
from watchkeeper.collector.traces.signals.trajectory import trajectory_signals

EVENTS = (
    "tool_error",
    "tool_loop",
    "schema_violation",
    "no_answer",
    "ended_after_tool_error",
    "answer_after_tool_error",
)
TOOL = {"gen_ai.tool.name": "get_order", "tool.parameters": ORDER_SCHEMA}


def _events(found: dict[str, float]) -> dict[str, float]:
    return {name: found[name] for name in EVENTS if name in found}


def test_a_clean_trajectory_raises_no_event() -> None:
    """Clean traces (seeded, with their occasional retried tool failure cleared) have
    every event at 0, one call per tool, and count their steps and tokens."""
    rng = random.Random(5)
    for _ in range(200):
        found = trajectory_signals(agent_trace(rng))
        if found["tool_error"]:
            assert found["answer_after_tool_error"] == 0.0  # it was retried, successfully
            continue
        assert set(_events(found).values()) == {0.0}
        assert found["repeated_tool_calls"] == 0.0
        assert found["steps"] == 2.0
        assert 330 <= found["tokens"] <= 480


def test_a_looping_tool_is_a_loop_with_repeated_calls() -> None:
    """The same call made four times: three repeats, a loop, four more steps' worth."""
    found = trajectory_signals(agent_trace(random.Random(1), "looping_tool"))
    assert found["tool_loop"] == 1.0
    assert found["repeated_tool_calls"] == 3.0
    assert found["steps"] == 5.0


def test_tools_taking_turns_in_a_cycle_are_a_loop() -> None:
    """search, read, search, read, search, read (new arguments each time) is a loop;
    one search refined three times is not."""
    cycle = TraceBuilder("t1")
    for i in range(3):
        cycle.add("execute_tool search", "tool", input_text=json.dumps({"q": f"v{i}"}))
        cycle.add("execute_tool read", "tool", input_text=json.dumps({"doc": i}))
    refined = TraceBuilder("t2")
    for i in range(3):
        refined.add("execute_tool search", "tool", input_text=json.dumps({"q": f"v{i}"}))
    assert trajectory_signals(cycle.finish("q", "a"))["tool_loop"] == 1.0
    assert trajectory_signals(refined.finish("q", "a"))["tool_loop"] == 0.0


def test_a_failing_tool_and_an_answer_given_anyway() -> None:
    """A tool that fails and is not retried: a tool error, and an answer after it."""
    found = trajectory_signals(agent_trace(random.Random(2), "failing_tool"))
    assert found["tool_error"] == found["tool_error_rate"] == 1.0
    assert found["answer_after_tool_error"] == 1.0
    assert found["ended_after_tool_error"] == 0.0  # the model answered after it


def test_a_trajectory_ending_on_a_failed_tool_without_an_answer() -> None:
    """The last step is a failed tool call and nothing was answered."""
    builder = TraceBuilder("t3")
    builder.add("chat model", "llm", input_text="Where is order 7?", output_text="")
    builder.add("execute_tool get_order", "tool", status="ERROR", attributes=TOOL)
    found = trajectory_signals(builder.finish("Where is order 7?", ""))
    assert found["no_answer"] == found["ended_after_tool_error"] == 1.0
    assert found["answer_after_tool_error"] == 0.0


@pytest.mark.parametrize(
    ("arguments", "violation"),
    [('{"order_id": 12}', 0.0), ('{"order": "12"}', 1.0), ('{"order_id": "12"}', 1.0), ("{", 1.0)],
)
def test_tool_arguments_against_the_declared_schema(arguments: str, violation: float) -> None:
    """Arguments that miss a required field, have the wrong type or are not JSON break
    the schema the tool span carries."""
    builder = TraceBuilder("t4")
    builder.add("execute_tool get_order", "tool", input_text=arguments, attributes=TOOL)
    assert trajectory_signals(builder.finish("q", "a"))["schema_violation"] == violation


def test_no_schema_no_schema_signal_and_no_tools_no_trajectory() -> None:
    """Without a declared schema the signal is absent, not 0; a trace with neither a tool
    nor an agent (a plain LLM call) has no trajectory signals."""
    builder = TraceBuilder("t5")
    builder.add("execute_tool ping", "tool", input_text="{}")
    assert "schema_violation" not in trajectory_signals(builder.finish("q", "a"))
    llm = TraceSpan("t6", "a", "", "chat m", "llm", 0, 5, "OK", {}, input_text="q")
    assert trajectory_signals(assemble([llm])) == {}


def test_a_partial_trace_is_scored_from_what_arrived() -> None:
    """Spans whose root never arrived still give their signals (a partial trace is
    shown, and scored, never dropped)."""
    trace = agent_trace(random.Random(3), "failing_tool")
    partial = assemble([span for span in trace.spans if span.span_id != "root"])
    assert partial.partial
    found = trace_signals(partial)
    assert found["trajectory.tool_error"] == 1.0
    assert found["trajectory.answer_after_tool_error"] == 1.0  # the LLM call's answer


def test_a_schema_from_the_tools_the_model_was_offered() -> None:
    """A tool span without a schema is checked against the definition its LLM call was
    given (OpenInference's llm.tools, OpenAI-style; the GenAI conventions' list)."""
    offered = json.dumps(
        {
            "type": "function",
            "function": {"name": "get_order", "parameters": json.loads(ORDER_SCHEMA)},
        }
    )
    for attributes in (
        {"llm.tools.0.tool.json_schema": offered},
        {"gen_ai.tool.definitions": json.dumps([json.loads(offered)])},
    ):
        verdicts = []
        for arguments in ('{"order_id": 5}', '{"order_id": "five"}'):
            builder = TraceBuilder("t7")
            builder.add("chat model", "llm", input_text="q", output_text="", attributes=attributes)
            builder.add(
                "get_order", "tool", input_text=arguments, attributes={"tool.name": "get_order"}
            )
            verdicts.append(trajectory_signals(builder.finish("q", "a"))["schema_violation"])
        assert verdicts == [0.0, 1.0]


def test_the_fast_check_of_flat_schemas_agrees_with_jsonschema() -> None:
    """Flat object schemas are checked directly; every verdict equals the JSON Schema
    validator's, and other schemas go to the validator."""
    from jsonschema import validators  # type: ignore[import-untyped]

    from watchkeeper.collector.traces.signals.tool_schema import value_fits

    schemas = [
        json.loads(ORDER_SCHEMA),
        {"type": "object", "properties": {"q": {"type": "string"}, "k": {"type": "number"}}},
        {"type": "object", "properties": {"flag": {"type": "boolean"}, "x": {}}, "required": ["x"]},
        {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}},
    ]
    values = [
        {}, {"order_id": 3}, {"order_id": 3.0}, {"order_id": 3.5}, {"order_id": True},
        {"order_id": "3"}, {"order_id": 3, "more": 1}, {"q": "a", "k": 2}, {"q": 1},
        {"k": False}, {"flag": 1, "x": None}, {"flag": True, "x": [1]}, {"tags": ["a"]},
        {"tags": ["a", 2]}, {"tags": "a"}, [], "text", None,
    ]  # fmt: skip
    for schema in schemas:
        validator = validators.validator_for(schema)(schema)
        for value in values:
            assert value_fits(value, json.dumps(schema)) == validator.is_valid(value), (
                schema,
                value,
            )
