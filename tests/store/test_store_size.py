"""``Store.size_bytes`` (the node's ``trilink_store_size_bytes`` metric) on both engines: above
zero for a new store and growing with what it holds."""

from __future__ import annotations

import os

from trilink.store import Store
from trilink.store.audit import AuditEntry


def test_size_grows_with_content(store: Store) -> None:
    empty = store.size_bytes()
    assert empty > 0
    with store.transaction():
        store.audit(
            [
                AuditEntry(event="test", outcome="ok", reason=os.urandom(1000).hex())
                for _ in range(2000)
            ]
        )
    if hasattr(store, "path"):  # SQLite: what the write-ahead log holds counts too
        store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert store.size_bytes() > empty + 1_000_000
