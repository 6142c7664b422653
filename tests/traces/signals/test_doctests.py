"""The examples in the signals' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "watchkeeper.collector.traces.signals",
    "watchkeeper.collector.traces.signals.conversation",
    "watchkeeper.collector.traces.signals.recent_keys",
    "watchkeeper.collector.traces.signals.relevance",
    "watchkeeper.collector.traces.signals.tool_schema",
    "watchkeeper.collector.traces.signals.value_columns",
    "watchkeeper.collector.traces.signals.watch",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    """Every example of the module passes."""
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
