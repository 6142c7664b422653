"""Fixtures of the experiment and red-team tests: an evalset, and a loopback server
speaking the OpenAI chat-completions API with a deterministic stand-in model behind it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.experiments import stand_in
from tests.experiments.openai_stand_in import StandInServer


@pytest.fixture
def evalset(tmp_path: Path) -> Path:
    """The 20-case evalset of the stand-in's knowledge."""
    return stand_in.write_evalset(tmp_path / "cases.jsonl")


@pytest.fixture
def openai_server() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v1``) of the stand-in OpenAI API."""
    server = StandInServer()
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _release_hung_targets() -> Iterator[None]:
    stand_in.RELEASE.clear()
    yield
    stand_in.RELEASE.set()
