"""Storage: one SQL source (migrations + queries) over chDB or a ClickHouse server."""

from watchkeeper.collector.store.backend import Backend, StoreError
from watchkeeper.collector.store.store import Store, open_store

__all__ = ["Backend", "Store", "StoreError", "open_store"]
