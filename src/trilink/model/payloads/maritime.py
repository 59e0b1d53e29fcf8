"""Payload schemas of the `trilink.maritime` report kinds."""

from __future__ import annotations

import msgspec

KINDS: dict[str, type[msgspec.Struct]] = {}
