"""The row a summarised trace's values go on, made from its fields at once."""

from __future__ import annotations

import pytest

from watchkeeper.collector.traces.signals.summarised import summary_record
from watchkeeper.collector.traces.trace_summary import TraceSummary


@pytest.mark.parametrize(
    ("service", "route", "agent"),
    [("shop", "/ask", "planner"), ("shop", "/ask", ""), ("a|b", "r", "x|y"), ("s", "r|q", "")],
)
def test_the_row_is_the_summarys_own(service: str, route: str, agent: str) -> None:
    """``summary_record`` gives what ``TraceSummary.record`` gives, keys with a ``|`` in
    their service or route (read back from the joined key) included."""
    summary = TraceSummary(
        "0af7651916cd43dd8448eb211c80319c",
        5,
        1_700_000_000_000_000_000,
        {"trajectory.steps": 2.0},
        "b7ad6b7169203331",
        False,
        1_700_000_000_000_000_001,
        20_000_000,
        "POST /ask",
        "ERROR",
        service,
        route,
        agent,
    )
    assert summary_record(summary) == summary.record()
