"""The three operations the store needs from ClickHouse, whichever way it is reached."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa


class StoreError(RuntimeError):
    """ClickHouse refused or failed an operation; the message says which and why."""


class Backend(Protocol):
    """A ClickHouse engine: embedded (chDB) or a server (clickhouse-connect).

    Parameters use ClickHouse's own ``{name:Type}`` placeholders on both backends, so user
    text is always bound by the engine and never spliced into SQL.
    """

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns no rows (DDL, ALTER ...)."""

    def select(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts."""

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows (column name -> value) into ``table``; returns once stored."""

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        """Insert an Arrow table's rows into ``table`` (columns matched by name; ClickHouse
        converts each Arrow type to its column's); returns once stored."""

    def close(self) -> None:
        """Release the engine."""
