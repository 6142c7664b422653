"""Evalset coverage in a running collector, when ``evalset_coverage_files`` names evalsets."""

from __future__ import annotations

from watchkeeper.collector.coverage.evalsets import CoverageError, build_index
from watchkeeper.collector.coverage.review_feed import CoverageReviewFeed
from watchkeeper.collector.coverage.watch import CoverageWatch
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.settings import ConfigError
from watchkeeper.collector.settings.coverage import CoverageSettings


def install_coverage(settings: CoverageSettings, pipeline: Pipeline) -> CoverageWatch | None:
    """Load the evalsets (a bad one stops start-up with one line naming the key) and let
    ``watchkeeper_evalset_coverage`` compute at scrape; None when none is configured."""
    if not settings.files:
        return None
    try:
        index = build_index(settings.files, settings.embedding)
    except CoverageError as exc:
        raise ConfigError(f"invalid setting 'evalset_coverage_files': {exc}") from None
    feed = CoverageReviewFeed(pipeline.store, pipeline.router.queues)
    watch = CoverageWatch(pipeline.store, index, settings.threshold, feed)
    pipeline.metrics.coverage.read = watch.read
    return watch
