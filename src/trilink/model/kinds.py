"""The one registry of report kinds (``KindSpec``, see ``trilink.model.kindspec``).

Every module of ``trilink.model.payloads`` lists its kinds in a ``KINDS`` tuple of
``KindSpec``; they are registered when this module is first imported, so adding a kind is
adding it to its engine's payload module (or a new module there) and nothing else. The node
validates payloads, the COP draws them and every export writes them from here alone.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

import msgspec

from trilink.errors import PayloadError, UnknownKindError
from trilink.model import payloads
from trilink.model.kindspec import KindSpec

MAX_PAYLOAD_BYTES = 256 * 1024

TOMBSTONE = "tombstone"
_KIND_RE = re.compile(r"^[a-z][a-z0-9]*(\.[a-z0-9-]+)*$")
_REGISTRY: dict[str, KindSpec[Any]] = {}


def register(spec: KindSpec[Any]) -> None:
    """Make ``spec.kind`` known to this process. A kind is registered once: a second
    registration of the same name (two engines claiming one kind) is refused."""
    if not _KIND_RE.match(spec.kind):
        raise ValueError(f"kind {spec.kind!r} is not a valid kind name (e.g. 'maritime.event')")
    if spec.kind in _REGISTRY and _REGISTRY[spec.kind] is not spec:
        raise ValueError(f"report kind {spec.kind!r} is registered twice")
    _REGISTRY[spec.kind] = spec


def unregister(kind: str) -> None:
    """Forget ``kind`` (tests that register a kind of their own remove it again)."""
    _REGISTRY.pop(kind, None)


def _register_payload_modules() -> None:
    for module in sorted(pkgutil.iter_modules(payloads.__path__), key=lambda m: m.name):
        loaded = importlib.import_module(f"{payloads.__name__}.{module.name}")
        for spec in getattr(loaded, "KINDS", ()):
            register(spec)


def known_kinds() -> list[str]:
    return sorted(_REGISTRY)


def spec_for(kind: str) -> KindSpec[Any]:
    """The registered ``KindSpec`` of ``kind``; ``UnknownKindError`` naming the known ones."""
    try:
        return _REGISTRY[kind]
    except KeyError:
        hint = "" if _KIND_RE.match(kind or "") else " (kinds look like 'maritime.event')"
        raise UnknownKindError(
            f"unknown report kind {kind!r}{hint}; known kinds: {', '.join(known_kinds())}",
            field="kind",
        ) from None


def schema_for(kind: str) -> type[msgspec.Struct]:
    return spec_for(kind).payload


def validate_payload(kind: str, payload: Any) -> None:
    """Check a payload (decoded JSON, or the kind's typed Struct) against its kind's schema."""
    schema = schema_for(kind)
    if isinstance(payload, schema):
        return
    if not isinstance(payload, dict):
        raise PayloadError(f"payload of a {kind!r} report must be a JSON object", field="payload")
    try:
        msgspec.convert(payload, schema, strict=True)
    except msgspec.ValidationError as err:
        raise PayloadError(f"payload does not fit kind {kind!r}: {err}", field="payload") from None


def validate_payload_json(kind: str, raw: bytes) -> None:
    """Check the JSON bytes of a payload against its kind's schema (receive path: C speed)."""
    decode_payload(kind, raw)


def decode_payload(kind: str, raw: bytes) -> msgspec.Struct:
    """The typed payload of a ``kind`` report from its JSON bytes."""
    schema = schema_for(kind)
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError(
            f"payload is {len(raw)} bytes; the limit is {MAX_PAYLOAD_BYTES}", field="payload"
        )
    try:
        return msgspec.json.decode(raw, type=schema)
    except msgspec.ValidationError as err:
        raise PayloadError(f"payload does not fit kind {kind!r}: {err}", field="payload") from None
    except msgspec.DecodeError as err:
        raise PayloadError(f"payload is not valid JSON: {err}", field="payload") from None


_register_payload_modules()
