"""The batch format nodes exchange (push body and pull response).

Envelopes travel as the exact canonical bytes their origin signed, spliced in without
re-encoding, so what a receiver hashes is byte-for-byte what was signed::

    {"v":1,"sender":"JPN","head":42,"certs":["-----BEGIN CERTIFICATE-----..."],
     "items":[{"pseq":41,"report":{...envelope...},"signature":{...}}, ...]}

``pseq`` is the sender's per-partner outbox sequence; ``head`` the newest pseq it holds for
this partner (the receiver's lag is ``head - cursor``).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from trilink.errors import ReportError
from trilink.model.report import Signature

WIRE_VERSION = 1
MAX_BATCH_BYTES = 32 * 1024 * 1024


class WireItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pseq: int
    report: msgspec.Raw
    signature: Signature


class WireBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    v: int
    sender: str
    head: int
    certs: list[str]
    items: list[WireItem]


_decoder = msgspec.json.Decoder(WireBatch)
_enc = msgspec.json.encode


def encode_batch(
    sender: str, head: int, certs: Sequence[str], items: Sequence[tuple[int, bytes, str]]
) -> bytes:
    """``items`` are (pseq, signed envelope bytes, signature JSON text)."""
    parts = [
        b'{"v":1,"sender":',
        _enc(sender),
        b',"head":',
        str(head).encode(),
        b',"certs":',
        _enc(list(certs)),
        b',"items":[',
    ]
    for i, (pseq, envelope, signature) in enumerate(items):
        if i:
            parts.append(b",")
        parts += [
            b'{"pseq":',
            str(pseq).encode(),
            b',"report":',
            envelope,
            b',"signature":',
            signature.encode("ascii"),
            b"}",
        ]
    parts.append(b"]}")
    return b"".join(parts)


def decode_batch(body: bytes) -> WireBatch:
    try:
        batch = _decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as err:
        raise ReportError(f"batch is not a valid trilink batch: {err}") from None
    if batch.v != WIRE_VERSION:
        raise ReportError(f"batch version {batch.v} is not supported (expected {WIRE_VERSION})")
    return batch
