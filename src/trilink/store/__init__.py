"""The node's store (ARCHITECTURE §5): SQLite by default, PostgreSQL in production."""

from trilink.store.base import OutboxItem, Store, StoredReport, open_store

__all__ = ["OutboxItem", "Store", "StoredReport", "open_store"]
