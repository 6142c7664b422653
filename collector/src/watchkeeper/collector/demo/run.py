"""Run the demo: start watchkeeper embedded, drive the sample app, show what it sees."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from watchkeeper.collector.demo import app
from watchkeeper.collector.demo.traffic import DemoTraffic
from watchkeeper.collector.demo.view import AlarmSeen, DemoStatus, render, summary
from watchkeeper.collector.overview.monitor import alarm_id, reason_in_words
from watchkeeper.collector.runtime import Runtime, start_runtime
from watchkeeper.collector.settings import Settings


@dataclass
class DemoOptions:
    """How long and how fast the demo runs."""

    duration_s: float | None = None
    rate: float = 25.0
    seed: int = 7
    drift_after: int = 300


def run_demo(settings: Settings, options: DemoOptions) -> int:
    """Run until ``duration_s`` or Ctrl-C; returns an exit code.

    On a terminal one panel is redrawn in place; otherwise a progress line every 5 s and
    a line per alarm as it fires. Both end with a summary of what drifted and where to look.
    """
    if "review_window_s" not in settings.model_fields_set:
        # Short review windows so the random queue fills while one watches the demo.
        settings = settings.model_copy(update={"review_window_s": 10.0})
    runtime = start_runtime(settings)
    from watchkeeper import sdk

    # Export every 200 ms so the live view moves; apps keep the SDK's default delay.
    sdk.configure(
        exporter="otlp",
        endpoint=f"{runtime.server.url}/v1/traces",
        service_name="lumen-support-bot",
        schedule_delay_s=0.2,
    )
    traffic = DemoTraffic(seed=options.seed, drift_after=options.drift_after)
    status = DemoStatus(
        url=runtime.server.url,
        login_url=_login_url(runtime),
        data_dir=str(settings.data_dir),
        drift_after=options.drift_after,
    )
    status.stored_before = runtime.store.count_calls()
    status.earlier_alarms = {_alarm_url(status, row) for row in runtime.store.alarms()}
    live = sys.stdout.isatty()
    if not live:
        print(f"watchkeeper demo: overview at {status.overview_url}", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        if live:
            from rich.live import Live

            with Live(render(status), refresh_per_second=4, transient=False) as view:
                _drive(
                    runtime, traffic, status, options, started, lambda: view.update(render(status))
                )
        else:
            _drive(runtime, traffic, status, options, started, None)
    except KeyboardInterrupt:
        pass
    finally:
        sdk.flush()
    complete = _wait_stored(runtime, status.stored_before + status.sent, timeout_s=15.0)
    # Close the open review windows now so the summary shows the random sample too.
    runtime.pipeline.flush_review()
    _refresh(runtime, status, started, announce=not live)
    print("\n".join(summary(status, sum(runtime.store.dead_letter_counts().values()))))
    sdk.shutdown()
    runtime.close()
    if not complete:
        print(
            f"watchkeeper demo: only {status.stored} of {status.sent} calls were stored; "
            f"see SDK stats: {sdk.stats()}",
            file=sys.stderr,
        )
        return 1
    return 0


def _login_url(runtime: Runtime) -> str:
    """Zero setup: the overview's login link carrying the local admin token (in the URL
    fragment, which browsers never send to the server); empty without a token file."""
    from watchkeeper.collector.review.tokens import read_token_file

    admin = runtime.admin
    if admin is None or admin.file is None:
        return ""
    token = admin.token or read_token_file(admin.file)
    return f"{runtime.server.url}/login#token={token}" if token else ""


def _drive(  # noqa: PLR0917 - the demo's loop and the five things it moves
    runtime: Runtime,
    traffic: DemoTraffic,
    status: DemoStatus,
    options: DemoOptions,
    started: float,
    redraw: Callable[[], None] | None,
) -> None:
    interval = 1.0 / options.rate
    next_call = started
    next_refresh = started
    next_line = started + 5.0
    while options.duration_s is None or time.monotonic() - started < options.duration_s:
        request = traffic.next()
        status.phase = request.phase
        try:
            app.answer(
                request.question,
                user_id=request.user_id,
                fail=request.fail,
                delay_s=request.delay_s,
            )
        except app.UpstreamTimeoutError:
            status.errors_raised += 1
        status.sent += 1
        now = time.monotonic()
        if now >= next_refresh:
            _refresh(runtime, status, started, announce=redraw is None)
            if redraw is not None:
                redraw()
            next_refresh = now + 0.5
        if redraw is None and now >= next_line:
            print(status.line(), file=sys.stderr, flush=True)
            next_line = now + 5.0
        next_call += interval
        time.sleep(max(0.0, next_call - time.monotonic()))


def _refresh(runtime: Runtime, status: DemoStatus, started: float, *, announce: bool) -> None:
    """Counts, new alarms (printed as they fire when ``announce``) and queue depths."""
    store = runtime.store
    now = time.monotonic()
    previous, previous_at = status.stored, status.elapsed_s
    status.elapsed_s = now - started
    status.stored = store.count_calls() - status.stored_before
    span = status.elapsed_s - previous_at
    if span > 0:
        status.calls_per_s = max(0.0, (status.stored - previous) / span)
    known = {a.url for a in status.alarms} | status.earlier_alarms
    for row in store.alarms():
        detector, key = str(row["Detector"]), str(row["DetectorKey"])
        url = _alarm_url(status, row)
        if url in known:
            continue
        alarm = AlarmSeen(
            status.elapsed_s, detector, key, reason_in_words(str(row["Message"]), key), url
        )
        status.alarms.append(alarm)
        if announce:
            print(alarm.line(), file=sys.stderr, flush=True)
    status.queues = {"alarms": 0, "errors": 0, "random": 0} | store.queue_depths()


def _alarm_url(status: DemoStatus, row: Mapping[str, Any]) -> str:
    """The page of a stored alarm (which also names it: detector and span)."""
    return f"{status.url}/ui/alarms/{alarm_id(str(row['Detector']), str(row['SpanId']))}"


def _wait_stored(runtime: Runtime, expected: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if runtime.store.count_calls() >= expected:
            return True
        time.sleep(0.1)
    return runtime.store.count_calls() >= expected
