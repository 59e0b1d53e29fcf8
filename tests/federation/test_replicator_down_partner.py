"""A partner that is down is retried on the backoff, not on every publish."""

from __future__ import annotations

import asyncio
from typing import Any

from trilink.federation.https import HttpsTransport
from trilink.federation.replicator import Replicator

SHARED = "SECRET//REL TO USA, JPN, KOR"


def test_publishing_does_not_retry_a_partner_that_is_down_each_time(network: Any) -> None:
    """JPN's partners are not running (nothing listens on their ports). Woken by each of 30
    publishes in 1.5 s, the push loop used to build a batch for each partner every time; it
    now waits out its backoff (0.25, 0.5, 1 s ...) whatever is published."""
    jpn = network["JPN"]
    built: list[str] = []
    build = jpn.outbox_batch

    def counted(partner: str, after: int, limit: int = 1000) -> tuple[bytes, int]:
        built.append(partner)
        return build(partner, after, limit)

    jpn.outbox_batch = counted  # type: ignore[method-assign]

    async def scenario() -> None:
        replicator = Replicator(jpn, HttpsTransport(jpn.config, jpn.keys.anchors))
        replicator.start()
        try:
            for i in range(30):
                jpn.publish_many("note", SHARED, [{"title": f"while USA is down {i}"}])
                await asyncio.sleep(0.05)
            assert replicator.links["USA"].state == "down"
        finally:
            attempts = {p: built.count(p) for p in ("USA", "KOR")}
            for task in replicator._tasks:
                task.cancel()
            await asyncio.gather(*replicator._tasks, return_exceptions=True)
            await replicator.transport.aclose()
        assert all(1 <= n <= 6 for n in attempts.values()), attempts

    asyncio.run(scenario())
    assert jpn.store.outbox_head("USA") == 30  # all of it waits in the outbox
