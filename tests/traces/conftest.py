"""Fixtures of the trace tests: Chromium (from the e2e tests) and an app over traces."""

from __future__ import annotations

from tests.e2e.conftest import browser
from tests.traces.traced_app import traced_app

__all__ = ["browser", "traced_app"]
