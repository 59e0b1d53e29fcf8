"""The node's ingest path: a partner's batch -> per item: envelope rules, origin == sending
node, signature, label admits us, replay check -> store or reject. Every outcome is audited;
the partner's cursor advances in the same transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from trilink.errors import ProvenanceError, ReportError, TrilinkError
from trilink.model.report import MAX_VERSION, Report, Signature, check_envelope, decode_envelope
from trilink.model.wire import MAX_BATCH_BYTES, WireBatch, decode_batch
from trilink.node.config import NodeConfig
from trilink.node.keys import KeyRing
from trilink.store import Store
from trilink.store.audit import AuditEntry


@dataclass
class IngestResult:
    """What a receiver answers to a batch: its cursor for the sender, and the counts."""

    cursor: int
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    gap: bool = False
    reasons: list[str] = field(default_factory=list)

    def add(self, later: IngestResult) -> None:
        """Fold the result of the next batch from the same sender into this one."""
        self.cursor = later.cursor
        self.accepted += later.accepted
        self.duplicates += later.duplicates
        self.rejected += later.rejected
        self.gap = later.gap
        self.reasons += later.reasons

    def as_dict(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "gap": self.gap,
            "reasons": self.reasons[:20],
        }


class BatchRefused(TrilinkError):
    """A whole batch refused before any item was looked at (too large, not a batch)."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


