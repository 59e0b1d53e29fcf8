"""The report: the unit of sharing (ARCHITECTURE §2).

An ``Envelope`` is everything that is signed. Its canonical bytes (RFC 8785) are computed once,
by the origin, and travel and rest unchanged, so any holder can re-verify the signature at any
time. ``Report`` pairs the envelope with its ``Signature``: a batch signature over a Merkle root
plus this report's inclusion proof (see ``trilink.provenance.merkle``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from trilink.errors import LabelError, PayloadError, ReportError
from trilink.model.canonical import canonical_json, sha256_hex
from trilink.model.ids import excerpt, is_utc_timestamp, is_uuid7, utc_timestamp, uuid7
from trilink.model.kinds import (
    MAX_PAYLOAD_BYTES,
    TOMBSTONE,
    schema_for,
    validate_payload,
    validate_payload_json,
)
from trilink.model.label import PARTNER_NATIONS, Label, format_label, parse_label

MAX_SEQ = 2**53  # exact in JSON (I-JSON) and in a BIGINT column
MAX_VERSION = 2**31  # fits the INTEGER version columns of both store engines
# Registered kinds are a few words; a longer one is refused before it is looked up, logged
# or audited (a partner once sent an 8 MiB kind).
MAX_KIND_CHARS = 64
# A fused product names tens of inputs; every one is looked up when it is published.
MAX_DERIVED_FROM = 1000


class Envelope(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    origin: str
    origin_seq: int
    version: int
    kind: str
    label: str
    created: str
    payload: msgspec.Raw
    derived_from: list[str] = []
    payload_sha256: str

    @property
    def is_tombstone(self) -> bool:
        return self.kind == TOMBSTONE

    def payload_obj(self) -> dict[str, Any]:
        value: dict[str, Any] = msgspec.json.decode(self.payload)
        return value

    def parsed_label(self, nations: frozenset[str] = PARTNER_NATIONS) -> Label:
        return parse_label(self.label, nations=nations)


class Signature(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Ed25519 over a batch's Merkle root, plus this report's RFC 9162 inclusion proof."""

    alg: str
    key_id: str
    root: str
    size: int
    index: int
    proof: list[str]
    sig: str


class Report(msgspec.Struct, frozen=True, kw_only=True):
    envelope: Envelope
    signature: Signature
    signed: bytes  # canonical bytes of the envelope: exactly what the Merkle leaf hashes

    @property
    def key(self) -> tuple[str, str, int]:
        e = self.envelope
        return (e.origin, e.id, e.version)

    def to_json_obj(self) -> dict[str, Any]:
        """The envelope as §2 shows it: every field plus ``signature``."""
        obj: dict[str, Any] = msgspec.json.decode(self.signed)
        obj["signature"] = msgspec.to_builtins(self.signature)
        return obj


_enc = msgspec.json.encode


def envelope_bytes(env: Envelope) -> bytes:
    """RFC 8785 bytes of ``env``. Keys in sorted order; the fields other than ``payload`` are
    ASCII strings and safe integers, for which msgspec's output is already canonical."""
    return b"".join(
        (
            b'{"created":',
            _enc(env.created),
            b',"derived_from":',
            _enc(env.derived_from),
            b',"id":',
            _enc(env.id),
            b',"kind":',
            _enc(env.kind),
            b',"label":',
            _enc(env.label),
            b',"origin":',
            _enc(env.origin),
            b',"origin_seq":',
            _enc(env.origin_seq),
            b',"payload":',
            bytes(env.payload),
            b',"payload_sha256":',
            _enc(env.payload_sha256),
            b',"version":',
            _enc(env.version),
            b"}",
        )
    )


def build_envelope(
    *,
    origin: str,
    origin_seq: int,
    kind: str,
    label: Label,
    payload: dict[str, Any] | msgspec.Struct,
    derived_from: list[str] | None = None,
    report_id: str | None = None,
    version: int = 1,
    created: str | None = None,
    payload_validated: bool = False,
) -> Envelope:
    """A new, validated envelope. The payload (decoded JSON, or the kind's typed Struct from
    ``trilink.model.payloads``) is checked against its kind's schema (unless
    ``payload_validated``: the caller has just done so, as the node's publish path does)."""
    _check_kind_length(kind)
    if not payload_validated:
        validate_payload(kind, payload)
    if isinstance(payload, msgspec.Struct):
        payload = msgspec.to_builtins(payload)
    raw = canonical_json(payload)
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError(
            f"payload is {len(raw)} bytes; the limit is {MAX_PAYLOAD_BYTES}", field="payload"
        )
    env = Envelope(
        id=report_id or uuid7(),
        origin=origin,
        origin_seq=origin_seq,
        version=version,
        kind=kind,
        label=format_label(label),
        created=created or utc_timestamp(),
        payload=msgspec.Raw(raw),
        derived_from=list(derived_from or []),
        payload_sha256=sha256_hex(raw),
    )
    check_envelope(env, payload_checked=True)
    return env


