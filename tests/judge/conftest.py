"""Fixtures of the judge tests: the stand-in chat-completions server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.judge.standin import StandIn, standin_server


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A fresh stand-in OpenAI-compatible server on loopback."""
    with standin_server() as server:
        yield server
