"""A forked child starts with its own counters and a working export pipeline."""

from __future__ import annotations

import os

import pytest

from watchkeeper.sdk import flush, observe, stats, testing
from watchkeeper.sdk.attributes import INPUT_MESSAGES

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    pytest.mark.filterwarnings(
        "ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning"
    ),
]


@observe
def answer(prompt: str) -> str:
    return "ok"


def test_forked_child_counts_and_exports_its_own_spans() -> None:
    """After fork the child's stats start at zero, its calls are recorded and exported
    by a fresh worker, and nothing the parent queued is exported twice."""
    answer("parent")
    assert stats()["spans_started"] >= 1

    pid = os.fork()
    if pid == 0:  # the child: report through the exit code, never return into pytest
        code = 1
        try:
            fresh = stats()["spans_started"] == 0 and stats()["spans_queued"] == 0
            answer("child")
            exported = flush(timeout_s=5) and stats()["spans_exported"] == 1
            inputs = [(s.attributes or {}).get(INPUT_MESSAGES) for s in testing.finished_spans()]
            only_child = sum("child" in str(text) for text in inputs) == 1
            code = 0 if fresh and exported and only_child else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert flush()