def check_envelope(
    env: Envelope, nations: frozenset[str] = PARTNER_NATIONS, *, payload_checked: bool = False
) -> Label:
    """Every structural rule an envelope must meet; returns its parsed label.

    Used by the origin before signing and by every receiver before storing.
    ``payload_checked``: the caller has just validated the payload and computed its hash
    (the origin, in ``build_envelope``), so neither is redone.
    """
    if not is_uuid7(env.id):
        raise ReportError(f"id {excerpt(env.id)} is not a lowercase UUIDv7", field="id")
    if env.origin not in nations:
        raise ReportError(f"origin {excerpt(env.origin)} is not a known nation", field="origin")
    _check_kind_length(env.kind)
    if not 1 <= env.origin_seq < MAX_SEQ:
        raise ReportError(f"origin_seq must be in 1..{MAX_SEQ - 1}", field="origin_seq")
    if not 1 <= env.version < MAX_VERSION:
        raise ReportError(f"version must be in 1..{MAX_VERSION - 1}", field="version")
    if not is_utc_timestamp(env.created):
        raise ReportError(
            f"created {excerpt(env.created)} is not UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ'",
            field="created",
        )
    check_derived_from(env.derived_from)
    try:
        label = parse_label(env.label, nations=nations)
    except LabelError as err:
        raise ReportError(f"label: {err}", field="label") from None
    if format_label(label) != env.label:
        raise ReportError(
            f"label {env.label!r} is not in canonical form ({format_label(label)!r})",
            field="label",
        )
    if payload_checked:
        schema_for(env.kind)
        return label
    raw = bytes(env.payload)
    if sha256_hex(raw) != env.payload_sha256:
        raise ReportError("payload_sha256 does not match the payload", field="payload_sha256")
    validate_payload_json(env.kind, raw)
    return label


def report_json(report: Report) -> dict[str, Any]:
    """One report as a JSON object (``trilink report list --json``, the node API)."""
    env = report.envelope
    return {
        "id": env.id,
        "origin": env.origin,
        "origin_seq": env.origin_seq,
        "version": env.version,
        "kind": env.kind,
        "label": env.label,
        "created": env.created,
        "payload": env.payload_obj(),
        "derived_from": env.derived_from,
        "tombstone": env.is_tombstone,
    }


def _check_kind_length(kind: str) -> None:
    if len(kind) > MAX_KIND_CHARS:
        raise ReportError(
            f"kind {excerpt(kind)} is longer than the {MAX_KIND_CHARS} characters a kind may have",
            field="kind",
        )


def check_derived_from(report_ids: list[str]) -> None:
    """``derived_from``: at most ``MAX_DERIVED_FROM`` UUIDv7 ids, each named once (a report
    listed twice would count twice wherever derivations are followed)."""
    if not report_ids:
        return
    if len(report_ids) > MAX_DERIVED_FROM:
        raise ReportError(
            f"derived_from lists {len(report_ids):,} reports; the limit is {MAX_DERIVED_FROM}",
            field="derived_from",
        )
    seen: set[str] = set()
    for ref in report_ids:
        if not is_uuid7(ref):
            raise ReportError(
                f"derived_from entry {excerpt(ref)} is not a UUIDv7", field="derived_from"
            )
        if ref in seen:
            raise ReportError(
                f"derived_from lists report {ref} twice; name each input once",
                field="derived_from",
            )
        seen.add(ref)


def decode_envelope(raw: bytes) -> Envelope:
    """Decode signed envelope bytes from the wire or the store."""
    try:
        return msgspec.json.decode(raw, type=Envelope)
    except (msgspec.ValidationError, msgspec.DecodeError) as err:
        raise ReportError(f"envelope is malformed: {err}") from None
