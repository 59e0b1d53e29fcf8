"""The audit log's hash chain: each row commits to the previous row's hash.

Pure functions; the store writes rows in the same transaction as the decisions they record.
``verify_chain`` names the first row that breaks the chain and says what kind of break it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited event. ``event`` is e.g. ``release``, ``inbound``, ``publish``, ``key``."""

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


def row_hash(prev_hash: str, seq: int, at: str, entry: AuditEntry) -> str:
    body = msgspec.json.encode(
        [
            seq,
            at,
            entry.event,
            entry.outcome,
            entry.reason,
            entry.partner,
            entry.origin,
            entry.report_id,
            entry.version,
            entry.actor,
        ]
    )
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int
    message: str


def verify_chain(rows: Iterable[AuditRow], head: tuple[int, str] | None) -> list[ChainProblem]:
    """Every break in the chain, first one first. Empty means intact.

    ``head`` is the (seq, hash) the store recorded for its newest row, which catches rows
    deleted from the end of the log.
    """
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev = GENESIS
    last: tuple[int, str] | None = None
    for row in rows:
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
