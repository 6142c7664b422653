"""The collector's settings: one validated model, one section per component.

Users write flat keys in the ``[watchkeeper]`` table of a TOML file and as ``WATCHKEEPER_*``
environment variables (``kafka_group``, ``review_lease_s``; the reference is
docs/configuration.md); code reads the section of its component::

    settings.http          host, port, max_inflight_bytes        (watchkeeper.ingest)
    settings.kafka         bootstrap, topic, group, ...          (kafka.py)
    settings.sidecar       spool_dir, spool_max_bytes, ...       (watchkeeper.ingest)
    settings.storage       store, data_dir, clickhouse_url, ...  (storage.py)
    settings.pipeline      body sampling, detector state         (pipeline.py)
    settings.review        queues, rubric, sample, leases, token (review.py)
    settings.traces        trace sample rate, spans per trace    (traces.py)
    settings.judge         LLM judges beside the pipeline        (judge.py)
    settings.alerting      false-page budget, burn windows, SLOs (alerting.py)
    settings.experiment    release-gate tolerances               (experiments/, redteam/)
    settings.coverage      evalsets production is compared with  (coverage/)

A leaf: the sections import nothing of the components they configure, so every module may
import them. Checked once at start (:func:`load_settings`); a bad key or value stops the
command with one line that names it.

>>> settings = load_settings(environ={"WATCHKEEPER_KAFKA_GROUP": "g"})
>>> settings.kafka.group, settings.storage.ttl_days
('g', 30)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import Field

from watchkeeper.collector.settings.alerting import AlertingSettings
from watchkeeper.collector.settings.coverage import CoverageSettings
from watchkeeper.collector.settings.experiment import ExperimentSettings
from watchkeeper.collector.settings.judge import JudgeSettings
from watchkeeper.collector.settings.kafka import ConsumerKafkaSettings
from watchkeeper.collector.settings.pipeline import PipelineSettings
from watchkeeper.collector.settings.review import ReviewSettings
from watchkeeper.collector.settings.storage import StorageSettings
from watchkeeper.collector.settings.traces import TraceSettings
from watchkeeper.ingest import settings as ingest_settings
from watchkeeper.ingest.settings import (
    ConfigError,
    HttpSettings,
    IngestSettings,
    SidecarSettings,
)

__all__ = [
    "AlertingSettings",
    "ConfigError",
    "ConsumerKafkaSettings",
    "CoverageSettings",
    "ExperimentSettings",
    "HttpSettings",
    "JudgeSettings",
    "PipelineSettings",
    "ReviewSettings",
    "Settings",
    "SidecarSettings",
    "StorageSettings",
    "TraceSettings",
    "load_settings",
]


class Settings(IngestSettings):
    """Everything the collector, ``watchkeeper up`` and ``watchkeeper demo`` can be told.

    The flat keys read as attributes too (``settings.kafka_group`` is
    ``settings.kafka.group``), and :meth:`model_copy` takes them in ``update``.
    """

    kafka: ConsumerKafkaSettings = Field(default_factory=ConsumerKafkaSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    traces: TraceSettings = Field(default_factory=TraceSettings)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    experiment: ExperimentSettings = Field(default_factory=ExperimentSettings)
    coverage: CoverageSettings = Field(default_factory=CoverageSettings)

    def __getattr__(self, name: str) -> Any:
        where = type(self).flat_keys().get(name)
        if where is None:
            return super().__getattr__(name)  # type: ignore[misc]
        section, field = where
        return getattr(getattr(self, section), field)

    @property
    def model_fields_set(self) -> set[str]:
        """The sections and the flat keys given explicitly (not left at their default)."""
        given = set(super().model_fields_set)
        for name in type(self).model_fields:
            section = getattr(self, name)
            fields = type(section).model_fields
            given.update(fields[field].alias or field for field in section.model_fields_set)
        return given

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied, validated; its keys are flat keys or sections."""
        copy = super().model_copy(deep=True)
        keys = type(self).flat_keys()
        for key, value in (update or {}).items():
            if key in keys:
                section, field = keys[key]
                setattr(getattr(copy, section), field, value)
            else:
                setattr(copy, key, value)
        return copy


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Defaults < config file < environment < explicit overrides (command-line flags)."""
    return ingest_settings.load_settings(Settings, config_file, overrides, environ)
