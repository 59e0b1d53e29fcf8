"""``HttpsTransport`` against a real node process: what the partner endpoints serve is read
over mutual TLS, and only from the nation the transport meant to reach."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from trilink.federation import localnet
from trilink.federation.https import HttpsTransport
from trilink.federation.transport import TransportError
from trilink.model.wire import decode_batch
from trilink.node.service import NodeService

pytestmark = pytest.mark.slow

SHARED = "SECRET//REL TO USA, JPN, KOR"


def _read_as_jpn(root: Path, partner: str, at_url_of: str | None = None) -> bytes:
    """Fetch ``partner``'s feed for JPN with JPN's own keys (JPN's node stopped first: one
    nation's keys in this process, never two), from ``at_url_of``'s address if given."""
    localnet.stop_node(root, "JPN")
    with NodeService.open_local(root, "JPN") as jpn:
        transport = HttpsTransport(jpn.config, jpn.keys.anchors)
        if at_url_of is not None:
            transport.urls[partner] = jpn.config.partner_urls[at_url_of]

        async def read() -> bytes:
            try:
                return await transport.fetch_feed(partner, 0, 1000)
            finally:
                await transport.aclose()

        return asyncio.run(read())


def test_a_partner_feed_is_read_over_mutual_tls(https_net: Path) -> None:
    with localnet.client_for(https_net, "USA") as client:
        client.publish_payloads("note", SHARED, [{"title": f"note {i}"} for i in range(40)])
    batch = decode_batch(_read_as_jpn(https_net, "USA"))
    assert batch.sender == "USA"
    assert len(batch.items) == 40
    assert batch.head == 40


def test_a_feed_from_the_wrong_nation_is_refused(https_net: Path) -> None:
    # KOR's endpoint where USA's should be: its certificate is not from USA's CA
    with pytest.raises(TransportError, match="USA"):
        _read_as_jpn(https_net, "USA", at_url_of="KOR")
