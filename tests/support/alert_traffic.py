"""Demo traffic with a planted drift, sent to a running watchkeeper over OTLP/HTTP.

Stable questions for ``--stable-s``, then questions with pasted logs (inputs ten times
longer: the input drift detectors' change) for ``--drift-s``, then stable ones again for
``--after-s``. Prints one JSON line when the drift starts (``{"drift_start": <epoch s>}``,
the first drifted call's start) and one when it ends. Runs in its own process, so the
SDK's global state stays out of the caller::

    python -m tests.support.alert_traffic --endpoint http://127.0.0.1:4318/v1/traces
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

from watchkeeper import sdk
from watchkeeper.collector.demo import app
from watchkeeper.collector.demo.traffic import DemoTraffic


def main() -> None:
    """Send the three phases at ``--rate`` calls per second."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--stable-s", type=float, default=30.0)
    parser.add_argument("--drift-s", type=float, default=20.0)
    parser.add_argument("--after-s", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sdk.configure(
        exporter="otlp", endpoint=args.endpoint, service_name="lumen-support-bot",
        schedule_delay_s=0.2,
    )  # fmt: skip
    stable = DemoTraffic(seed=args.seed, drift_after=10**12)
    drifted = DemoTraffic(seed=args.seed + 1, drift_after=0)
    phases = ((stable, args.stable_s, "drift_start"), (drifted, args.drift_s, "drift_end"))
    for traffic, seconds, then in (*phases, (stable, args.after_s, "")):
        _send(traffic, seconds, args.rate)
        if then:
            print(json.dumps({then: time.time()}), flush=True)
    sdk.shutdown()


def _send(traffic: DemoTraffic, seconds: float, rate: float) -> None:
    started = time.monotonic()
    next_call = started
    while time.monotonic() - started < seconds:
        request = traffic.next()
        with contextlib.suppress(app.UpstreamTimeoutError):
            app.answer(
                request.question,
                user_id=request.user_id,
                fail=request.fail,
                delay_s=request.delay_s,
            )
        next_call += 1.0 / rate
        time.sleep(max(0.0, next_call - time.monotonic()))


if __name__ == "__main__":
    main()
