"""What a hostile or broken JPN node could push to USA: any items, chained correctly from
USA's cursor (a sender computes its own chain), with JPN's real certificates."""

from __future__ import annotations

import hashlib

from tests.conftest import Network
from trilink.model.wire import chain_next, encode_batch
from trilink.node.ingest import IngestResult


def push_from_jpn(
    network: Network,
    items: list[tuple[bytes, str]],
    *,
    revocations: list[str] | None = None,
    audit: bytes = b"",
    certs: list[str] | None = None,
) -> IngestResult:
    """Push ``items`` (signed envelope bytes, signature JSON) from JPN to USA, with
    ``audit`` (an encoded ``AuditHeads``) if given."""
    usa, jpn = network["USA"], network["JPN"]
    cursor, anchor = usa.store.inbound_anchor("JPN")
    chain = anchor
    for i, (raw, _sig) in enumerate(items):
        chain = chain_next(chain, cursor + 1 + i, hashlib.sha256(raw).digest())
    body = encode_batch(
        "JPN",
        (cursor + len(items), chain),
        (cursor, anchor),
        jpn.own_certs() if certs is None else certs,
        [(cursor + 1 + i, raw, sig) for i, (raw, sig) in enumerate(items)],
        revocations or jpn.keys.own_revocations(),
        audit,
    )
    return usa.receive_push("JPN", body)
