"""What the COP shows: the latest visible version of every report this node holds.

The index reads the node's store incrementally (``reports(after_seq=...)``), so a refresh
when nothing changed is one indexed query; the SSE stream and the API share it. It is the
COP's only gate on what leaves the node to a browser: a report is visible when the release
rule allows this nation to hold it (``trilink.policy.may_hold``: this node originated it or
its label releases it here). Ingest already refuses anything else; checking again here
means a store reached by any other path still cannot leak.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trilink.errors import LabelError, ProvenanceError
from trilink.model.ids import parse_utc_timestamp
from trilink.model.label import Caveat, Label, parse_label
from trilink.policy import may_hold
from trilink.provenance.signing import Verifier
from trilink.store.base import Store, StoredReport
from trilink.web.features import bbox_intersects, payload_title, report_features
from trilink.web.filters import Filters

DERIVED_DEPTH = 6


@dataclass
class Entry:
    """One report as the COP shows it (its latest version)."""

    seq: int
    summary: dict[str, Any]
    label: Label
    created: datetime
    deleted: bool


@dataclass
class ReportIndex:
    store: Store
    nation: str
    nations: frozenset[str]
    last_seq: int = 0
    entries: dict[str, Entry] = field(default_factory=dict)
    # (seq, report id) of every visible change, in seq order: what SSE clients replay.
    changes: list[tuple[int, str]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _labels: dict[str, Label | None] = field(default_factory=dict)

    def label_of(self, text: str) -> Label | None:
        if text not in self._labels:
            try:
                self._labels[text] = parse_label(text, nations=self.nations)
            except LabelError:
                self._labels[text] = None
        return self._labels[text]

    def visible(self, stored: StoredReport) -> bool:
        env = stored.report.envelope
        label = self.label_of(env.label)
        if label is None:  # a label this node cannot read: shown only to its originator
            return env.origin == self.nation
        return may_hold(label, env.origin, self.nation)

    def refresh(self, batch: int = 5000) -> int:
        """Read what the store gained since the last refresh; returns how many rows."""
        total = 0
        with self.lock:
            while True:
                rows = self.store.reports(after_seq=self.last_seq, limit=batch)
                for stored in rows:
                    self._take(stored)
                total += len(rows)
                if rows:
                    self.last_seq = rows[-1].seq
                if len(rows) < batch:
                    return total

    def _take(self, stored: StoredReport) -> None:
        env = stored.report.envelope
        if not self.visible(stored):
            return
        current = self.entries.get(env.id)
        if current is not None and current.summary["version"] > env.version:
            return
        label = self.label_of(env.label)
        assert label is not None  # visible() parsed it
        meta = {
            "id": env.id,
            "version": env.version,
            "kind": env.kind,
            "origin": env.origin,
            "label": env.label,
            "classification": label.classification.text,
            "level": label.classification.value,
            "exercise": label.exercise,
            "created": env.created,
            "seq": stored.seq,
        }
        if env.is_tombstone:
            summary = dict(meta, deleted=True, title="", features=[])
        else:
            payload = env.payload_obj()
            meta["title"] = payload_title(env.kind, payload)
            when = payload.get("time") or payload.get("start")
            meta["t"] = when if isinstance(when, str) else env.created
            if isinstance(payload.get("track_id"), (str, int)):
                # successive states of one track are separate reports: the map joins them
                meta["track_key"] = f"{env.origin}:{env.kind}:{payload['track_id']}"
            summary = dict(meta, deleted=False, features=report_features(meta, payload))
        self.entries[env.id] = Entry(
            seq=stored.seq,
            summary=summary,
            label=label,
            created=parse_utc_timestamp(env.created),
            deleted=env.is_tombstone,
        )
        self.changes.append((stored.seq, env.id))

    def changed_since(self, seq: int) -> list[dict[str, Any]]:
        """Summaries (latest versions) of reports that changed after ``seq``, in seq order."""
        with self.lock:
            start = bisect.bisect_right(self.changes, (seq, "\uffff"))
            out: list[dict[str, Any]] = []
            for change_seq, report_id in self.changes[start:]:
                entry = self.entries[report_id]
                if entry.seq == change_seq:  # skip versions superseded since
                    out.append(entry.summary)
            return out

    def select(self, filters: Filters) -> list[dict[str, Any]]:
        """Current reports passing ``filters``; with a bbox, only reports with a feature in it
        (and only those features)."""
        out: list[dict[str, Any]] = []
        with self.lock:
            entries = sorted(self.entries.values(), key=lambda e: e.seq)
        for entry in entries:
            if entry.deleted or not _passes(entry, filters):
                continue
            summary = entry.summary
            if filters.bbox is not None:
                feats = [
                    f for f in summary["features"] if bbox_intersects(f["geometry"], filters.bbox)
                ]
                if not feats:
                    continue
                summary = dict(summary, features=feats)
            out.append(summary)
        return out[-filters.limit :]

    # -- one report -----------------------------------------------------------------------
    def held(self, report_id: str) -> list[StoredReport]:
        """Every visible stored version of ``report_id`` (empty if the node holds none)."""
        return [s for s in self.store.versions(report_id) if self.visible(s)]

    def detail(self, report_id: str, verifier: Verifier) -> dict[str, Any] | None:
        versions = self.held(report_id)
        if not versions:
            return None
        latest = versions[-1]
        env = latest.report.envelope
        history = []
        for stored in versions:
            e = stored.report.envelope
            history.append(
                {
                    "version": e.version,
                    "kind": e.kind,
                    "label": e.label,
                    "created": e.created,
                    "stored_at": stored.stored_at,
                    "received_from": stored.received_from,
                    "signature_verified": _verified(stored, verifier),
                    "signing_key": stored.report.signature.key_id,
                    "tombstone": e.is_tombstone,
                }
            )
        audit = [
            {
                "seq": row.seq,
                "at": row.at,
                "event": row.entry.event,
                "outcome": row.entry.outcome,
                "partner": row.entry.partner,
                "version": row.entry.version,
                "actor": row.entry.actor,
                "reason": row.entry.reason,
            }
            for row in self.store.audit_rows(report_id=report_id)
        ]
        label = self.label_of(env.label)
        return {
            "id": env.id,
            "origin": env.origin,
            "origin_seq": env.origin_seq,
            "version": env.version,
            "kind": env.kind,
            "label": env.label,
            "classification": label.classification.text if label else "",
            "exercise": bool(label and label.exercise),
            "created": env.created,
            "received_from": latest.received_from,
            "deleted": env.is_tombstone,
            "payload": {} if env.is_tombstone else env.payload_obj(),
            "signature_verified": history[-1]["signature_verified"],
            "versions": history,
            "derived_from": self._chain(env.derived_from, DERIVED_DEPTH, {env.id}),
            "audit": audit,
        }

    def _chain(self, refs: list[str], depth: int, seen: set[str]) -> list[dict[str, Any]]:
        """The derived-from tree. A source this node does not hold is shown by id only: the
        id is already in the signed envelope, anything more would leak."""
        out: list[dict[str, Any]] = []
        for ref in refs:
            held = self.held(ref) if ref not in seen else []
            if not held:
                out.append({"id": ref, "held": False, "sources": []})
                continue
            env = held[-1].report.envelope
            seen.add(ref)
            out.append(
                {
                    "id": ref,
                    "held": True,
                    "kind": env.kind,
                    "origin": env.origin,
                    "label": env.label,
                    "version": env.version,
                    "sources": self._chain(env.derived_from, depth - 1, seen) if depth > 1 else [],
                }
            )
        return out


def _verified(stored: StoredReport, verifier: Verifier) -> bool:
    report = stored.report
    try:
        verifier.verify(report.signed, report.envelope, report.signature)
    except ProvenanceError:
        return False
    return True


def _passes(entry: Entry, f: Filters) -> bool:
    s = entry.summary
    if f.kinds is not None and s["kind"] not in f.kinds:
        return False
    if f.origins is not None and s["origin"] not in f.origins:
        return False
    if f.classifications is not None and entry.label.classification not in f.classifications:
        return False
    if f.label_contains is not None and f.label_contains not in s["label"]:
        return False
    if f.exercise == "live" and entry.label.exercise:
        return False
    if f.exercise == "exercise" and not entry.label.exercise:
        return False
    if f.until is not None and entry.created > f.until:
        return False
    return f.since is None or entry.created >= f.since


def overall_label(labels: list[Label]) -> dict[str, Any]:
    """The banner for a set of features: highest classification, REL TO common to all,
    every caveat; UNCLASSIFIED when empty."""
    if not labels:
        return {"classification": "UNCLASSIFIED", "level": 0, "text": "UNCLASSIFIED"}
    top = max(lab.classification for lab in labels)
    rel = frozenset.intersection(*(lab.rel_to for lab in labels))
    caveats = frozenset().union(*(lab.caveats for lab in labels))
    parts = [top.text]
    if any(lab.exercise for lab in labels):
        parts.insert(0, "EXERCISE")
    if Caveat.NOFORN in caveats:
        parts.append("NOFORN")
    else:
        if rel:
            parts.append("REL TO " + ", ".join(sorted(rel, key=lambda n: (n != "USA", n))))
        if caveats:
            parts.append("/".join(sorted(c.value for c in caveats)))
    return {"classification": top.text, "level": top.value, "text": "//".join(parts)}