class Ingestor:
    def __init__(
        self,
        config: NodeConfig,
        store: Store,
        keys: KeyRing,
        lock: threading.RLock,
        notify: Callable[[Sequence[Report]], None],
    ):
        self.config = config
        self.nation = config.nation
        self.store = store
        self.keys = keys
        self._lock = lock
        self._notify = notify

    def receive_push(self, sender: str, body: bytes) -> IngestResult:
        """A batch body as it arrived from ``sender`` (whose identity the transport proved).
        Raises ``BatchRefused`` (audited) when the body is not a batch at all."""
        if len(body) > MAX_BATCH_BYTES:
            self.audit_refusal(sender, f"batch of {len(body)} bytes over the limit")
            raise BatchRefused(f"batch larger than {MAX_BATCH_BYTES} bytes", status=413)
        try:
            batch = decode_batch(body)
        except ReportError as err:
            self.audit_refusal(sender, str(err))
            raise BatchRefused(str(err), status=400) from None
        return self.ingest(sender, batch)

    def audit_refusal(self, sender: str, reason: str) -> None:
        with self._lock, self.store.transaction():
            self.store.audit(
                [AuditEntry(event="inbound", outcome="rejected", partner=sender, reason=reason)]
            )

    def ingest(self, sender: str, batch: WireBatch) -> IngestResult:
        """Take a partner's batch. ``sender`` is the nation in its TLS client certificate."""
        accepted: list[Report] = []
        with self._lock, self.keys.rolled_back_with_transaction():
            with self.store.transaction():
                if batch.sender != sender:
                    reason = (
                        f"batch claims sender {batch.sender} but the TLS certificate is {sender}'s"
                    )
                    self.store.audit(
                        [
                            AuditEntry(
                                event="inbound", outcome="rejected", partner=sender, reason=reason
                            )
                        ]
                    )
                    cursor = self.store.cursor(sender)[0]
                    return IngestResult(cursor=cursor, rejected=len(batch.items), reasons=[reason])
                self.keys.learn_certs(sender, batch.certs)
                if not batch.items:
                    return IngestResult(cursor=self.store.cursor(sender)[0])
                result, accepted = self._ingest_items(sender, batch)
        if accepted:
            self._notify(accepted)
        return result

    def _ingest_items(self, sender: str, batch: WireBatch) -> tuple[IngestResult, list[Report]]:
        cursor = self.store.cursor(sender)[0]
        result = IngestResult(cursor=cursor)
        entries: list[AuditEntry] = []

        def reject(pseq: int, raw: bytes, err: Exception) -> None:
            result.rejected += 1
            result.reasons.append(f"pseq {pseq}: {err}")
            env_id, version = _peek_id(raw)
            entries.append(
                AuditEntry(
                    event="inbound",
                    outcome="rejected",
                    partner=sender,
                    origin=sender,
                    report_id=env_id,
                    version=version,
                    reason=str(err),
                )
            )

        # 1. In sequence order: the cursor rules, then everything checkable item by item.
        verified: list[tuple[int, Report]] = []
        for item in sorted(batch.items, key=lambda i: i.pseq):
            if item.pseq <= cursor:
                result.duplicates += 1
                continue
            if item.pseq != cursor + 1:
                result.gap = True
                break
            cursor = item.pseq
            raw = bytes(item.report)
            try:
                verified.append((item.pseq, self._verify_item(sender, raw, item.signature)))
            except TrilinkError as err:
                reject(item.pseq, raw, err)
        # 2. Against what is stored already, in two queries for the whole batch.
        stored = self.store.stored_versions(
            sender, [(r.envelope.id, r.envelope.version) for _, r in verified]
        )
        seqs = [r.envelope.origin_seq for _, r in verified]
        taken = self.store.taken_origin_seqs(sender, min(seqs), max(seqs)) if seqs else set()
        owners = self.store.owners([r.envelope.id for _, r in verified])
        accepted: list[Report] = []
        for pseq, report in verified:
            env = report.envelope
            key = (env.id, env.version)
            owner = owners.setdefault(env.id, env.origin)
            if owner != env.origin:
                reject(
                    pseq,
                    report.signed,
                    ProvenanceError(
                        f"report id {env.id} belongs to {owner}; {env.origin} cannot version it"
                    ),
                )
                continue
            existing = stored.get(key)
            if existing is not None:
                if existing == report.signed:
                    result.duplicates += 1
                else:
                    reject(
                        pseq,
                        report.signed,
                        ProvenanceError(
                            f"replay: {env.origin} report {env.id} version {env.version} was "
                            "already received with different content"
                        ),
                    )
                continue
            if env.origin_seq in taken:
                reject(
                    pseq,
                    report.signed,
                    ProvenanceError(
                        f"origin_seq {env.origin_seq} of {env.origin} is already used by "
                        "another report"
                    ),
                )
                continue
            stored[key] = report.signed
            taken.add(env.origin_seq)
            accepted.append(report)
            entries.append(
                AuditEntry(
                    event="inbound",
                    outcome="accepted",
                    partner=sender,
                    origin=env.origin,
                    report_id=env.id,
                    version=env.version,
                    reason=env.label,
                )
            )
        if accepted:
            self.store.insert_reports(accepted, received_from=sender)
        self.store.audit(entries)
        self.store.set_inbound_cursor(sender, cursor)
        result.cursor = cursor
        result.accepted = len(accepted)
        return result, accepted

    def _verify_item(self, sender: str, raw: bytes, signature: Signature) -> Report:
        env = decode_envelope(raw)
        label = check_envelope(env, self.config.policy.nations)
        if env.origin != sender:
            raise ProvenanceError(
                f"report claims origin {env.origin} but arrived from {sender}'s node"
            )
        self.keys.verifier.verify(raw, env, signature)
        if self.nation not in label.rel_to or label.caveats:
            raise ReportError(
                f"label {env.label!r} does not release this report to {self.nation}", field="label"
            )
        return Report(envelope=env, signature=signature, signed=raw)


class _Id(msgspec.Struct):
    id: str = ""
    version: int = 0


def _peek_id(raw: bytes) -> tuple[str, int]:
    """What an unusable item says it is, for its audit row (bounded, never raising)."""
    try:
        found = msgspec.json.decode(raw, type=_Id)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return "", 0
    version = found.version if 0 <= found.version < MAX_VERSION else 0
    return found.id[:64], version
