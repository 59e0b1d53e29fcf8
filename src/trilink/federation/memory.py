"""``MemoryTransport``: nodes of one process reaching each other directly, for fast tests.

A ``MemoryNetwork`` holds the nodes by nation; each node's ``MemoryTransport`` hands a pushed
batch to the receiving node's ``receive_push`` (in a worker thread, as the HTTPS server does)
and reads a partner's feed from its outbox. A nation marked down answers nothing, so tests can
cut links exactly as a dead process or a broken cable would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from trilink.federation.replicator import Replicator
from trilink.federation.transport import PushReply, Transport, TransportError
from trilink.node.ingest import BatchRefused, IngestResult
from trilink.node.service import NodeService

T = TypeVar("T")


class MemoryNetwork:
    """The nodes one process runs, by nation, and which of them are unreachable."""

    def __init__(self, nodes: Iterable[NodeService] = ()):
        self.nodes: dict[str, NodeService] = {}
        self.down: set[str] = set()
        self._replicators: dict[str, Replicator] = {}
        for node in nodes:
            self.add(node)

    def add(self, node: NodeService) -> None:
        self.nodes[node.nation] = node

    def reach(self, nation: str) -> NodeService:
        node = self.nodes.get(nation)
        if node is None or nation in self.down:
            raise TransportError(f"{nation} unreachable (in-memory network: node is down)")
        return node

    def transport(self, nation: str) -> MemoryTransport:
        return MemoryTransport(self, nation)

    def replicator(self, nation: str) -> Replicator:
        """The replicator of ``nation``'s node over this network (one per node)."""
        found = self._replicators.get(nation)
        if found is None:
            found = self._replicators[nation] = Replicator(
                self.nodes[nation], self.transport(nation)
            )
        return found

    def deliver(self, src: str, dst: str) -> IngestResult:
        """``dst`` pulls everything ``src`` queued for it beyond its cursor, now."""
        return _run(self.replicator(dst).pull_once(src))

    def push(self, src: str, dst: str) -> int:
        """``src`` pushes everything ``dst`` has not acknowledged, now; how many it took."""
        return _run(self.replicator(src).push_once(dst))

    def reclaim(self, nation: str, holder: str) -> int:
        """``nation`` learns back its own reports that ``holder`` holds, now."""
        return _run(self.replicator(nation).reclaim_once(holder))

    def deliver_all(self) -> int:
        """Every node pulls from every other node once; how many reports were stored."""
        stored = 0
        for dst in self.nodes:
            for src in self.nodes:
                if src != dst and src in self.nodes[dst].config.policy.partners:
                    stored += self.deliver(src, dst).accepted
        return stored


def _run(job: Coroutine[Any, Any, T]) -> T:
    """Run ``job`` to completion from synchronous code, even if this thread already runs an
    event loop (a test driving a browser, say): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(job)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, job).result()


class MemoryTransport(Transport):
    def __init__(self, network: MemoryNetwork, nation: str):
        self.network = network
        self.nation = nation

    async def send_batch(self, partner: str, body: bytes) -> PushReply:
        receiver = self.network.reach(partner)
        if self.nation in self.network.down:
            raise TransportError(f"{self.nation} is down: it sends nothing")
        try:
            result = await asyncio.to_thread(receiver.receive_push, self.nation, body)
        except BatchRefused as err:
            raise TransportError(f"{partner} answered {err.status}: {err}") from None
        return PushReply.from_json(partner, result.as_dict())

    async def fetch_feed(self, partner: str, after: int, limit: int) -> bytes:
        sender = self.network.reach(partner)
        body, _ = await asyncio.to_thread(sender.outbox_batch, self.nation, after, limit)
        return body

    async def fetch_returns(self, partner: str, after_origin_seq: int, limit: int) -> bytes:
        holder = self.network.reach(partner)
        return await asyncio.to_thread(holder.returns_for, self.nation, after_origin_seq, limit)

    async def fetch_witnessed(self, partner: str) -> bytes:
        witness = self.network.reach(partner)
        return await asyncio.to_thread(witness.ingestor.anchors.witness_answer, self.nation)
