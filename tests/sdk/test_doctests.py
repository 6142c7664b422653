"""The examples in the SDK's docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import watchkeeper.sdk

MODULES = sorted(
    [watchkeeper.sdk.__name__]
    + [
        module.name
        for module in pkgutil.walk_packages(
            watchkeeper.sdk.__path__, watchkeeper.sdk.__name__ + "."
        )
    ]
)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name: str) -> None:
    """Every docstring example of every SDK module passes as a doctest."""
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
