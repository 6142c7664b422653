"""The experiment's worker threads: every case asked once, failures raised in the caller,
and a closed run hands out no more cases."""

from __future__ import annotations

import threading

import pytest

from watchkeeper.collector.experiments.cases import Case
from watchkeeper.collector.experiments.daemon_workers import asked
from watchkeeper.collector.experiments.results import CaseResult

CASES = [Case(f"case-{n}", f"question {n}?") for n in range(12)]


def _result(case: Case) -> CaseResult:
    return CaseResult(case.id, "t", case.fingerprint, True, case.input, None, 0.0)


def test_every_case_is_asked_once_across_workers() -> None:
    """Four workers over twelve cases: twelve results, one per case."""
    found = [result.case_id for result in asked(CASES, _result, 4)]
    assert sorted(found) == sorted(case.id for case in CASES)


def test_an_exception_of_ask_is_raised_in_the_caller() -> None:
    """What ``ask`` raises comes out of the iteration, as a pool's ``result()`` would."""

    def ask(case: Case) -> CaseResult:
        if case.id == "case-3":
            raise LookupError("no such model")
        return _result(case)

    with pytest.raises(LookupError, match="no such model"):
        list(asked(CASES, ask, 1))


def test_a_closed_run_takes_no_more_cases() -> None:
    """Closed after the first result while the only worker is inside its second case: that
    case finishes, and no third is started."""
    inside, release = threading.Event(), threading.Event()
    started: list[str] = []
    threads: set[threading.Thread] = set()

    def ask(case: Case) -> CaseResult:
        started.append(case.id)
        threads.add(threading.current_thread())
        if len(started) == 2:
            inside.set()
            release.wait()
        return _result(case)

    run = asked(CASES, ask, 1)
    assert next(run).case_id == "case-0"
    assert inside.wait(60)
    run.close()
    release.set()
    (worker,) = threads
    worker.join(60)
    assert not worker.is_alive()
    assert started == ["case-0", "case-1"]
    assert worker.daemon
