"""The node's two paths through its store (ARCHITECTURE §1).

Publish:  payloads -> envelopes -> one batch signature -> store -> decide() per partner ->
          audit rows + outbox rows, all in one transaction.
Ingest:   partner batch -> per item: envelope rules, origin == sending node, signature,
          label admits us, replay check -> store or reject; every outcome audited; the
          partner's cursor advances in the same transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec
from cryptography import x509

from trilink.errors import ConfigError, LabelError, ProvenanceError, ReportError, TrilinkError
from trilink.federation.wire import WireBatch, encode_batch
from trilink.model.ids import parse_utc_timestamp, utc_timestamp
from trilink.model.kinds import TOMBSTONE, validate_payload
from trilink.model.label import Label, combine_labels, format_label, parse_label
from trilink.model.report import (
    MAX_VERSION,
    Report,
    build_envelope,
    check_envelope,
    decode_envelope,
)
from trilink.node.config import NodeConfig, load_node_config
from trilink.policy.decide import Decision, decide_label
from trilink.provenance.pki import (
    CertifiedKey,
    load_certified_key,
    load_signing_key,
    verify_certified_key,
)
from trilink.provenance.signing import Signer, Verifier
from trilink.store import Store, open_store
from trilink.store.audit import AuditEntry


@dataclass
class IngestResult:
    cursor: int
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    gap: bool = False
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "gap": self.gap,
            "reasons": self.reasons[:20],
        }


class NodeService:
    """One nation's node, minus the network. Thread-safe: one writer at a time."""

    def __init__(self, config: NodeConfig, store: Store | None = None):
        self.config = config
        self.nation = config.nation
        self.store = store or open_store(config.db_url)
        self._lock = threading.RLock()
        self.listeners: list[Callable[[Sequence[Report]], None]] = []
        key, certified = load_signing_key(config.dir, at=datetime.now(UTC))
        self.signer = Signer(key, certified)
        try:
            self.ca_cert = x509.load_pem_x509_certificate(config.ca_cert.read_bytes())
        except FileNotFoundError:
            raise ConfigError(f"CA certificate {config.ca_cert} not found") from None
        own_keys = [certified] + [
            load_certified_key(p.read_bytes()) for p in sorted(config.dir.glob("signing-*.crt"))
        ]
        self.verifier = Verifier(self.store.keys())
        self._keys_this_tx: list[str] = []
        self._cert_key_ids: dict[str, str] = {}  # certificate PEM -> key id, once verified
        with self._lock, self.store.transaction():
            for key_record in own_keys:
                self._remember_key(key_record, actor="local")

    @classmethod
    def open_local(cls, root: Path, nation: str, *, db_url: str | None = None) -> NodeService:
        """The node of ``nation`` in a local network directory made by ``trilink net up``."""
        config = load_node_config(root / nation.upper() / "node.toml")
        if db_url is not None:
            config = _with_db(config, db_url)
        return cls(config)

    def __enter__(self) -> NodeService:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    def parse_label(self, text: str) -> Label:
        return parse_label(text, nations=self.config.policy.nations, markings=self.config.markings)

    # -- keys -----------------------------------------------------------------------------
    def _remember_key(self, key: CertifiedKey, *, actor: str) -> None:
        if not self.verifier.knows(key.key_id):
            self._keys_this_tx.append(key.key_id)
        self.verifier.add_key(key)
        if self.store.add_key(key):
            self.store.audit(
                [
                    AuditEntry(
                        event="key",
                        outcome="added",
                        origin=key.nation,
                        actor=actor,
                        reason=f"signing key {key.key_id} valid {key.not_before:%Y-%m-%d} "
                        f"to {key.not_after:%Y-%m-%d}",
                    )
                ]
            )

    def own_certs(self) -> list[str]:
        return [k.cert_pem for k in self.verifier.keys() if k.nation == self.nation]

    # -- publish --------------------------------------------------------------------------
    def publish(
        self,
        kind: str,
        label: Label | str,
        payload: dict[str, Any],
        *,
        derived_from: list[str] | None = None,
        actor: str = "",
    ) -> Report:
        return self.publish_many(
            kind, label, [payload], derived_from=[derived_from or []], actor=actor
        )[0]

    def publish_many(
        self,
        kind: str,
        label: Label | str,
        payloads: Sequence[dict[str, Any]],
        *,
        derived_from: Sequence[list[str]] | None = None,
        actor: str = "",
    ) -> list[Report]:
        """Sign, store and queue for release a batch of reports of one kind and label."""
        refs = list(derived_from) if derived_from is not None else [[] for _ in payloads]
        try:
            if isinstance(label, str):
                label = self.parse_label(label)
            for payload in payloads:
                validate_payload(kind, payload)
            if len(refs) != len(payloads):
                raise ReportError("derived_from must have one entry per payload")
            for inputs in refs:
                self._check_derivation(label, inputs)
        except TrilinkError as err:
            self._audit_refused_publish(err, actor)
            raise
        return self._commit_new(
            [
                dict(kind=kind, label=label, payload=p, derived_from=r)
                for p, r in zip(payloads, refs, strict=True)
            ],
            actor=actor,
        )

    def edit(
        self,
        report_id: str,
        payload: dict[str, Any],
        *,
        label: Label | str | None = None,
        actor: str = "",
    ) -> Report:
        """A new version of one of this node's reports."""
        latest = self._own_latest(report_id)
        env = latest.envelope
        try:
            new_label = self.parse_label(label) if isinstance(label, str) else label
            new_label = new_label or self.parse_label(env.label)
            validate_payload(env.kind, payload)
            self._check_derivation(new_label, env.derived_from)
        except TrilinkError as err:
            self._audit_refused_publish(err, actor)
            raise
        return self._commit_new(
            [
                dict(
                    kind=env.kind,
                    label=new_label,
                    payload=payload,
                    derived_from=env.derived_from,
                    report_id=env.id,
                    version=env.version + 1,
                )
            ],
            actor=actor,
        )[0]

    def delete(self, report_id: str, reason: str = "", *, actor: str = "") -> Report:
        """A signed tombstone: a new version that marks the report deleted everywhere.

        Its label is computed, not chosen: REL TO this nation and the partners any earlier
        version was released to, at the lowest classification of those versions, with no
        caveat, so it reaches exactly the nodes that hold some version (a narrowing edit
        included) and no other.
        """
        latest = self._own_latest(report_id)
        env = latest.envelope
        labels = [
            self.parse_label(v.report.envelope.label)
            for v in self.store.versions(report_id, origin=self.nation)
        ]
        tombstone_label = Label(
            classification=min(lab.classification for lab in labels),
            rel_to=frozenset({self.nation, *self.store.partners_sent(self.nation, report_id)}),
            exercise=labels[-1].exercise,
            policy=labels[-1].policy,
        )
        return self._commit_new(
            [
                dict(
                    kind=TOMBSTONE,
                    label=tombstone_label,
                    payload={"reason": reason},
                    derived_from=[],
                    report_id=env.id,
                    version=env.version + 1,
                )
            ],
            actor=actor,
        )[0]

    def _check_derivation(self, label: Label, inputs: Sequence[str]) -> None:
        """A derived product must be at least as restrictive as every input it names, and
        may only name reports this node holds (ARCHITECTURE §2)."""
        if not inputs:
            return
        input_labels: list[tuple[str, Label]] = []
        for rid in inputs:
            found = self.store.latest_version(rid)
            if found is None:
                raise ReportError(
                    f"derived_from {rid}: node {self.nation} holds no such report",
                    field="derived_from",
                )
            if found.report.envelope.is_tombstone:
                raise ReportError(
                    f"derived_from {rid}: withdrawn by {found.report.envelope.origin}",
                    field="derived_from",
                )
            input_labels.append((rid, self.parse_label(found.report.envelope.label)))
        floor = combine_labels([lab for _, lab in input_labels])
        if combine_labels([label, floor]) != label:
            worst = next(
                (rid, lab) for rid, lab in input_labels if combine_labels([label, lab]) != label
            )
            raise LabelError(
                f"label {format_label(label)!r} is less restrictive than input {worst[0]} "
                f"({format_label(worst[1])!r}); a product derived from these inputs needs at "
                f"least {format_label(combine_labels([label, floor]))!r}",
                token=format_label(label),
            )

    def _own_latest(self, report_id: str) -> Report:
        found = self.store.latest_version(report_id, origin=self.nation)
        if found is None:
            other = self.store.owners([report_id]).get(report_id)
            if other is not None:
                raise ReportError(
                    f"report {report_id} originated at {other}; only {other} can change it",
                    field="id",
                )
            raise ReportError(f"no report {report_id} on node {self.nation}", field="id")
        env = found.report.envelope
        if env.origin != self.nation:  # pragma: no cover - lookup is by own origin
            raise ReportError(f"report {report_id} originated at {env.origin}", field="id")
        if env.is_tombstone:
            raise ReportError(f"report {report_id} is already deleted", field="id")
        return found.report

    def _audit_refused_publish(self, err: TrilinkError, actor: str) -> None:
        with self._lock, self.store.transaction():
            self.store.audit(
                [
                    AuditEntry(
                        event="publish",
                        outcome="rejected",
                        reason=str(err),
                        origin=self.nation,
                        actor=actor,
                    )
                ]
            )

    def _commit_new(self, specs: list[dict[str, Any]], *, actor: str) -> list[Report]:
        with self._lock:
            with self.store.transaction():
                first = self.store.next_counter(f"origin_seq:{self.nation}", len(specs))
                created = utc_timestamp()  # one publish act, one time
                key = self.signer.certified
                if not key.valid_at(parse_utc_timestamp(created)):
                    raise ProvenanceError(
                        f"signing key {key.key_id} is valid from {key.not_before:%Y-%m-%d %H:%M} "
                        f"to {key.not_after:%Y-%m-%d %H:%M} UTC, not now: partners would reject "
                        "everything it signs. Run 'trilink pki rotate' and restart the node"
                    )
                envelopes = [
                    build_envelope(
                        origin=self.nation, origin_seq=first + i, created=created, **spec
                    )
                    for i, spec in enumerate(specs)
                ]
                reports = self.signer.sign(envelopes)
                seqs = self.store.insert_reports(reports, received_from=None)
                entries = [
                    AuditEntry(
                        event="publish",
                        outcome="stored",
                        origin=self.nation,
                        report_id=r.envelope.id,
                        version=r.envelope.version,
                        actor=actor,
                        reason=f"{r.envelope.kind} {r.envelope.label}",
                    )
                    for r in reports
                ]
                decisions: dict[tuple[Label, str, str], Decision] = {}
                for partner in sorted(self.config.policy.partners):
                    allowed: list[int] = []
                    for spec, report, seq in zip(specs, reports, seqs, strict=True):
                        # decide() is pure: one call per distinct (label, kind, partner).
                        memo = (spec["label"], spec["kind"], partner)
                        decision = decisions.get(memo)
                        if decision is None:
                            decision = decide_label(
                                spec["label"],
                                self.nation,
                                spec["kind"],
                                partner,
                                self.config.policy,
                            )
                            decisions[memo] = decision
                        entries.append(
                            AuditEntry(
                                event="release",
                                outcome=decision.outcome,
                                reason=decision.reason,
                                partner=partner,
                                origin=self.nation,
                                report_id=report.envelope.id,
                                version=report.envelope.version,
                                actor=actor,
                            )
                        )
                        if decision.allow:
                            allowed.append(seq)
                    self.store.enqueue(partner, allowed)
                self.store.audit(entries)
        self._notify(reports)
        return reports

    def _notify(self, reports: Sequence[Report]) -> None:
        for listener in list(self.listeners):
            listener(reports)

    # -- outbound -------------------------------------------------------------------------
    def outbox_batch(self, partner: str, after: int, limit: int = 1000) -> tuple[bytes, int]:
        """The wire batch of what ``partner`` has not yet acknowledged after ``after``;
        returns (body, number of items)."""
        if partner not in self.config.policy.partners:
            raise ConfigError(f"{partner} is not a configured partner of {self.nation}")
        with self._lock:
            items = self.store.outbox_after(partner, after, limit)
            head = self.store.outbox_head(partner)
        body = encode_batch(
            self.nation,
            head,
            self.own_certs(),
            [(i.pseq, i.envelope, i.signature) for i in items],
        )
        return body, len(items)

    # -- inbound --------------------------------------------------------------------------
    def ingest(self, sender: str, batch: WireBatch) -> IngestResult:
        """Take a partner's batch. ``sender`` is the nation in its TLS client certificate."""
        accepted: list[Report] = []
        with self._lock, self._keys_rolled_back_with_transaction():
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
                self._learn_certs(sender, batch.certs)
                result, accepted = self._ingest_items(sender, batch)
        if accepted:
            self._notify(accepted)
        return result

    @contextmanager
    def _keys_rolled_back_with_transaction(self) -> Iterator[None]:
        """Keys learned inside a transaction that rolls back are forgotten again, so the
        verifier never trusts a key the store and the audit log do not record."""
        self._keys_this_tx = []
        try:
            yield
        except BaseException:
            for key_id in self._keys_this_tx:
                self.verifier.forget(key_id)
            raise
        finally:
            self._keys_this_tx = []

    def _learn_certs(self, sender: str, certs: list[str]) -> None:
        for pem in certs:
            # every batch carries its signer's certificate: verify each text once
            known = self._cert_key_ids.get(pem)
            if known is not None and self.verifier.knows(known):
                continue
            try:
                key = verify_certified_key(pem, self.ca_cert)
            except (ProvenanceError, ValueError) as err:
                self.store.audit(
                    [
                        AuditEntry(
                            event="key",
                            outcome="rejected",
                            partner=sender,
                            reason=f"certificate refused: {err}",
                        )
                    ]
                )
                continue
            if self.verifier.knows(key.key_id):
                self._cert_key_ids[pem] = key.key_id
                continue
            if key.nation != sender:
                self.store.audit(
                    [
                        AuditEntry(
                            event="key",
                            outcome="rejected",
                            partner=sender,
                            reason=f"{sender} sent a signing certificate of {key.nation}",
                        )
                    ]
                )
                continue
            self._remember_key(key, actor=sender)
            self._cert_key_ids[pem] = key.key_id

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

    def _verify_item(self, sender: str, raw: bytes, signature: Any) -> Report:
        env = decode_envelope(raw)
        label = check_envelope(env, self.config.policy.nations)
        if env.origin != sender:
            raise ProvenanceError(
                f"report claims origin {env.origin} but arrived from {sender}'s node"
            )
        self.verifier.verify(raw, env, signature)
        if self.nation not in label.rel_to or label.caveats:
            raise ReportError(
                f"label {env.label!r} does not release this report to {self.nation}", field="label"
            )
        return Report(envelope=env, signature=signature, signed=raw)

    # -- reading --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        partners = {}
        for partner in sorted(self.config.policy.partners):
            inbound, acked = self.store.cursor(partner)
            head = self.store.outbox_head(partner)
            partners[partner] = {
                "outbox_head": head,
                "acked": acked,
                "queued": head - acked,
                "inbound_cursor": inbound,
            }
        return {"nation": self.nation, "reports": self.store.report_count(), "partners": partners}


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


def _with_db(config: NodeConfig, db_url: str) -> NodeConfig:
    from dataclasses import replace

    return replace(config, db_url=db_url)


def report_line(report: Report) -> dict[str, Any]:
    """The JSON object ``trilink report list --json`` prints for one report."""
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


__all__ = ["IngestResult", "NodeService", "decode_envelope", "format_label", "report_line"]
