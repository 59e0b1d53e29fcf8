"""Which report kinds exist and the schema each kind's payload must satisfy."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from trilink.errors import PayloadError, UnknownKindError
from trilink.model.payloads import core, maritime, missile, sanctions

MAX_PAYLOAD_BYTES = 256 * 1024

_REGISTRY: dict[str, type[msgspec.Struct]] = {}
for _module_kinds in (core.KINDS, maritime.KINDS, sanctions.KINDS, missile.KINDS):
    _REGISTRY.update(_module_kinds)

TOMBSTONE = "tombstone"
_KIND_RE = re.compile(r"^[a-z][a-z0-9]*(\.[a-z0-9-]+)*$")


def known_kinds() -> list[str]:
    return sorted(_REGISTRY)


def schema_for(kind: str) -> type[msgspec.Struct]:
    try:
        return _REGISTRY[kind]
    except KeyError:
        hint = "" if _KIND_RE.match(kind or "") else " (kinds look like 'maritime.event')"
        raise UnknownKindError(
            f"unknown report kind {kind!r}{hint}; known kinds: {', '.join(known_kinds())}",
            field="kind",
        ) from None


def validate_payload(kind: str, payload: Any) -> None:
    """Check a payload (decoded JSON) against its kind's schema."""
    schema = schema_for(kind)
    if not isinstance(payload, dict):
        raise PayloadError(f"payload of a {kind!r} report must be a JSON object", field="payload")
    try:
        msgspec.convert(payload, schema, strict=True)
    except msgspec.ValidationError as err:
        raise PayloadError(f"payload does not fit kind {kind!r}: {err}", field="payload") from None


def validate_payload_json(kind: str, raw: bytes) -> None:
    """Check the JSON bytes of a payload against its kind's schema (receive path: C speed)."""
    schema = schema_for(kind)
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError(
            f"payload is {len(raw)} bytes; the limit is {MAX_PAYLOAD_BYTES}", field="payload"
        )
    try:
        msgspec.json.decode(raw, type=schema)
    except msgspec.ValidationError as err:
        raise PayloadError(f"payload does not fit kind {kind!r}: {err}", field="payload") from None
    except msgspec.DecodeError as err:
        raise PayloadError(f"payload is not valid JSON: {err}", field="payload") from None
