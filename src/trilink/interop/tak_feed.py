"""What a node streams to its TAK server: every report it stores, in store order, from a
cursor kept on disk, so that a node restarted while its TAK server was down sends what the
server missed (``TakFeed``).

The feed reads the node's store (through ``read(after_seq, limit)``, the daemon's
connection), keeps what this nation may hold (``trilink.policy.may_hold``), builds each
report's item from the kind registry and hands the newest state of each object (its CoT uid)
to the ``TakStream``; a withdrawn report (tombstone) becomes TAK's delete event for the
object it was showing. A backlog (a first start, a long outage) is read in up to 50,000-row
steps keeping only the newest state of each object: TAK gets the picture, not every state of
every track since the store began (and only states handed over have their map features
built, the costly part). An older state of a track that arrives after a newer one (a
partner's late report) is not sent: TAK would move the object back.

The cursor file (``tak-cursor.json`` beside node.toml) holds the server's address and the
store sequence below which everything was written to the server (``TakStream.resume_point``);
it is written at most once a second and when the node stops. A new server address starts
from the beginning of the store (TAK drops what is already stale). While the stream's queue
is nearly full the feed stops reading, so nothing is pushed out of it: the cursor waits.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from trilink.errors import LabelError, ReportError
from trilink.interop.items import build_item, iso_utc
from trilink.interop.tak_stream import TakStream
from trilink.model.kinds import decode_payload, spec_for
from trilink.model.label import Label
from trilink.model.report import Envelope
from trilink.policy import may_hold

log = logging.getLogger(__name__)
CURSOR_FILE = "tak-cursor.json"
BATCH = 1000
CATCH_UP_BATCHES = 50  # at most 50,000 store rows read before handing over
POLL_S = 1.0
SAVE_EVERY_S = 1.0
MAX_OBJECTS = 1_000_000  # objects whose newest state the feed remembers


@dataclass(frozen=True, slots=True)
class _State:
    """The newest state of one object in a step: a stored version, or its deletion."""

    seq: int
    env: Envelope
    label: Label | None  # None: the report was withdrawn, delete the object


def read_cursor(path: Path, server: str) -> int:
    """The store sequence to resume after for ``server`` (0: from the start)."""
    try:
        doc = json.loads(path.read_text("utf-8")[:10_000])
    except (OSError, ValueError):
        return 0
    if not isinstance(doc, dict) or doc.get("server") != server:
        return 0
    seq = doc.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else 0


def write_cursor(path: Path, server: str, seq: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"server": server, "seq": seq}) + "\n", "utf-8")
    os.replace(tmp, path)


class TakFeed:
    """Feeds ``stream`` from the store; ``wake()`` when the node stored reports."""

    def __init__(
        self,
        stream: TakStream,
        *,
        nation: str,
        read: Callable[[int, int], Sequence[tuple[int, Envelope]]],
        label_of: Callable[[str], Label],
        cursor_path: Path,
    ) -> None:
        self.stream = stream
        self.nation = nation
        self.read = read
        self.label_of = label_of
        self.cursor_path = cursor_path
        self.server = stream.config.address
        self.handed = read_cursor(cursor_path, self.server)
        self.saved = self.handed
        # uid -> (observed, seq, report id) of the newest state handed over
        self._newest: dict[str, tuple[str, int, str]] = {}
        self._uid_of_report: dict[str, str] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.skipped = 0  # reports that could not be shown (label or payload unreadable)

    @property
    def cursor(self) -> int:
        return self.stream.resume_point(self.handed)

    def wake(self, *_: object) -> None:
        self._wake.set()

    def start(self) -> None:
        log.info(
            "TAK stream to %s: resuming after store sequence %d",
            self.server,
            self.handed,
            extra={"fields": {"server": self.server, "cursor": self.handed}},
        )
        self.stream.start()
        self._thread = threading.Thread(target=self._run, name="tak-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.stream.stop()
        self.save()

    def save(self) -> None:
        cursor = self.cursor
        if cursor != self.saved:
            try:
                write_cursor(self.cursor_path, self.server, cursor)
                self.saved = cursor
            except OSError as err:
                log.warning("TAK stream: cannot write %s: %s", self.cursor_path, err)

    def step(self) -> int:
        """Hand over what the store gained since the cursor; returns how many store rows
        were read. Reading a backlog (a first start, a long outage), the newest state of
        each object is kept over up to ``CATCH_UP_BATCHES`` batches and only that is handed
        over: a track's history is not replayed to TAK state by state."""
        room = self.stream.config.queue_max - self.stream.pending
        if room < max(1, self.stream.config.queue_max // 10):
            return 0
        states: dict[str, _State] = {}
        last, total = self.handed, 0
        for _ in range(CATCH_UP_BATCHES):
            rows = self.read(last, BATCH)
            full = False
            for seq, env in rows:
                if len(states) >= room:
                    full = True  # the rest waits for room in the stream's queue
                    break
                self._take(seq, env, states)
                last = seq
                total += 1
            if full or len(rows) < BATCH:
                break
        for uid, state in states.items():
            if state.label is None:
                self.stream.delete(uid, state.env.label, seq=state.seq)
                continue
            try:  # the map features (ellipses on the ellipsoid) only for states handed over
                item = build_item(state.env, state.label, state.seq)
            except ReportError as err:
                self.skipped += 1
                log.warning("TAK stream: report %s cannot be shown: %s", state.env.id, err)
                continue
            self.stream.publish([item], seq=state.seq)
        self.handed = last
        return total

    def _take(self, seq: int, env: Envelope, states: dict[str, _State]) -> None:
        """Put the state of one stored version in ``states`` (uid -> its newest state;
        ``label`` None: delete the object). Only the payload is decoded here."""
        try:
            label = self.label_of(env.label)
        except LabelError:
            self.skipped += 1  # a label this node cannot read: not streamed
            return
        if not may_hold(label, env.origin, self.nation):
            return
        if env.is_tombstone:
            uid = self._uid_of_report.pop(env.id, None)
            if uid is not None:
                self._newest.pop(uid, None)
                states.pop(uid, None)
                states[uid] = _State(seq, env, None)
            return
        kinds = self.stream.config.kinds
        if (kinds is not None and env.kind not in kinds) or (
            label.exercise and not self.stream.config.exercise
        ):
            return
        try:
            spec = spec_for(env.kind)
            payload = decode_payload(env.kind, bytes(env.payload))
            if not tuple(spec.shapes(payload)):
                return  # nowhere on a map: nothing for TAK
            track = spec.track(payload)
            observed = iso_utc(spec.observed(payload)) or env.created
        except ReportError as err:
            self.skipped += 1
            log.warning("TAK stream: report %s cannot be shown: %s", env.id, err)
            return
        # the CoT uid, as trilink.interop.cot.uid_of names an item's
        uid = f"trilink:{env.origin}:{env.kind}:{track}" if track else f"trilink:{env.id}"
        known = self._newest.get(uid)
        if known is not None and (observed, seq) < known[:2]:
            return  # an older state that arrived late: TAK would move the object back
        if known is not None and known[2] != env.id:
            self._uid_of_report.pop(known[2], None)
        if len(self._newest) >= MAX_OBJECTS and known is None:
            self._newest.clear()  # bounded memory: forget the order of old objects
            self._uid_of_report.clear()
        self._newest[uid] = (observed, seq, env.id)
        self._uid_of_report[env.id] = uid
        states.pop(uid, None)
        states[uid] = _State(seq, env, label)

    def _run(self) -> None:
        last_save = time.monotonic()
        while not self._stop.is_set():
            try:
                read = self.step()
            except Exception as err:  # a store error: log it, retry on the next poll
                log.warning("TAK stream: reading the store failed: %s", err)
                read = 0
            if time.monotonic() - last_save >= SAVE_EVERY_S:
                self.save()
                last_save = time.monotonic()
            if read < BATCH:
                self._wake.wait(POLL_S)
                self._wake.clear()
