"""RFC 8785 (JSON Canonicalization Scheme) encoding, fast.

Signatures are computed over these bytes, so they must be byte-identical to RFC 8785.
The fast path lets msgspec (C) do the encoding after a walk that rewrites the one case where
msgspec and ECMAScript number formatting differ for values below 2**53 (integer-valued floats:
msgspec writes ``100.0``, ECMAScript ``100``). Anything the fast path cannot prove identical
(non-ASCII object keys, whose RFC 8785 order is by UTF-16 code units, and floats at or beyond
2**53) is handed to the reference implementation, the ``rfc8785`` package.
``tests/model/test_canonical.py`` checks equality with ``rfc8785`` on generated values.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import rfc8785

from trilink.errors import PayloadError

_SAFE_INT = 2**53
_encoder = msgspec.json.Encoder(order="sorted")


class _NeedsReference(Exception):
    pass


def _normalise(value: Any) -> Any:
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -_SAFE_INT < value < _SAFE_INT:
            raise PayloadError(
                f"integer {value} is outside the exact JSON range (|n| < 2**53); send it as a "
                "string"
            )
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise PayloadError(f"{value} is not a JSON number; use null or a string")
        if value.is_integer():
            if -_SAFE_INT < value < _SAFE_INT:
                return int(value)
            raise _NeedsReference
        if 1e-6 <= abs(value) < 1e-5:
            # ECMAScript writes 0.00000x here; msgspec switches to exponent form.
            raise _NeedsReference
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise PayloadError(f"object key {key!r} is not a string")
            if not key.isascii():
                raise _NeedsReference
            out[key] = _normalise(item)
        return out
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    raise PayloadError(f"{type(value).__name__} is not a JSON value")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value (dict/list/str/int/float/bool/None)."""
    try:
        return _encoder.encode(_normalise(value))
    except _NeedsReference:
        pass
    except UnicodeEncodeError as err:
        raise PayloadError(f"string is not valid Unicode (lone surrogate?): {err}") from None
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as err:
        raise PayloadError(f"value cannot be canonicalised: {err}") from None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
