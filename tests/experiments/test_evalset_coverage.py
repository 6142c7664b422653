"""Evalset coverage of production over the real pipeline and chDB: a planted gap (a topic
of production traffic no evalset case covers) tops the coverage queue and lowers the
gauge; adding its prompts to the evalset raises coverage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.experiments.coverage_traffic import COVERED, GAP, traffic, write_evalset
from watchkeeper.collector.coverage.index import CoverageIndex, RememberedNovelty
from watchkeeper.collector.coverage.install import install_coverage
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.settings import ConfigError, CoverageSettings
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.store import Store
from watchkeeper.ingest.cli import main

GAUGE = re.compile(r'^watchkeeper_evalset_coverage\{route="support"\} (\S+)$', re.MULTILINE)


def _scrape(pipeline: Pipeline) -> tuple[float, list[dict[str, object]]]:
    """The route's coverage on /metrics, and the coverage queue's items."""
    app = build_app(pipeline)
    token = TokenRegistry(pipeline.store).create("vic", "viewer")[0]
    with TestClient(app) as client:
        found = GAUGE.search(client.get("/metrics").text)
        headers = {"authorization": f"Bearer {token}"}
        items = client.get("/api/queues/coverage/items?limit=500", headers=headers).json()
    assert found is not None
    return float(found.group(1)), list(items)


def test_a_planted_gap_tops_the_coverage_queue(store: Store, tmp_path: Path) -> None:
    """Every call of the uncovered topic is among the queue's items, and they are most of
    them; the gauge shows the share the evalset covers, below 1."""
    calls, gap = traffic()
    pipeline = Pipeline(store)
    pipeline.process_calls(calls, "test")
    evalset = write_evalset(tmp_path / "evalset.jsonl")
    install_coverage(CoverageSettings(evalset_coverage_files=[evalset]), pipeline)
    coverage, items = _scrape(pipeline)
    queued = {str(item["span_id"]) for item in items}
    assert gap <= queued
    assert len(gap) / len(queued) >= 0.75
    assert 0.85 < coverage <= 1 - len(gap) / len(calls) + 0.01


def test_coverage_rises_when_the_gap_is_added(store: Store, tmp_path: Path) -> None:
    """With the gap topic's prompts added to the evalset, coverage rises."""
    calls, gap = traffic()
    pipeline = Pipeline(store)
    pipeline.process_calls(calls, "test")
    before_path = write_evalset(tmp_path / "before.jsonl")
    after_path = write_evalset(tmp_path / "after.jsonl", (*COVERED, GAP))
    watch = install_coverage(CoverageSettings(evalset_coverage_files=[before_path]), pipeline)
    assert watch is not None
    before = watch.read()["support"]
    install_coverage(CoverageSettings(evalset_coverage_files=[after_path]), pipeline)
    after, _ = _scrape(pipeline)
    assert after > before + len(gap) / len(calls) / 2


def test_a_bad_evalset_stops_start_up_naming_the_key(store: Store, tmp_path: Path) -> None:
    """An unreadable or unusable evalset: one line naming evalset_coverage_files."""
    pipeline = Pipeline(store)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("not json\n", encoding="utf-8")
    for path in (tmp_path / "missing.jsonl", empty):
        settings = CoverageSettings(evalset_coverage_files=[path])
        with pytest.raises(ConfigError, match=r"^invalid setting 'evalset_coverage_files': "):
            install_coverage(settings, pipeline)


def test_the_coverage_command_reports_the_gap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``watchkeeper evalset coverage`` prints the route's coverage and, first among its
    most novel inputs, prompts of the uncovered topic; an unusable evalset exits 2."""
    calls, gap = traffic()
    data = tmp_path / "wk"
    store = Store(ChdbBackend(data / "chdb"))
    store.migrate()
    try:
        Pipeline(store).process_calls(calls, "test")
    finally:
        store.close()
    evalset = write_evalset(tmp_path / "evalset.jsonl")
    args = ["evalset", "coverage", "--evalset", str(evalset), "--data-dir", str(data)]
    assert main([*args, "--route", "support", "--top", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"support +\d+ +93\.\d%$", out[1])
    shown = [line.split()[1] for line in out[out.index("most novel inputs of support:") + 1 :]]
    gap_traces = {c.trace_id for c in calls if c.span_id in gap}
    assert len(shown) == 5
    assert set(shown) <= gap_traces
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{]\n", encoding="utf-8")
    assert main(["evalset", "coverage", "--evalset", str(bad), "--data-dir", str(data)]) == 2
    assert "has no usable case" in capsys.readouterr().err


def test_remembered_novelty_is_the_index_novelty() -> None:
    """Remembered per text, novelty is what the index says, also after the memory fills
    and is cleared."""
    index = CoverageIndex(["reset my password", "where is my parcel"])
    remembered = RememberedNovelty(index, max_texts=3)
    first = ["reset password", "bitcoin", "hi"]
    second = ["bitcoin", "parcel please", "reset password", "x y"]
    for texts in (first, second, first):
        got, want = remembered.novelty(texts), index.novelty(texts)
        assert [str(n) for n in got] == [str(n) for n in want]
