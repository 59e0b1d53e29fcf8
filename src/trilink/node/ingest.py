"""The node's ingest path: a partner's batch -> per item: envelope rules, origin == sending
node, signature, label admits us, replay check -> store or reject. Every outcome is audited;
the partner's cursor advances in the same transaction. The signed audit heads a batch
carries are taken in that transaction too (``trilink.node.anchors``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from trilink.errors import ProvenanceError, ReportError, TrilinkError
from trilink.model.report import MAX_VERSION, Report, Signature, check_envelope, decode_envelope
from trilink.model.wire import GENESIS_CHAIN, MAX_BATCH_BYTES, WireBatch, chain_next, decode_batch
from trilink.node.anchors import AuditAnchors
from trilink.node.config import NodeConfig
from trilink.node.keys import KeyRing
from trilink.policy import Decision, decide_inbound
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
    resync: bool = False
    reasons: list[str] = field(default_factory=list)

    def add(self, later: IngestResult) -> None:
        """Fold the result of the next batch from the same sender into this one."""
        self.cursor = later.cursor
        self.accepted += later.accepted
        self.duplicates += later.duplicates
        self.rejected += later.rejected
        self.gap = later.gap
        self.resync = self.resync or later.resync
        self.reasons += later.reasons

    def as_dict(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "gap": self.gap,
            "resync": self.resync,
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
        self.anchors = AuditAnchors(config, store, keys, lock)

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

    def audit_refusal(self, sender: str, reason: str, *, outcome: str = "rejected") -> None:
        self.audit_event("inbound", outcome, sender, reason)

    def audit_event(self, event: str, outcome: str, partner: str, reason: str) -> None:
        """One audit row about the link to ``partner`` (e.g. a transport event)."""
        with self._lock, self.store.transaction():
            self.store.audit(
                [AuditEntry(event=event, outcome=outcome, partner=partner, reason=reason)]
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
                self.keys.learn(sender, batch.certs, batch.revocations)
                self.anchors.receive(sender, batch.audit)
                result, accepted = self._ingest_items(sender, batch)
        if accepted:
            self._notify(accepted)
        return result

    def reclaim(
        self,
        holder: str,
        batch: WireBatch,
        release: Callable[[list[Report], list[int]], list[AuditEntry]],
    ) -> int:
        """Take back this node's own reports that ``holder`` returned (after a restore from
        an older copy): each must carry our origin and our valid signature; what we do not
        hold yet is stored and released again under today's policy (``release`` decides and
        queues, returning its audit rows). Returns how many were restored."""
        restored: list[Report] = []
        entries: list[AuditEntry] = []
        with self._lock, self.store.transaction():
            for item in batch.items:
                raw = bytes(item.report)
                try:
                    env = decode_envelope(raw)
                    check_envelope(env, self.config.policy.nations)
                    if env.origin != self.nation:
                        raise ProvenanceError(
                            f"{holder} returned a report of {env.origin} as one of ours"
                        )
                    self.keys.verifier.verify(raw, env, item.signature)
                except TrilinkError as err:
                    env_id, version = _peek_id(raw)
                    entries.append(
                        AuditEntry(
                            event="reclaim",
                            outcome="rejected",
                            partner=holder,
                            report_id=env_id,
                            version=version,
                            reason=str(err),
                        )
                    )
                    continue
                held = self.store.stored_bytes(env.origin, env.id, env.version)
                if held is not None or self.store.origin_seq_taken(env.origin, env.origin_seq):
                    if held is not None and held != raw:
                        entries.append(
                            AuditEntry(
                                event="reclaim",
                                outcome="alarm",
                                partner=holder,
                                report_id=env.id,
                                version=env.version,
                                reason="a partner holds a different version signed by us",
                            )
                        )
                    continue
                restored.append(Report(envelope=env, signature=item.signature, signed=raw))
                entries.append(
                    AuditEntry(
                        event="reclaim",
                        outcome="stored",
                        partner=holder,
                        origin=env.origin,
                        report_id=env.id,
                        version=env.version,
                        reason=f"{env.kind} {env.label}: learned back from {holder}",
                    )
                )
            if restored:
                seqs = self.store.insert_reports(restored, received_from=holder)
                entries += release(restored, seqs)
            self.store.audit(entries)
        if restored:
            self._notify(restored)
        return len(restored)

    def mark_reclaim_watermarks(self) -> None:
        """At start: ask each partner, once, for our own reports above the newest we hold.
        After a restore from an older copy these are the reports published after that copy
        was taken; otherwise the answer is empty. The watermark is kept in the store, so a
        restart before a partner answered does not move it past reports still missing."""
        with self._lock, self.store.transaction():
            newest = self.store.max_origin_seq(self.nation)
            for partner in self.config.policy.partners:
                if self.store.counter(reclaim_key(partner)) <= 0:
                    self.store.set_counter(reclaim_key(partner), newest + 1)

    def worth_ingesting(self, sender: str, batch: WireBatch) -> bool:
        """Whether a batch with no new item would still change something here: a new
        signing key, a new signed audit head, or a sender whose history is not the one we
        received (read-only, so idle polling does not write)."""
        if self.keys.has_new(batch.certs, batch.revocations):
            return True
        if self.anchors.worth_taking(sender, batch.audit):
            return True
        cursor, anchor = self.store.inbound_anchor(sender)
        if batch.head < cursor or batch.items and batch.items[-1].pseq > cursor:
            return True
        positions = {batch.after: batch.prev, batch.head: batch.head_chain}
        return bool(anchor) and cursor in positions and positions[cursor] != anchor

    def _ingest_items(self, sender: str, batch: WireBatch) -> tuple[IngestResult, list[Report]]:
        cursor, anchor = self.store.inbound_anchor(sender)
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

        # 1. Where the batch sits in the sender's outbox chain, against where we are in it.
        if batch.after > cursor:
            result.gap = True  # the sender thinks we hold more than we do: it resends
            return result, []
        if batch.head < cursor:
            return self._diverged(
                sender,
                f"{sender}'s feed for us now ends at item {batch.head}, but we had received "
                f"up to item {cursor}",
            ), []
        chain = batch.prev
        known = {batch.after: batch.prev}
        fresh: list[tuple[int, bytes, Signature, str]] = []
        for item in batch.items:
            raw = bytes(item.report)
            chain = chain_next(chain, item.pseq, hashlib.sha256(raw).digest())
            known[item.pseq] = chain
            if item.pseq <= cursor:
                result.duplicates += 1
            else:
                fresh.append((item.pseq, raw, item.signature, chain))
        known.setdefault(batch.head, batch.head_chain)
        if batch.items and batch.items[-1].pseq == batch.head and chain != batch.head_chain:
            reason = f"{sender}'s batch does not hash to the head it states (corrupted)"
            entries.append(
                AuditEntry(event="inbound", outcome="rejected", partner=sender, reason=reason)
            )
            self.store.audit(entries)
            result.reasons.append(reason)
            return result, []
        if anchor and cursor in known and known[cursor] != anchor:
            return self._diverged(
                sender,
                f"{sender}'s outbox history differs from the one we received at item {cursor}",
            ), []
        # 2. New items in order; each one's position in the chain pins it, so an item we
        # refuse can never be swapped for another at the same place without us noticing.
        verified: list[tuple[int, Report]] = []
        proven = self.keys.verifier.proven_leaves([(raw, sig) for _, raw, sig, _ in fresh])
        admitted: dict[str, Decision] = {}
        for position, (pseq, raw, signature, chain) in enumerate(fresh):
            cursor, anchor = pseq, chain
            try:
                report = self._verify_item(
                    sender, raw, signature, proven=position in proven, admitted=admitted
                )
                verified.append((pseq, report))
            except TrilinkError as err:
                reject(pseq, raw, err)
        # 3. Against what is stored already, in two queries for the whole batch.
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
        if fresh:
            self.store.set_inbound_cursor(sender, cursor, anchor)
        result.cursor = cursor
        result.accepted = len(accepted)
        return result, accepted

    def _diverged(self, sender: str, why: str) -> IngestResult:
        """The sender's history is not the one we received from (it was restored from an
        older copy, or rewrote its outbox): start again from its first item. What we hold
        is kept; receiving is idempotent, so what we already have counts as duplicates and
        whatever we never had is stored."""
        self.store.audit(
            [
                AuditEntry(
                    event="inbound",
                    outcome="resync",
                    partner=sender,
                    reason=f"{why}; resynchronising from its first item",
                )
            ]
        )
        self.store.set_inbound_cursor(sender, 0, GENESIS_CHAIN)
        return IngestResult(cursor=0, resync=True, reasons=[why])

    def _verify_item(
        self,
        sender: str,
        raw: bytes,
        signature: Signature,
        *,
        proven: bool,
        admitted: dict[str, Decision],
    ) -> Report:
        """``proven``: see ``Verifier.proven_leaves``; ``admitted``: the inbound decision per
        label text, kept for the batch (a batch carries few distinct labels)."""
        env = decode_envelope(raw)
        label = check_envelope(env, self.config.policy.nations)
        if env.origin != sender:
            raise ProvenanceError(
                f"report claims origin {env.origin} but arrived from {sender}'s node"
            )
        self.keys.verifier.verify(raw, env, signature, proven=proven)
        decision = admitted.get(env.label)
        if decision is None:
            decision = decide_inbound(label, self.nation, self.config.accept_ceiling)
            admitted[env.label] = decision
        if not decision.allow:
            raise ReportError(decision.reason, field="label")
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


def reclaim_key(partner: str) -> str:
    """Counter holding 1 + the origin_seq above which we still ask ``partner`` for our own
    reports (0 or less: nothing to ask)."""
    return f"reclaim:{partner}"
