"""What the COP shows: the current state of every object this node holds.

Reports are living: a track's updates and a warning's issue, update and cancel are new
versions of one report (or, from engines that still publish each update as a new report, new
reports with the same track id, which the kind registry names). The index keeps, for each
object, its newest version (by observation time, then arrival), the path its track has
followed (a ``history`` line) and the report ids it superseded; the list and the map show the
current state only, the report panel every version. A cancelled warning (``ended`` in the
registry) leaves the map and stays in the list as cancelled; a tombstoned report leaves both.

The index reads the node's store incrementally (``reports(after_seq=...)``), so a refresh
when nothing changed is one indexed query; the SSE stream, the API, the downloads and
``trilink export`` share it. It is the COP's only gate on what leaves the node to a browser: a
report is visible when the release rule allows this nation to hold it
(``trilink.policy.may_hold``: this node originated it or its label releases it here). Ingest
already refuses anything else; checking again here means a store reached by any other path
still cannot leak.
"""

from __future__ import annotations

import bisect
import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from trilink.errors import LabelError, ProvenanceError, ReportError
from trilink.interop.items import Item, build_item, with_history
from trilink.interop.marking import Marking, overall_marking
from trilink.model.ids import parse_utc_timestamp
from trilink.model.kinds import decode_payload, spec_for
from trilink.model.label import Label, parse_label
from trilink.policy import may_hold
from trilink.provenance.signing import Verifier
from trilink.store.base import Store, StoredReport
from trilink.web.features import bbox_intersects
from trilink.web.filters import Filters

log = logging.getLogger(__name__)
P = TypeVar("P")

DERIVED_DEPTH = 6
# Positions kept per track for its history line: a missile's whole flight at one update per
# 2 s, a vessel's last hours.
HISTORY_POINTS = 600


@dataclass
class Entry:
    """One report as the COP shows it (its newest visible version)."""

    seq: int
    summary: dict[str, Any]
    label: Label
    created: datetime
    deleted: bool
    item: Item | None = None

    @property
    def superseded(self) -> bool:
        return bool(self.summary.get("superseded"))


@dataclass
class Track:
    """One object followed over reports or versions: where it has been, and which report is
    its newest state."""

    current: str = ""
    current_order: tuple[str, int] = ("", 0)
    # (observation time, seq, (lon, lat)) in time order
    positions: list[tuple[str, int, tuple[float, float]]] = field(default_factory=list)

    def add(self, observed: str, seq: int, where: tuple[float, float]) -> None:
        bisect.insort(self.positions, (observed, seq, where))
        if len(self.positions) > HISTORY_POINTS:
            del self.positions[0]

    def path_until(self, observed: str, seq: int) -> list[tuple[float, float]]:
        end = bisect.bisect_right(self.positions, (observed, seq, (999.0, 999.0)))
        return [p[2] for p in self.positions[:end]]


