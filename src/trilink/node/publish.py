"""The node's publish path: payloads -> envelopes -> one batch signature -> store ->
decide() per partner -> audit rows + outbox rows, all in one transaction.

Edits are new versions of one of this node's reports; deletes are signed tombstones.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from trilink.errors import LabelError, ReportError, TrilinkError
from trilink.model.ids import parse_utc_timestamp, utc_timestamp
from trilink.model.kinds import TOMBSTONE, validate_payload
from trilink.model.label import Label, combine_labels, format_label
from trilink.model.report import Report, build_envelope, check_derived_from
from trilink.node.config import NodeConfig
from trilink.node.keys import KeyRing
from trilink.policy.decide import decide_label
from trilink.store import Store
from trilink.store.audit import AuditEntry


@dataclass(frozen=True)
class Draft:
    """One report to sign: a new report, or (with ``report_id``) a new version of one."""

    kind: str
    label: Label
    payload: dict[str, Any]
    derived_from: list[str]
    report_id: str | None = None
    version: int = 1


@dataclass(frozen=True)
class Item:
    """What a person or program asks the node to publish: a new report, or (with
    ``report_id``) a new version of one of this node's reports (a track moving on, a
    warning updated or cancelled)."""

    kind: str
    label: str
    payload: dict[str, Any]
    derived_from: list[str] = field(default_factory=list)
    report_id: str | None = None


class Publisher:
    def __init__(
        self,
        config: NodeConfig,
        store: Store,
        keys: KeyRing,
        lock: threading.RLock,
        parse_label: Callable[[str], Label],
        notify: Callable[[Sequence[Report]], None],
    ):
        self.config = config
        self.nation = config.nation
        self.store = store
        self.keys = keys
        self._lock = lock
        self._parse_label = parse_label
        self._notify = notify

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
                label = self._parse_label(label)
            for payload in payloads:
                validate_payload(kind, payload)
            if len(refs) != len(payloads):
                raise ReportError("derived_from must have one entry per payload")
            for inputs in refs:
                check_derived_from(inputs)
                self._check_derivation(label, inputs)
        except TrilinkError as err:
            self._audit_refused(err, actor)
            raise
        return self._commit(
            [Draft(kind, label, p, list(r)) for p, r in zip(payloads, refs, strict=True)],
            actor=actor,
        )

    def publish_items(self, items: Sequence[Item], *, actor: str = "") -> list[Report]:
        """Sign, store and queue for release any mix of new reports and new versions, as
        one batch (one signature, one transaction): all of it, or nothing and an audit row
        saying why."""
        return self.publish_released(items, actor=actor)[0]

    def publish_released(
        self, items: Sequence[Item], *, actor: str = ""
    ) -> tuple[list[Report], dict[tuple[str, int], list[str]]]:
        """``publish_items``, also saying which partners each report was queued for."""
        drafts: list[Draft] = []
        try:
            if not items:
                raise ReportError("nothing to publish: give at least one item")
            versioned: set[str] = set()
            for item in items:
                label = self._parse_label(item.label)
                validate_payload(item.kind, item.payload)
                check_derived_from(item.derived_from)
                self._check_derivation(label, item.derived_from)
                if item.report_id is None:
                    drafts.append(Draft(item.kind, label, item.payload, item.derived_from))
                    continue
                if item.report_id in versioned:
                    raise ReportError(
                        f"report {item.report_id} appears twice in one batch", field="id"
                    )
                versioned.add(item.report_id)
                env = self._own_latest(item.report_id).envelope
                if env.kind != item.kind:
                    raise ReportError(
                        f"report {env.id} is a {env.kind}; a new version cannot make it a "
                        f"{item.kind}",
                        field="kind",
                    )
                drafts.append(
                    Draft(
                        item.kind, label, item.payload, item.derived_from, env.id, env.version + 1
                    )
                )
        except TrilinkError as err:
            self._audit_refused(err, actor)
            raise
        released: dict[tuple[str, int], list[str]] = {}
        return self._commit(drafts, actor=actor, released=released), released

    def edit(
        self,
        report_id: str,
        payload: dict[str, Any],
        *,
        label: Label | str | None = None,
        actor: str = "",
    ) -> Report:
        """A new version of one of this node's reports."""
        env = self._own_latest(report_id).envelope
        try:
            new_label = self._parse_label(label) if isinstance(label, str) else label
            new_label = new_label or self._parse_label(env.label)
            validate_payload(env.kind, payload)
            self._check_derivation(new_label, env.derived_from)
        except TrilinkError as err:
            self._audit_refused(err, actor)
            raise
        draft = Draft(env.kind, new_label, payload, env.derived_from, env.id, env.version + 1)
        return self._commit([draft], actor=actor)[0]

    def delete(self, report_id: str, reason: str = "", *, actor: str = "") -> Report:
        """A signed tombstone: a new version that marks the report deleted everywhere.

        Its label is computed, not chosen: REL TO this nation and the partners any earlier
        version was released to, at the lowest classification of those versions, with no
        caveat, so it reaches exactly the nodes that hold some version (a narrowing edit
        included) and no other.
        """
        env = self._own_latest(report_id).envelope
        labels = [
            self._parse_label(v.report.envelope.label)
            for v in self.store.versions(report_id, origin=self.nation)
        ]
        tombstone_label = Label(
            classification=min(lab.classification for lab in labels),
            rel_to=frozenset({self.nation, *self.store.partners_sent(self.nation, report_id)}),
            exercise=labels[-1].exercise,
            policy=labels[-1].policy,
        )
        validate_payload(TOMBSTONE, {"reason": reason})
        draft = Draft(TOMBSTONE, tombstone_label, {"reason": reason}, [], env.id, env.version + 1)
        return self._commit([draft], actor=actor)[0]

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
            input_labels.append((rid, self._parse_label(found.report.envelope.label)))
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
        if found.report.envelope.is_tombstone:
            raise ReportError(f"report {report_id} is already deleted", field="id")
        return found.report

    def _audit_refused(self, err: TrilinkError, actor: str) -> None:
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

    def _commit(
        self,
        drafts: list[Draft],
        *,
        actor: str,
        released: dict[tuple[str, int], list[str]] | None = None,
    ) -> list[Report]:
        with self._lock:
            with self.store.transaction():
                created = utc_timestamp()  # one publish act, one time
                # origin_seq never falls behind the clock (in microseconds), so a node restored
                # from an older copy of its database cannot hand out a number again that its
                # partners already hold from before the restore.
                first = self.store.next_counter(
                    f"origin_seq:{self.nation}",
                    len(drafts),
                    floor=int(parse_utc_timestamp(created).timestamp() * 1_000_000),
                )
                self.keys.refresh()
                self.keys.check_can_sign(parse_utc_timestamp(created))
                signer = self.keys.signer
                envelopes = [
                    build_envelope(
                        origin=self.nation,
                        origin_seq=first + i,
                        created=created,
                        kind=d.kind,
                        label=d.label,
                        payload=d.payload,
                        derived_from=d.derived_from,
                        report_id=d.report_id,
                        version=d.version,
                        payload_validated=True,  # every path into _commit validated it
                    )
                    for i, d in enumerate(drafts)
                ]
                reports = signer.sign(envelopes)
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
                entries += self._release(
                    [(d.label, d.kind) for d in drafts], reports, seqs, actor, released
                )
                self.store.audit(entries)
        self._notify(reports)
        return reports

    def release_again(self, reports: list[Report], seqs: list[int]) -> list[AuditEntry]:
        """Decide and queue reports of ours learned back from a partner after a restore."""
        return self._release(
            [(self._parse_label(r.envelope.label), r.envelope.kind) for r in reports],
            reports,
            seqs,
            "reclaim",
        )

    def _release(
        self,
        label_kinds: list[tuple[Label, str]],
        reports: list[Report],
        seqs: list[int],
        actor: str,
        released: dict[tuple[str, int], list[str]] | None = None,
    ) -> list[AuditEntry]:
        """Decide each report for each partner; queue what is allowed; the audit rows.
        ``released`` gets, per (id, version), the partners it was queued for."""
        if released is not None:
            for r in reports:
                released[(r.envelope.id, r.envelope.version)] = []
        entries: list[AuditEntry] = []
        digests = [hashlib.sha256(r.signed).digest() for r in reports]
        # decide() is pure: one call per distinct (label, kind) and partner.
        distinct: dict[tuple[Label, str], int] = {}
        slots = [distinct.setdefault(label_kind, len(distinct)) for label_kind in label_kinds]
        for partner in sorted(self.config.policy.partners):
            decided = [
                decide_label(label, self.nation, kind, partner, self.config.policy)
                for label, kind in distinct
            ]
            allowed: list[tuple[int, bytes]] = []
            for slot, report, seq, digest in zip(slots, reports, seqs, digests, strict=True):
                decision = decided[slot]
                env = report.envelope
                entries.append(
                    AuditEntry(
                        event="release",
                        outcome=decision.outcome,
                        reason=decision.reason,
                        partner=partner,
                        origin=self.nation,
                        report_id=env.id,
                        version=env.version,
                        actor=actor,
                    )
                )
                if decision.allow:
                    allowed.append((seq, digest))
                    if released is not None:
                        released[(env.id, env.version)].append(partner)
            self.store.enqueue(partner, allowed)
        return entries
