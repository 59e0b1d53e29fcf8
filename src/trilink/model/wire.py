"""The batch format nodes exchange (push body, pull response, returns).

Envelopes travel as the exact canonical bytes their origin signed, spliced in without
re-encoding, so what a receiver hashes is byte-for-byte what was signed::

    {"v":2,"sender":"JPN","head":42,"head_chain":"9f…","after":40,"prev":"3c…",
     "certs":["-----BEGIN CERTIFICATE-----..."],"revocations":["{...}"],
     "items":[{"pseq":41,"report":{...envelope...},"signature":{...}}, ...]}

``pseq`` is the sender's per-partner outbox sequence; ``head`` the newest pseq it holds for
this partner (the receiver's lag is ``head - cursor``). ``certs`` are the sender's signing
certificates and ``revocations`` the revocation statements its CA signed
(``trilink.provenance.trust``): both travel with every batch, so they reach every partner.

The outbox for each partner is a hash chain: ``chain(p) = SHA-256(chain(p-1) || p ||
SHA-256(envelope))`` from ``chain(0) = 0…0``. A batch states the chain value ``prev`` at
position ``after`` (just before its first item) and ``head_chain`` at ``head``. A receiver
that recorded the chain value at its cursor sees at once when the sender's history is no
longer the one it received from (a database restored from an older copy, a rewritten
outbox), instead of silently treating new items as duplicates of old ones.

``audit`` (optional) carries signed audit heads (``trilink.node.anchors``): the sender's
newest signed head, its signed heads since the one the receiver holds, the signed head that
began its current epoch (its last restore), and the receiver's own newest head as the
sender witnessed it::

    "audit":{"head":{...},"path":[{...}],"epoch_start":{...}|null,"witnessed":{...}|null}
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Annotated

import msgspec
from msgspec import Meta

from trilink.errors import ReportError
from trilink.model.report import Signature

WIRE_VERSION = 2
MAX_BATCH_BYTES = 32 * 1024 * 1024
MAX_CERTS = 32  # a node has one current signing key and a few archived ones
MAX_REVOCATIONS = 64
GENESIS_CHAIN = "0" * 64


def chain_next(prev: str, pseq: int, envelope_digest: bytes) -> str:
    """The outbox chain value at ``pseq`` given the value before it."""
    return hashlib.sha256(
        bytes.fromhex(prev) + pseq.to_bytes(8, "big") + envelope_digest
    ).hexdigest()


class WireItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pseq: int
    report: msgspec.Raw
    signature: Signature


_Hex64 = Annotated[str, Meta(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")]
_Count = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class RestoreNote(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a signed head that begins an epoch says about the restore that began it: the
    newest audit row of the backup (``seq``, ``hash``) and which backup it was."""

    seq: _Count
    hash: _Hex64
    backup: Annotated[str, Meta(max_length=300)]


class SignedHead(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A node's signed statement "my audit log's row ``seq`` has hash ``hash``", chained to
    its previous one (``prev_seq``, ``prev_hash``). ``epoch`` is 0 until the node is first
    restored from a backup; the head a restore signs carries ``restore``. Signed bytes and
    checks: ``trilink.node.anchors``."""

    nation: Annotated[str, Meta(min_length=1, max_length=8)]
    epoch: _Count
    seq: _Count
    hash: _Hex64
    prev_seq: _Count
    prev_hash: _Hex64
    at: Annotated[str, Meta(max_length=40)]
    key_id: Annotated[str, Meta(max_length=128)]
    restore: RestoreNote | None = None
    sig: Annotated[str, Meta(max_length=128)] = ""


MAX_HEAD_PATH = 256


class AuditHeads(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``head``: the sender's newest signed head; ``path``: its signed heads after the one
    it knows the receiver holds, oldest first (so the receiver can check that the new head
    descends from it); ``epoch_start``: the head that began the sender's current epoch;
    ``witnessed``: the receiver's own newest head as the sender holds it."""

    head: SignedHead
    path: Annotated[list[SignedHead], Meta(max_length=MAX_HEAD_PATH)] = []
    epoch_start: SignedHead | None = None
    witnessed: SignedHead | None = None


class WireBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    v: int
    sender: str
    head: int
    head_chain: str
    after: int
    prev: str
    certs: list[str]
    revocations: list[str]
    items: list[WireItem]
    audit: AuditHeads | None = None


_decoder = msgspec.json.Decoder(WireBatch)
_enc = msgspec.json.encode


def encode_batch(
    sender: str,
    head: tuple[int, str],
    start: tuple[int, str],
    certs: Sequence[str],
    items: Sequence[tuple[int, bytes, str]],
    revocations: Sequence[str] = (),
    audit: bytes = b"",
) -> bytes:
    """``head`` and ``start`` are (pseq, chain value) of the feed's newest item and of the
    position just before the first item; ``items`` are (pseq, signed envelope bytes,
    signature JSON text); ``audit`` the encoded ``AuditHeads`` (empty: none)."""
    parts = [
        b'{"v":2,"sender":',
        _enc(sender),
        b',"head":',
        str(head[0]).encode(),
        b',"head_chain":',
        _enc(head[1]),
        b',"after":',
        str(start[0]).encode(),
        b',"prev":',
        _enc(start[1]),
        b',"certs":',
        _enc(list(certs)),
        b',"revocations":',
        _enc(list(revocations)),
    ]
    if audit:
        parts += [b',"audit":', audit]
    parts.append(b',"items":[')
    parts.append(
        b",".join(
            [
                b'{"pseq":%d,"report":%b,"signature":%b}'
                % (pseq, envelope, signature.encode("ascii"))
                for pseq, envelope, signature in items
            ]
        )
    )
    parts.append(b"]}")
    return b"".join(parts)


def decode_batch(body: bytes) -> WireBatch:
    """A batch, or ``ReportError`` saying why the body is not one (never anything else)."""
    if len(body) > MAX_BATCH_BYTES:
        raise ReportError(f"batch is {len(body)} bytes; the limit is {MAX_BATCH_BYTES}")
    try:
        batch = _decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as err:
        raise ReportError(f"batch is not a valid trilink batch: {err}") from None
    except RecursionError:
        raise ReportError("batch is not a valid trilink batch: JSON nested too deeply") from None
    if batch.v != WIRE_VERSION:
        raise ReportError(f"batch version {batch.v} is not supported (expected {WIRE_VERSION})")
    if len(batch.certs) > MAX_CERTS:
        raise ReportError(f"batch carries {len(batch.certs)} certificates; at most {MAX_CERTS}")
    if len(batch.revocations) > MAX_REVOCATIONS:
        raise ReportError(
            f"batch carries {len(batch.revocations)} revocations; at most {MAX_REVOCATIONS}"
        )
    if not (_is_chain(batch.head_chain) and _is_chain(batch.prev)):
        raise ReportError("batch chain values must be 64 lowercase hex characters")
    if not 0 <= batch.after <= batch.head:
        raise ReportError(f"batch 'after' {batch.after} is outside 0..head ({batch.head})")
    pseqs = [item.pseq for item in batch.items]
    if pseqs != list(range(batch.after + 1, batch.after + 1 + len(pseqs))):
        raise ReportError("batch items must follow 'after' in consecutive pseq order")
    if pseqs and pseqs[-1] > batch.head:
        raise ReportError(f"batch item pseq {pseqs[-1]} is beyond its head {batch.head}")
    return batch


def _is_chain(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
