"""A ClickHouse server through clickhouse-connect (HTTP), for production deployments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from watchkeeper.collector.store.backend import StoreError

if TYPE_CHECKING:
    import pyarrow as pa


class ClickHouseServerBackend:
    """The same SQL as chDB, sent to a ClickHouse server given by a URL.

    ``url`` is a clickhouse-connect DSN such as ``http://user:pass@host:8123/``. Parameters
    are bound server-side (``{name:Type}``), exactly as on chDB.
    """

    def __init__(self, url: str) -> None:
        import clickhouse_connect

        try:
            self._client = clickhouse_connect.get_client(dsn=url)
        except Exception as exc:
            raise StoreError(
                f"cannot reach ClickHouse at {_redact(url)}: {exc}; check clickhouse_url"
            ) from exc

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns no rows."""
        try:
            self._client.command(sql, parameters=dict(params) if params else None)
        except Exception as exc:
            raise StoreError(f"ClickHouse: {exc}") from exc

    def select(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a query; rows as dicts."""
        try:
            result = self._client.query(sql, parameters=dict(params) if params else None)
        except Exception as exc:
            raise StoreError(f"ClickHouse: {exc}") from exc
        return list(result.named_results())

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows as one JSONEachRow block."""
        if not rows:
            return
        body = b"\n".join(map(orjson.dumps, rows))
        try:
            self._client.raw_insert(table, insert_block=body, fmt="JSONEachRow")
        except Exception as exc:
            raise StoreError(f"ClickHouse insert into {table}: {exc}") from exc

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        """Insert an Arrow table's rows (sent in Arrow's IPC format, columns by name)."""
        if data.num_rows == 0:
            return
        try:
            self._client.insert_arrow(table, data)
        except Exception as exc:
            raise StoreError(f"ClickHouse insert into {table}: {exc}") from exc

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
