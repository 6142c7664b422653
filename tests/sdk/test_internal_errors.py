"""SDK failures never reach the app (but fail loudly under pytest)."""

from __future__ import annotations

import pytest

from tests.sdk.stats_delta import StatsDelta
from watchkeeper.sdk import current_call, decorator, internal_errors, observe, testing


class SdkBugError(Exception):
    pass


def broken_converter(*args: object, **kwargs: object) -> str:
    raise SdkBugError("bug in the SDK")


@pytest.fixture
def sdk_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the SDK's input and output conversion fail."""
    monkeypatch.setattr(decorator, "text_message_json", broken_converter)
    monkeypatch.setattr(decorator, "output_messages_json", broken_converter)


@pytest.fixture
def production_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behave as outside pytest: swallow and count instead of re-raising."""
    monkeypatch.setattr(internal_errors, "reraise_internal_errors", lambda: False)


@pytest.mark.usefixtures("sdk_bug")
def test_internal_errors_are_reraised_under_pytest() -> None:
    """Under pytest an SDK bug surfaces as an exception, so tests cannot miss it."""

    @observe
    def answer(prompt: str) -> str:
        return "ok"

    with pytest.raises(SdkBugError):
        answer("hi")


@pytest.mark.usefixtures("sdk_bug", "production_mode")
def test_internal_errors_are_swallowed_and_counted_in_production(
    stats_delta: StatsDelta, caplog: pytest.LogCaptureFixture
) -> None:
    """In production an SDK bug is logged once, counted, and the user's function still
    runs and returns its result."""
    calls = []

    @observe
    def answer(prompt: str) -> str:
        calls.append(prompt)
        return "ok"

    assert answer("one") == "ok"
    assert answer("two") == "ok"
    assert calls == ["one", "two"]
    assert stats_delta["internal_errors"] == 2
    assert testing.finished_spans() == ()  # no half-made spans
    logged = [r for r in caplog.records if r.name == "watchkeeper.sdk" and r.exc_info]
    assert len(logged) <= 1  # at most once per place, never once per call


@pytest.mark.usefixtures("production_mode")
def test_end_of_call_failure_still_ends_span_and_returns_result(
    monkeypatch: pytest.MonkeyPatch, stats_delta: StatsDelta
) -> None:
    """If recording the output fails, the span still ends, the context is restored and
    the caller gets the result."""
    monkeypatch.setattr(decorator, "output_messages_json", broken_converter)

    @observe
    def answer(prompt: str) -> str:
        return "ok"

    assert answer("hi") == "ok"
    assert stats_delta["internal_errors"] == 1
    assert len(testing.finished_spans()) == 1
    assert not current_call().is_recording


@pytest.mark.usefixtures("production_mode")
def test_user_exception_wins_over_sdk_failure(
    monkeypatch: pytest.MonkeyPatch, stats_delta: StatsDelta
) -> None:
    """A user exception reaches the caller unchanged even if the SDK fails while
    recording it; the span is still ended."""
    monkeypatch.setattr(decorator, "Status", broken_converter)

    @observe
    def answer(prompt: str) -> str:
        raise ValueError("user error")

    with pytest.raises(ValueError, match="user error"):
        answer("hi")
    assert stats_delta["internal_errors"] == 1
    assert len(testing.finished_spans()) == 1
