"""SDK failures never reach the app (but fail loudly under pytest)."""

from __future__ import annotations

import pytest

from tests.sdk.stats_delta import StatsDelta
from watchkeeper.sdk import (
    call_lifecycle,
    current_call,
    internal_errors,
    observe,
    span_builder,
    testing,
)


class SdkBugError(Exception):
    pass


def broken(*args: object, **kwargs: object) -> str:
    raise SdkBugError("bug in the SDK")


@pytest.fixture
def start_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the calling thread's part of the SDK fail (taking the start timestamp)."""
    monkeypatch.setattr(call_lifecycle, "time_ns", broken)


@pytest.fixture
def build_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the export thread's part of the SDK fail (building the output message)."""
    monkeypatch.setattr(span_builder, "output_messages_json", broken)


@pytest.fixture
def production_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behave as outside pytest: swallow and count instead of re-raising."""
    monkeypatch.setattr(internal_errors, "reraise_internal_errors", lambda: False)


@observe
def answer(prompt: str) -> str:
    return "ok"


@pytest.mark.usefixtures("start_bug")
def test_calling_thread_errors_are_reraised_under_pytest() -> None:
    """Under pytest an SDK bug on the calling thread surfaces at the call."""
    with pytest.raises(SdkBugError):
        answer("hi")


@pytest.mark.usefixtures("build_bug")
def test_export_thread_errors_are_reraised_by_flush_under_pytest() -> None:
    """Under pytest an SDK bug on the export thread surfaces at the next flush (here:
    reading the spans), in the test's own thread, instead of dying with the thread."""
    assert answer("hi") == "ok"
    with pytest.raises(SdkBugError):
        testing.finished_spans()


@pytest.mark.usefixtures("start_bug", "production_mode")
def test_calling_thread_errors_are_swallowed_and_counted_in_production(
    stats_delta: StatsDelta, caplog: pytest.LogCaptureFixture
) -> None:
    """In production an SDK bug is logged once, counted, and the user's function still
    runs and returns its result; no half-made span is exported."""
    calls = []

    @observe
    def record(prompt: str) -> str:
        calls.append(prompt)
        return "ok"

    assert record("one") == "ok"
    assert record("two") == "ok"
    assert calls == ["one", "two"]
    assert stats_delta["internal_errors"] == 2
    assert testing.finished_spans() == ()
    logged = [r for r in caplog.records if r.name == "watchkeeper.sdk" and r.exc_info]
    assert len(logged) <= 1  # at most once per place, never once per call


@pytest.mark.usefixtures("build_bug", "production_mode")
def test_export_thread_errors_cost_only_that_span(stats_delta: StatsDelta) -> None:
    """A record the export thread cannot build is counted and skipped; the calls
    returned normally and the context was restored."""
    assert answer("hi") == "ok"
    assert answer("again") == "ok"
    assert testing.finished_spans() == ()
    assert stats_delta["internal_errors"] == 2
    assert stats_delta["spans_ended"] == 2
    assert not current_call().is_recording


@pytest.mark.usefixtures("production_mode")
def test_user_exception_and_result_win_over_sdk_failure_at_the_end(
    monkeypatch: pytest.MonkeyPatch, stats_delta: StatsDelta
) -> None:
    """If handing the finished call over fails, the caller still gets its result or
    its own exception unchanged, the failure is counted, and the context is restored."""
    from watchkeeper.sdk import configuration
    from watchkeeper.sdk.pipeline import Pipeline

    class BrokenQueue(list[object]):
        def append(self, item: object) -> None:
            raise SdkBugError("queue broke")

    @observe
    def fail(prompt: str) -> str:
        raise ValueError("user error")

    monkeypatch.setattr(Pipeline, "submit", broken)
    worker = configuration.current_pipeline().worker
    assert worker is not None
    monkeypatch.setattr(worker, "queue", BrokenQueue())
    with pytest.raises(ValueError, match="user error"):
        fail("hi")
    assert answer("hi") == "ok"
    assert stats_delta["internal_errors"] == 2
    assert not current_call().is_recording