@dataclass
class ReportIndex:
    store: Store
    nation: str
    nations: frozenset[str]
    last_seq: int = 0
    entries: dict[str, Entry] = field(default_factory=dict)
    tracks: dict[str, Track] = field(default_factory=dict)
    # (seq, report id) of every visible change, in seq order: what SSE clients replay.
    changes: list[tuple[int, str]] = field(default_factory=list)
    # source report id -> the visible reports derived from it (a cyber indicator's sightings,
    # a maritime event's sanctions hits), in arrival order
    derived: dict[str, list[str]] = field(default_factory=dict)
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

    def _changed(self, seq: int, report_id: str) -> None:
        self.changes.append((seq, report_id))

    def _take(self, stored: StoredReport) -> None:
        env = stored.report.envelope
        if not self.visible(stored):
            return
        label = self.label_of(env.label)
        assert label is not None  # visible() parsed it
        current = self.entries.get(env.id)
        if env.is_tombstone:
            if current is not None and current.summary["version"] > env.version:
                return
            summary = {
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
                "title": "",
                "deleted": True,
                "features": [],
            }
            self.entries[env.id] = Entry(
                stored.seq, summary, label, parse_utc_timestamp(env.created), deleted=True
            )
            self._changed(stored.seq, env.id)
            return
        for ref in env.derived_from:
            products = self.derived.setdefault(ref, [])
            if env.id not in products:
                products.append(env.id)
        try:
            item = build_item(env, label, stored.seq)
        except ReportError as err:  # stored under a schema this version no longer accepts
            log.warning("COP %s: report %s cannot be shown: %s", self.nation, env.id, err)
            return
        track = self._track_of(item)
        if current is not None and current.summary["version"] > env.version:
            return  # an older version arrived late: its position is in the track's history
        if current is not None and current.deleted:
            return  # a version published before its tombstone
        entry = Entry(stored.seq, {}, label, parse_utc_timestamp(env.created), False, item)
        self.entries[env.id] = entry
        if track is None:
            entry.summary = self._summary(item)
            self._changed(stored.seq, env.id)
            return
        order = (item.observed, stored.seq)
        if track.current and track.current != env.id and order < track.current_order:
            # an older state of a track that a newer report already shows
            entry.summary = dict(self._summary(item), superseded=True, features=[])
            self._changed(stored.seq, env.id)
            newest = self.entries.get(track.current)
            if newest is not None and newest.item is not None:  # its history gained a point
                newest.summary = self._summary(newest.item)
                self._changed(stored.seq, track.current)
            return
        previous = track.current
        track.current, track.current_order = env.id, order
        entry.summary = self._summary(item)
        self._changed(stored.seq, env.id)
        before = self.entries.get(previous) if previous and previous != env.id else None
        if before is not None and not before.deleted:
            before.summary = dict(before.summary, superseded=True, features=[])
            self._changed(stored.seq, previous)

    def _track_of(self, item: Item) -> Track | None:
        if item.track_key is None:
            return None
        track = self.tracks.setdefault(item.track_key, Track())
        where = item.point()
        if item.spec.is_track and where is not None:
            track.add(item.observed, item.seq, where)
        return track

    def _summary(self, item: Item) -> dict[str, Any]:
        """What the browser gets of one report: its meta, its features (with its track's
        path), and how the list groups it."""
        if item.track_key is not None and item.spec.is_track:
            track = self.tracks[item.track_key]
            item = with_history(item, track.path_until(item.observed, item.seq))
        symbol = item.symbol
        summary = item.meta()
        summary.update(
            deleted=False,
            ended=item.ended,
            is_track=item.spec.is_track,
            group=item.spec.folder_name,
            symbol_name=symbol.describe(item.affiliation) if symbol else None,
            features=[] if item.ended else item.features,
        )
        if item.track_key is not None and self.entries.get(item.id) is not None:
            self.entries[item.id].item = item
        return summary

    def changed_since(self, seq: int) -> list[tuple[int, dict[str, Any]]]:
        """(change seq, newest summary) of every report that changed after ``seq``, in the
        order of their last change; a report superseded by a newer one of its track comes
        with ``superseded``, a deleted one with ``deleted``."""
        with self.lock:
            start = bisect.bisect_right(self.changes, (seq, "\uffff"))
            out: list[tuple[int, dict[str, Any]]] = []
            sent: set[str] = set()
            for change_seq, report_id in reversed(self.changes[start:]):
                if report_id not in sent:
                    sent.add(report_id)
                    out.append((change_seq, self.entries[report_id].summary))
            out.reverse()
            return out

    def select_entries(self, filters: Filters) -> list[Entry]:
        """Current reports passing ``filters`` (superseded and deleted ones left out), in
        arrival order; with a bbox, only reports with a feature in it (and only those)."""
        out: list[Entry] = []
        with self.lock:
            entries = sorted(self.entries.values(), key=lambda e: e.seq)
        for entry in entries:
            if entry.deleted or entry.superseded or not _passes(entry, filters):
                continue
            if filters.bbox is not None:
                box = filters.bbox
                feats = [
                    f for f in entry.summary["features"] if bbox_intersects(f["geometry"], box)
                ]
                if not feats:
                    continue
                assert entry.item is not None
                entry = Entry(
                    entry.seq,
                    dict(entry.summary, features=feats),
                    entry.label,
                    entry.created,
                    False,
                    replace(entry.item, features=feats),
                )
            out.append(entry)
        return out[-filters.limit :]

    def current_payloads(self, kind: str, payload_type: type[P]) -> list[P]:
        """The typed payload of the current version of every shown report of ``kind``."""
        with self.lock:
            return [
                e.item.payload
                for e in self.entries.values()
                if not e.deleted
                and not e.superseded
                and e.item is not None
                and e.item.kind == kind
                and isinstance(e.item.payload, payload_type)
            ]

    def select(self, filters: Filters) -> list[dict[str, Any]]:
        return [entry.summary for entry in self.select_entries(filters)]

    def marking(self, labels: list[str]) -> Marking:
        """The overall marking of portions labelled ``labels`` as this nation reads it."""
        parsed = [self.label_of(text) for text in labels]
        return overall_marking([lab for lab in parsed if lab is not None], self.nation)

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
                    **_version_facts(e.kind, bytes(e.payload), e.is_tombstone),
                }
            )
        audit = [row.as_dict() for row in self.store.audit_rows(report_id=report_id)]
        label = self.label_of(env.label)
        payload = {} if env.is_tombstone else env.payload_obj()
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
            "title": history[-1]["title"],
            "status": history[-1]["status"],
            "facts": _facts(env.kind, payload),
            "payload": payload,
            "signature_verified": history[-1]["signature_verified"],
            "versions": history,
            "derived_from": self._chain(env.derived_from, DERIVED_DEPTH, {env.id}),
            "derived_into": self._products(report_id),
            "audit": audit,
        }

    def _products(self, report_id: str) -> list[dict[str, Any]]:
        """The reports this node holds and shows that are derived from ``report_id``
        (current state, deleted ones left out), by origin nation."""
        out = []
        with self.lock:
            for rid in self.derived.get(report_id, []):
                entry = self.entries.get(rid)
                if entry is None or entry.deleted:
                    continue
                s = entry.summary
                out.append(
                    {
                        "id": rid,
                        "kind": s.get("kind"),
                        "origin": s.get("origin"),
                        "label": s.get("label"),
                        "title": s.get("title", ""),
                        "version": s.get("version"),
                    }
                )
        return sorted(out, key=lambda p: (str(p["origin"]), str(p["title"])))

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


def _version_facts(kind: str, raw: bytes, tombstone: bool) -> dict[str, Any]:
    """Title, status and observation time of one version (the panel's history rows)."""
    if tombstone:
        return {"title": "deleted", "status": "deleted", "observed": None}
    try:
        spec = spec_for(kind)
        payload = decode_payload(kind, raw)
    except ReportError:
        return {"title": kind, "status": None, "observed": None}
    return {
        "title": str(spec.title(payload)),
        "status": spec.status(payload),
        "observed": spec.observed(payload),
    }


def _facts(kind: str, payload: dict[str, Any]) -> list[list[Any]]:
    """The registry's panel fields of a payload, in order: [[field, value], ...]."""
    try:
        fields = spec_for(kind).panel
    except ReportError:
        return []
    return [[name, payload[name]] for name in fields if payload.get(name) not in (None, "", [])]


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
