"""The audit log's hash chain: each row commits to the previous row's hash.

Pure functions; the store writes rows in the same transaction as the decisions they record.
``verify_chain`` names the first row that breaks the chain and says what kind of break it is.
``storable`` bounds every row before it is hashed: a field longer than its limit keeps its
start and the SHA-256 of the whole text, so a partner's 8 MiB label cannot become an 8 MiB
row that can never be pruned, yet the text it sent can still be matched against the row.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

GENESIS = "0" * 64
TEXT_FIELDS = ("event", "outcome", "reason", "partner", "origin", "report_id", "actor")
# Characters kept per field: a reason quotes an error message (a few hundred characters);
# the other fields hold codes, ids and user names.
REASON_CHARS = 1024
FIELD_CHARS = 256
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class AuditEntry(msgspec.Struct, frozen=True):
    """One audited event. ``event`` is e.g. ``release``, ``inbound``, ``publish``, ``key``.
    A msgspec Struct: a node makes several per report it publishes or receives, and a
    Struct is built ten times faster than a frozen dataclass."""

    event: str
    outcome: str
    reason: str = ""
    partner: str = ""
    origin: str = ""
    report_id: str = ""
    version: int = 0
    actor: str = ""


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    at: str
    entry: AuditEntry
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        """seq, at and every field of the entry, as readers of the log (API, COP) see it."""
        return {"seq": self.seq, "at": self.at, **msgspec.structs.asdict(self.entry)}


_text_values = operator.attrgetter(*TEXT_FIELDS)


def storable(entry: AuditEntry) -> AuditEntry:
    """``entry`` as both engines store and hash it: each text field within its limit (the
    start of the text, then its length and SHA-256), NUL (which PostgreSQL text cannot hold)
    and lone surrogates (which neither engine can encode) replaced by U+FFFD."""
    # One scan of one string in the common case: this runs for every audit row written.
    fields: tuple[str, ...] = _text_values(entry)
    joined = "".join(fields)
    if (
        len(entry.reason) <= REASON_CHARS
        and len(joined) - len(entry.reason) <= FIELD_CHARS
        and joined.isascii()
        and "\x00" not in joined
    ):
        return entry
    changed: dict[str, Any] = {}
    for name, text in zip(TEXT_FIELDS, fields, strict=True):
        kept = _encodable(bounded(text, REASON_CHARS if name == "reason" else FIELD_CHARS))
        if kept != text:
            changed[name] = kept
    return msgspec.structs.replace(entry, **changed) if changed else entry


def bounded(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters; otherwise as much of its start as
    fits with ``... [N characters, sha256 HEX]`` (the hash of all of it, as UTF-8)."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    tail = f"... [{len(text):,} characters, sha256 {digest}]"
    return text[: max(0, limit - len(tail))] + tail


def _encodable(text: str) -> str:
    return _UNSTORABLE.sub("\ufffd", text)


# The one list of an audit row's fields: the hash, the table's columns and the row builder
# all follow it, in this order.
ENTRY_FIELDS: tuple[str, ...] = AuditEntry.__struct_fields__


_entry_values = operator.attrgetter(*ENTRY_FIELDS)  # one C call: this runs for every row


def entry_values(entry: AuditEntry) -> tuple[Any, ...]:
    values: tuple[Any, ...] = _entry_values(entry)
    return values


def entry_from_values(values: Iterable[Any]) -> AuditEntry:
    entry = AuditEntry(*values)
    return msgspec.structs.replace(entry, version=int(entry.version))


def row_hash(prev_hash: str, seq: int, at: str, entry: AuditEntry) -> str:
    return hash_of_values(prev_hash, seq, at, entry_values(entry))


def hash_of_values(prev_hash: str, seq: int, at: str, values: tuple[Any, ...]) -> str:
    """``row_hash`` of an entry whose ``entry_values`` the caller already has."""
    body = _encode([seq, at, *values])
    return _sha256(prev_hash.encode("ascii") + body).hexdigest()


_encode = msgspec.json.encode
_sha256 = hashlib.sha256


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int
    message: str


def verify_chain(
    rows: Iterable[AuditRow],
    head: tuple[int, str] | None,
    *,
    first_seq: int = 1,
    prev_hash: str | None = GENESIS,
) -> list[ChainProblem]:
    """Every break in the chain, first one first. Empty means intact.

    ``head`` is the (seq, hash) the store recorded for its newest row, which catches rows
    deleted from the end of the log. ``first_seq`` and ``prev_hash`` check a newest part of
    the chain only: rows from ``first_seq`` on, the first one following ``prev_hash`` (None:
    whatever row it follows).
    """
    problems: list[ChainProblem] = []
    expected_seq = first_seq
    prev = prev_hash
    last: tuple[int, str] | None = None
    for row in rows:
        if prev is None:
            prev = row.prev_hash
        if row.seq != expected_seq:
            if row.seq > expected_seq:
                missing = (
                    f"row {expected_seq}"
                    if row.seq == expected_seq + 1
                    else f"rows {expected_seq}-{row.seq - 1}"
                )
                problems.append(ChainProblem(expected_seq, f"{missing} deleted"))
            else:
                problems.append(ChainProblem(row.seq, f"row {row.seq} out of sequence (inserted)"))
        if row.prev_hash != prev:
            problems.append(
                ChainProblem(
                    row.seq,
                    f"row {row.seq} does not follow the row before it "
                    "(a row was inserted, deleted or re-hashed)",
                )
            )
        if row_hash(row.prev_hash, row.seq, row.at, row.entry) != row.hash:
            problems.append(ChainProblem(row.seq, f"row {row.seq} was edited (hash mismatch)"))
        prev = row.hash
        expected_seq = row.seq + 1
        last = (row.seq, row.hash)
    if head is not None and head != (0, GENESIS):
        if last is None or last[0] < head[0]:
            end = last[0] if last else 0
            problems.append(
                ChainProblem(end + 1, f"rows {end + 1}-{head[0]} deleted from the end")
            )
        elif last != head:
            problems.append(ChainProblem(last[0], "newest row does not match the recorded head"))
    elif head is None and last is not None:
        problems.append(ChainProblem(last[0], "audit head record is missing"))
    return problems
