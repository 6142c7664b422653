"""Evalset coverage of production (docs/experiments.md#evalset-coverage-of-production):
which evalsets the collector measures live inputs against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from watchkeeper.ingest.settings import Section


class CoverageSettings(Section):
    """Evalsets whose inputs production traffic is compared with; none: no coverage."""

    files: list[Path] = Field(
        default_factory=list,
        alias="evalset_coverage_files",
        description="Evalset JSONL files (their input texts) production inputs are "
        "compared with; loaded at start.",
    )
    threshold: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        alias="evalset_coverage_threshold",
        description="An input at least this novel (1 - similarity to its nearest case) "
        "is not covered.",
    )
    embedding: Literal["words", "minilm"] = Field(
        default="words",
        alias="evalset_coverage_embedding",
        description="words: TF-IDF of content words; minilm: the MiniLM sentence "
        "embedding the detectors ship (about 10 ms of CPU per input).",
    )

    @field_validator("files", mode="before")
    @classmethod
    def _from_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.lstrip().startswith("[") else [value]
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a JSON array: {exc}") from None
        return value
