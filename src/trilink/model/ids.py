"""Report identifiers (UUIDv7, RFC 9562) and UTC timestamps in one text form, and the
bounded excerpt error messages quote of text that did not pass (a partner's 8 MiB "id" must
not become an 8 MiB message, log line or audit row)."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime

# Checked with fullmatch: '$' also matches before a trailing newline, which let a partner
# create "<another nation's id>\n", a different id that prints the same.
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_TS_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
UUID_CHARS = 36
TIMESTAMP_CHARS = 27


def uuid7(unix_ms: int | None = None) -> str:
    """A new UUIDv7: 48-bit millisecond timestamp, then 74 random bits."""
    ms = int(time.time() * 1000) if unix_ms is None else unix_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & (2**48 - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & (2**62 - 1)
    digits = f"{value:032x}"  # what str(uuid.UUID(int=value)) writes, at a third of the cost
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def is_uuid7(text: str) -> bool:
    return isinstance(text, str) and len(text) == UUID_CHARS and bool(_UUID_RE.fullmatch(text))


def utc_timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2026-11-23T16:14:56.123456Z``."""
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_utc_timestamp(text: str) -> bool:
    """The shape ``utc_timestamp`` writes, and a real date and time."""
    if not isinstance(text, str) or len(text) != TIMESTAMP_CHARS or not _TS_RE.fullmatch(text):
        return False
    try:
        parse_utc_timestamp(text)
    except ValueError:
        return False
    return True


def parse_utc_timestamp(text: str) -> datetime:
    """Parse a timestamp written by ``utc_timestamp`` (fromisoformat: C speed)."""
    return datetime.fromisoformat(text)


def excerpt(text: object, limit: int = 48) -> str:
    """``repr`` of ``text`` cut to ``limit`` characters, saying how long it was: what a
    message quotes of input that failed a check, whatever its size."""
    if not isinstance(text, str):
        return f"a {type(text).__name__}"
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"
