"""The three operations the store needs from ClickHouse, whichever way it is reached."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


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

    def insert_rows(
        self, table: str, rows: Sequence[Mapping[str, Any]], *, same_keys: bool = False
    ) -> None:
        """Insert rows (column name -> value) into ``table``; returns once stored.

        ``same_keys``: every row has the first row's keys in its order (one function built
        them), which lets a backend send values only without comparing keys row by row.
        """

    def close(self) -> None:
        """Release the engine."""
