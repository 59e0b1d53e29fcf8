"""What a node serves a partner: the wire batch of the outbox it queued for that partner."""

from __future__ import annotations

import threading

from trilink.errors import ConfigError
from trilink.model.wire import encode_batch
from trilink.node.config import NodeConfig
from trilink.node.keys import KeyRing
from trilink.store import Store


class Feed:
    def __init__(self, config: NodeConfig, store: Store, keys: KeyRing, lock: threading.RLock):
        self.config = config
        self.store = store
        self.keys = keys
        self._lock = lock

    def batch(self, partner: str, after: int, limit: int = 1000) -> tuple[bytes, int]:
        """The wire batch of what ``partner`` has not yet acknowledged after ``after``;
        returns (body, number of items)."""
        if partner not in self.config.policy.partners:
            raise ConfigError(f"{partner} is not a configured partner of {self.config.nation}")
        with self._lock:
            items = self.store.outbox_after(partner, after, limit)
            head = self.store.outbox_head(partner)
        body = encode_batch(
            self.config.nation,
            head,
            self.keys.own_certs(),
            [(i.pseq, i.envelope, i.signature) for i in items],
        )
        return body, len(items)

    def status(self) -> dict[str, object]:
        """Queues and cursors per partner (replication lag as this node's store sees it)."""
        partners = {}
        for partner in sorted(self.config.policy.partners):
            inbound, acked = self.store.cursor(partner)
            head = self.store.outbox_head(partner)
            partners[partner] = {
                "outbox_head": head,
                "acked": acked,
                "queued": head - acked,
                "inbound_cursor": inbound,
            }
        return {
            "nation": self.config.nation,
            "reports": self.store.report_count(),
            "partners": partners,
        }
