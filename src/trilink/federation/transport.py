"""How batches move between nodes: one interface, several ways to carry them.

A ``Transport`` belongs to one node and reaches its partners. It only carries bytes: the
node decides what goes into a batch (its outbox, after policy) and what to do with one that
arrives (verify, store, audit). Like httpx's ``BaseTransport``, implementations are chosen at
construction and the replicator never knows which one it has:

- ``HttpsTransport`` (federation.https): HTTPS with mutual TLS between real node processes;
- ``MemoryTransport`` (federation.memory): nodes in one process, for fast tests;
- ``NatsTransport`` (federation.jetstream): through a NATS JetStream server, where batches
  wait durably for a partner that is away; it also takes partners' batches (``serve``).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trilink.errors import FederationError

if TYPE_CHECKING:
    from trilink.node.service import NodeService


class TransportError(FederationError):
    """The partner could not be reached, or answered with an error."""


@dataclass(frozen=True)
class PushReply:
    """The receiver's answer to a pushed batch: its cursor for us, and what it did."""

    cursor: int
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    gap: bool = False
    resync: bool = False
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, partner: str, data: Any) -> PushReply:
        try:
            return cls(
                cursor=int(data["cursor"]),
                accepted=int(data.get("accepted", 0)),
                duplicates=int(data.get("duplicates", 0)),
                rejected=int(data.get("rejected", 0)),
                gap=bool(data.get("gap", False)),
                resync=bool(data.get("resync", False)),
                reasons=[str(r) for r in data.get("reasons", [])][:20],
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise TransportError(f"{partner} answered a push with no valid cursor") from None


class Transport(abc.ABC):
    """Carries this node's batches to its partners and fetches their feeds."""

    @abc.abstractmethod
    async def send_batch(self, partner: str, body: bytes) -> PushReply:
        """Deliver a wire batch to ``partner``; its answer. ``TransportError`` if it could
        not be delivered or was refused as a whole."""

    @abc.abstractmethod
    async def fetch_feed(self, partner: str, after: int, limit: int) -> bytes:
        """The wire batch ``partner`` queued for us after its sequence number ``after``."""

    @abc.abstractmethod
    async def fetch_returns(self, partner: str, after_origin_seq: int, limit: int) -> bytes:
        """Our own reports that ``partner`` holds above ``after_origin_seq`` (a batch)."""

    @abc.abstractmethod
    async def fetch_witnessed(self, partner: str) -> bytes:
        """The newest signed head of our audit log that ``partner`` holds (its
        ``WitnessAnswer``, ``trilink.node.anchors``)."""

    def serve(  # noqa: B027 - optional hook
        self, service: NodeService, pushed_by: Callable[[str], None] | None = None
    ) -> None:
        """Start receiving partners' batches for ``service`` through this transport, when it
        carries them itself (HTTPS receives in the node's partner endpoint instead); called
        in the running event loop, stopped by ``aclose``."""

    def describe(self, partner: str) -> dict[str, Any]:
        """What the transport knows about the link to ``partner``, for the node's status."""
        return {}

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
