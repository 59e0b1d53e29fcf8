"""One nation's node, minus the network: its config, store, keys and policy, and the paths
through them (ARCHITECTURE §1), each in its own module:

- ``publish``: payloads -> envelopes -> one batch signature -> store -> decide() per partner
  -> audit rows + outbox rows, in one transaction;
- ``ingest``: a partner's batch -> verified items stored or refused, every outcome audited;
- ``feed``: the batches this node serves each partner, and its replication status;
- ``keys``: its signing key and the partner keys it trusts.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from trilink.model.label import Label, parse_label
from trilink.model.report import Report
from trilink.model.wire import WireBatch
from trilink.node.config import NodeConfig, load_node_config
from trilink.node.feed import Feed
from trilink.node.ingest import BatchRefused, Ingestor, IngestResult
from trilink.node.keys import KeyRing
from trilink.node.publish import Item, Publisher
from trilink.provenance.signing import Signer, Verifier
from trilink.store import Store, open_store


@dataclass
class Counters:
    """What the node did since it started, for its metrics: reports it published (stored
    with itself as origin), and per partner the reports taken in, duplicates and refusals."""

    published: int = 0
    publish_refused: int = 0
    ingested: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    ingest_refused: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_ingest(self, sender: str, result: IngestResult) -> None:
        with self.lock:
            self.ingested[sender] += result.accepted
            self.duplicates[sender] += result.duplicates
            self.ingest_refused[sender] += result.rejected


_LABEL_MEMO = 4096


class NodeService:
    """One nation's node. Thread-safe: one writer at a time."""

    def __init__(self, config: NodeConfig, store: Store | None = None):
        self.config = config
        self.nation = config.nation
        self.store = store or open_store(config.db_url)
        self._lock = threading.RLock()
        self.listeners: list[Callable[[Sequence[Report]], None]] = []
        self.counters = Counters()
        self._labels: dict[str, Label] = {}
        self.keys = KeyRing(config, self.store)
        self.publisher = Publisher(
            config, self.store, self.keys, self._lock, self.parse_label, self._notify
        )
        self.ingestor = Ingestor(config, self.store, self.keys, self._lock, self._notify)
        self.feed = Feed(config, self.store, self.keys, self._lock, self.ingestor.anchors)
        self.ingestor.mark_reclaim_watermarks()

    @classmethod
    def open_local(cls, root: Path, nation: str, *, db_url: str | None = None) -> NodeService:
        """The node of ``nation`` in a local network directory made by ``trilink net up``."""
        config = load_node_config(root / nation.upper() / "node.toml")
        if db_url is not None:
            config = replace(config, db_url=db_url)
        return cls(config)

    def __enter__(self) -> NodeService:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    def parse_label(self, text: str) -> Label:
        """``text`` as this node reads labels (its nations and marking words). These are
        fixed for the node's life and a node sees few distinct labels, so each text is parsed
        once; the memo is bounded because the texts come from callers."""
        label = self._labels.get(text)
        if label is None:
            label = parse_label(
                text, nations=self.config.policy.nations, markings=self.config.markings
            )
            if len(self._labels) >= _LABEL_MEMO:
                self._labels.clear()
            self._labels[text] = label
        return label

    def _notify(self, reports: Sequence[Report]) -> None:
        own = sum(1 for r in reports if r.envelope.origin == self.nation)
        if own:
            with self.counters.lock:
                self.counters.published += own
        for listener in list(self.listeners):
            listener(reports)

    @property
    def verifier(self) -> Verifier:
        return self.keys.verifier

    @property
    def signer(self) -> Signer:
        return self.keys.signer

    def own_certs(self) -> list[str]:
        return self.keys.own_certs()

    # -- publish --------------------------------------------------------------------------
    def publish(
        self,
        kind: str,
        label: Label | str,
        payload: dict[str, Any],
        *,
        derived_from: list[str] | None = None,
        actor: str = "",
    ) -> Report:
        return self.publisher.publish_many(
            kind, label, [payload], derived_from=[derived_from or []], actor=actor
        )[0]

    def publish_many(
        self,
        kind: str,
        label: Label | str,
        payloads: Sequence[dict[str, Any]],
        *,
        derived_from: Sequence[list[str]] | None = None,
        actor: str = "",
    ) -> list[Report]:
        return self.publisher.publish_many(
            kind, label, payloads, derived_from=derived_from, actor=actor
        )

    def publish_items(self, items: Sequence[Item], *, actor: str = "") -> list[Report]:
        return self.publisher.publish_items(items, actor=actor)

    def edit(
        self,
        report_id: str,
        payload: dict[str, Any],
        *,
        label: Label | str | None = None,
        actor: str = "",
    ) -> Report:
        return self.publisher.edit(report_id, payload, label=label, actor=actor)

    def delete(self, report_id: str, reason: str = "", *, actor: str = "") -> Report:
        return self.publisher.delete(report_id, reason, actor=actor)

    # -- partners -------------------------------------------------------------------------
    def outbox_batch(self, partner: str, after: int, limit: int = 1000) -> tuple[bytes, int]:
        return self.feed.batch(partner, after, limit)

    def serve_pull(self, partner: str, after: int, limit: int = 1000) -> bytes:
        """What ``partner`` pulls from us (after an outage, or a periodic check)."""
        return self.feed.serve_pull(partner, after, limit)

    def ingest(self, sender: str, batch: WireBatch) -> IngestResult:
        result = self.ingestor.ingest(sender, batch)
        self.counters.count_ingest(sender, result)
        return result

    def receive_push(self, sender: str, body: bytes) -> IngestResult:
        result = self.ingestor.receive_push(sender, body)
        self.counters.count_ingest(sender, result)
        return result

    def returns_for(self, requester: str, after_origin_seq: int, limit: int = 1000) -> bytes:
        return self.feed.returns(requester, after_origin_seq, limit)

    def reclaim(self, holder: str, batch: WireBatch) -> int:
        return self.ingestor.reclaim(holder, batch, self.publisher.release_again)

    def status(self) -> dict[str, Any]:
        return self.feed.status()


__all__ = ["BatchRefused", "IngestResult", "Item", "NodeService"]
