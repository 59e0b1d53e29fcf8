"""What a node serves a partner: the wire batch of the outbox it queued for that partner,
with the node's signed audit heads (signed here when one is due: ``trilink.node.anchors``)."""

from __future__ import annotations

import hashlib
import threading
import time

import msgspec

from trilink.errors import ConfigError
from trilink.model.wire import GENESIS_CHAIN, chain_next, encode_batch
from trilink.node.anchors import AuditAnchors
from trilink.node.config import NodeConfig
from trilink.node.keys import KeyRing
from trilink.store import Store


class Feed:
    def __init__(
        self,
        config: NodeConfig,
        store: Store,
        keys: KeyRing,
        lock: threading.RLock,
        anchors: AuditAnchors,
    ):
        self.config = config
        self.store = store
        self.keys = keys
        self._lock = lock
        self.anchors = anchors
        # When each partner last pulled a batch that did not reach our head (it is catching
        # up by pulling); monotonic seconds, 0 when its last pull reached the head.
        self._pulling: dict[str, float] = {}

    def serve_pull(self, partner: str, after: int, limit: int) -> bytes:
        """A batch ``partner`` asked for (it catches up after an outage). While it pulls
        batches that stop short of our head, our push to it holds back (see ``pulling``)."""
        body, _count, reaches_head = self._build(partner, after, limit)
        self._pulling[partner] = 0.0 if reaches_head else time.monotonic()
        return body

    def pulling(self, partner: str, within_s: float) -> bool:
        """Whether ``partner`` pulled a batch short of our head in the last ``within_s``
        seconds: pushing the same items meanwhile would only have it check them twice."""
        return time.monotonic() - self._pulling.get(partner, 0.0) < within_s

    def batch(self, partner: str, after: int, limit: int = 1000) -> tuple[bytes, int]:
        """The wire batch of what ``partner`` has not yet acknowledged after ``after``;
        returns (body, number of items)."""
        body, count, _reaches_head = self._build(partner, after, limit)
        return body, count

    def _build(self, partner: str, after: int, limit: int) -> tuple[bytes, int, bool]:
        if partner not in self.config.policy.partners:
            raise ConfigError(f"{partner} is not a configured partner of {self.config.nation}")
        self.keys.refresh()
        self.anchors.checkpoint_if_due()
        with self._lock:
            head = self.store.outbox_head(partner)
            # Asked for more than we ever queued: answer with where our feed ends, so the
            # partner sees that our history is not the one it received (restored database).
            start = min(after, head)
            items = self.store.outbox_after(partner, start, limit)
            head_chain = self.store.outbox_chain_at(partner, head)
            prev = self.store.outbox_chain_at(partner, start)
            audit = self.anchors.heads_for(partner)
        body = encode_batch(
            self.config.nation,
            (head, head_chain),
            (start, prev),
            self.keys.own_certs(),
            [(i.pseq, i.envelope, i.signature) for i in items],
            self.keys.own_revocations(),
            audit,
        )
        reaches_head = (items[-1].pseq if items else start) >= head
        return body, len(items), reaches_head

    def returns(self, requester: str, after_origin_seq: int, limit: int = 1000) -> bytes:
        """``requester``'s own reports that this node holds, above ``after_origin_seq``, as a
        batch: how a partner restored from an older copy learns back what it had published.
        Nothing is released by this: every item was signed by the requester itself."""
        if requester not in self.config.policy.partners:
            raise ConfigError(f"{requester} is not a configured partner of {self.config.nation}")
        with self._lock:
            reports = self.store.reports_of_origin(requester, after_origin_seq, limit)
        chain = GENESIS_CHAIN
        items = []
        for pos, report in enumerate(reports, start=1):
            chain = chain_next(chain, pos, hashlib.sha256(report.signed).digest())
            signature = msgspec.json.encode(report.signature).decode("ascii")
            items.append((pos, report.signed, signature))
        return encode_batch(self.config.nation, (len(items), chain), (0, GENESIS_CHAIN), [], items)

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
                "audit_alarm": self.anchors.alarm_for(partner),
            }
        return {
            "nation": self.config.nation,
            "reports": self.store.report_count(),
            "store_reconnects": self.store.reconnects,
            "partners": partners,
        }
