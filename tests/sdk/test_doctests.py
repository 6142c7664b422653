"""The examples in the SDK's docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "watchkeeper.sdk",
    "watchkeeper.sdk.call_context",
    "watchkeeper.sdk.configuration",
    "watchkeeper.sdk.decorator",
    "watchkeeper.sdk.documents",
    "watchkeeper.sdk.exporters.kafka",
    "watchkeeper.sdk.feedback",
    "watchkeeper.sdk.messages",
    "watchkeeper.sdk.otlp",
    "watchkeeper.sdk.providers",
    "watchkeeper.sdk.redaction",
    "watchkeeper.sdk.stats",
    "watchkeeper.sdk.testing",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name: str) -> None:
    """Every docstring example of the module passes as a doctest."""
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
