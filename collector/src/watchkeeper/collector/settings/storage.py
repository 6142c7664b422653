"""The store's section: which backend, where its data lives, how long rows are kept."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from watchkeeper.ingest.settings import Section


class StorageSettings(Section):
    """Where calls, scores and labels are stored."""

    data_dir: Path = Field(
        default=Path(".watchkeeper"), alias="data_dir", description="Where chDB keeps its tables."
    )
    store: Literal["chdb", "clickhouse"] = Field(
        default="chdb",
        alias="store",
        description="chdb (embedded, default) or clickhouse (a server at clickhouse_url).",
    )
    clickhouse_url: str | None = Field(
        default=None,
        alias="clickhouse_url",
        description="clickhouse-connect DSN, e.g. http://user:pass@host:8123/.",
    )
    database: str = Field(
        default="watchkeeper", alias="database", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
    )
    ttl_days: int = Field(
        default=30, ge=1, le=3650, alias="ttl_days", description="Days rows are kept."
    )

    @field_validator("clickhouse_url")
    @classmethod
    def _url_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://", "clickhouse://")):
            raise ValueError("must start with http://, https:// or clickhouse://")
        return value
