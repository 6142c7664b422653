"""An app over stored traces: two turns of one session (the second with a failing tool),
a trace whose tool span never arrived, an alarm on the first turn's answer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.traces.agent_payloads import agent_trace, payload
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store, WriteBatch


@dataclass
class TracedApp:
    client: TestClient
    store: Store
    token: str
    #: trace ids of the session's two turns, then of a trace with a missing parent
    traces: list[str]
    pipeline: Pipeline

    def get(self, path: str, token: str | None = None) -> Any:
        return self.client.get(path, headers={"authorization": f"Bearer {token or self.token}"})


def _trace_id(spans: list[Any]) -> str:
    return format(spans[0].context.trace_id, "032x")


@dataclass
class Seeded:
    """The pipeline over the seeded store, the viewer's token, the trace ids (the
    session's two turns, then the trace with a missing parent) and the alarmed span."""

    pipeline: Pipeline
    token: str
    traces: list[str]
    alarmed_span: str


def seed_traces(store: Store) -> Seeded:
    """Two turns of session ``s-42`` (the second with a failing tool) and a trace whose
    tool span never arrived; an alarm on the first turn's answer; the review sample
    closed (every call in the random-sample queue)."""
    pipeline = Pipeline(store, reservoir=ReviewReservoir(size=100, window_s=3600))
    first = agent_trace("s-42", "Weather in Oslo?")
    second = agent_trace("s-42", "And tomorrow?", fail_tool=True)
    broken = [s for s in agent_trace("s-other") if s.name != "execute_tool search"]
    for spans in (first, second, broken):
        pipeline.process([Payload(payload(spans), "test")])
    answer = next(s for s in first if s.name == "chat answer")
    start = answer.start_time or 0
    store.write(
        WriteBatch(
            alarms=[
                {
                    "Timestamp": f"{start // 10**9}.{start % 10**9:09d}",
                    "Detector": "faithfulness_drift",
                    "DetectorKey": "agent-app|chat answer|stand-in",
                    "TraceId": _trace_id(first),
                    "SpanId": format(answer.context.span_id, "016x"),
                    "Score": 0.2,
                    "Message": "faithfulness dropped",
                }
            ]
        )
    )
    registry = TokenRegistry(store)
    token = registry.create("vic", "viewer")[0]
    pipeline.flush_review()
    traces = [_trace_id(t) for t in (first, second, broken)]
    return Seeded(pipeline, token, traces, format(answer.context.span_id, "016x"))


@pytest.fixture
def traced_app(store: Store) -> Iterator[TracedApp]:
    """The app (test client) over the stored traces, with a viewer token."""
    seeded = seed_traces(store)
    with TestClient(build_app(seeded.pipeline)) as client:
        yield TracedApp(client, store, seeded.token, seeded.traces, seeded.pipeline)
