"""Signed audit heads: the audit log anchored outside the node's own database.

The audit log is a hash chain (``trilink.store.audit``), so a row edited or deleted in the
middle is seen. But someone who can write the database can also re-hash every row after an
edit, delete the newest rows and move the head back, or replace the whole database with a
new one: the chain then verifies, because nothing outside the database remembers it. As
Certificate Transparency's witnesses do for logs, partners remember it:

* **Checkpoints.** Every ``CHECKPOINT_S`` seconds, or every ``CHECKPOINT_ROWS`` rows but at
  most once a second, and when the node stops (only if the log grew), the node signs its
  audit head with its report-signing key: a ``SignedHead`` (``trilink.model.wire``) naming
  its nation, row ``seq`` and that row's ``hash``, when, and the previous checkpoint it
  follows, over ``DOMAIN`` so the signature can never be taken for anything else. It keeps
  its checkpoints (``audit_checkpoints``), committed durably before any can leave the node,
  and never signs one that does not extend the previous one: a log that no longer holds its
  own last signed head raises an alarm instead.
* **Witnesses.** Every batch a node sends carries its newest checkpoint, its checkpoints
  since the one it knows the receiver holds (the receiver's own batches tell it), the
  checkpoint that began its current epoch, and the head it holds for the receiver. A
  receiver checks them against the sender's signing keys and keeps the newest head it can
  reach from the one it held by consecutive links (``audit_witness``); a head it cannot
  link yet waits for the path. A head that goes back (an older epoch, a lower row, the same
  row with another hash, or heads that do not pass through the one held) is refused and
  audited as "history rewritten or truncated", and the one held is kept: a log started
  again on an empty database never replaces it, however long it grows.
* **Self-check.** The head a partner holds for us comes back with its batches: if our log
  does not hold that row with that hash, the node raises an alarm (log at ERROR, an audit
  row, ``audit_alarm`` in its status under that partner's link). ``trilink audit verify``
  asks each partner for it (``/v1/audit-head``) and checks the same.
* **Epochs.** ``trilink node restore`` legitimately sends a log back to an older row. It
  signs a checkpoint that begins a new epoch (``restore``: the backup's newest row, which
  backup) with the node's signing key, which is on disk, not in the database; partners
  record the change as a restore, not as tampering, and ``audit verify`` reports it. The
  epoch is the restore's Unix time (0: never restored), so every restore's epoch is above
  every earlier one even when the database it replaced could not be read.

Detected: rows deleted from the end, rows edited and re-hashed, a database emptied or
swapped for another copy, as far back as the newest head a partner witnessed (or that the
node's own checkpoints still hold). Not detected: a change to rows no partner has
witnessed yet (written since the last checkpoint that reached a partner), and any change
made by someone who holds the node's signing key and runs the restore procedure (that is
recorded, at every partner, as a restore).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from trilink.errors import FederationError, ProvenanceError
from trilink.model.ids import parse_utc_timestamp, utc_timestamp
from trilink.model.wire import MAX_HEAD_PATH, AuditHeads, RestoreNote, SignedHead
from trilink.node.config import NodeConfig
from trilink.node.keys import KeyRing
from trilink.provenance.pki import (
    CertifiedKey,
    load_signing_key,
    own_ca_certs,
    verify_certified_key,
)
from trilink.provenance.signing import Signer, Verifier, verify_statement
from trilink.provenance.trust import load_revocations, verify_revocation
from trilink.store import Store
from trilink.store.audit import GENESIS, AuditEntry, ChainProblem, verify_chain

log = logging.getLogger(__name__)

DOMAIN = b"trilink/audit-head/v1\x00"
CHECKPOINT_S = 10.0
CHECKPOINT_ROWS = 10_000
MIN_CHECKPOINT_S = 1.0  # at most one checkpoint a second, however fast rows come
MAX_ANSWER_BYTES = 64 * 1024
EVENT = "audit-head"

_head_decoder = msgspec.json.Decoder(SignedHead)


class WitnessAnswer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A node's answer at ``/v1/audit-head``: the newest signed head of the caller's audit
    log that ``witness`` holds, the head that began its epoch, and any alarm it raised."""

    witness: Annotated[str, Meta(max_length=8)]
    nation: Annotated[str, Meta(max_length=8)]
    head: SignedHead | None = None
    epoch_start: SignedHead | None = None
    received_at: Annotated[str, Meta(max_length=40)] = ""
    alarm: Annotated[str, Meta(max_length=4096)] = ""


_answer_decoder = msgspec.json.Decoder(WitnessAnswer)


def read_witness_answer(body: bytes) -> WitnessAnswer:
    """A partner's ``/v1/audit-head`` answer, or ``FederationError`` saying why not."""
    if len(body) > MAX_ANSWER_BYTES:
        raise FederationError(f"its answer is {len(body)} bytes; at most {MAX_ANSWER_BYTES}")
    try:
        return _answer_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        raise FederationError(f"its answer is not a signed audit head: {err}") from None
    except RecursionError:
        raise FederationError("its answer is not a signed audit head: nested too deeply") from None


# -- the statement ---------------------------------------------------------------------------
def head_message(head: SignedHead) -> bytes:
    """What a signed head's signature covers (after ``DOMAIN``): every field but ``sig``."""
    restore = [head.restore.seq, head.restore.hash, head.restore.backup] if head.restore else None
    return msgspec.json.encode(
        [
            head.nation,
            head.epoch,
            head.seq,
            head.hash,
            head.prev_seq,
            head.prev_hash,
            head.at,
            head.key_id,
            restore,
        ]
    )


def sign_head(
    signer: Signer,
    *,
    epoch: int,
    head: tuple[int, str],
    prev: tuple[int, str],
    restore: RestoreNote | None = None,
) -> SignedHead:
    unsigned = SignedHead(
        nation=signer.certified.nation,
        epoch=epoch,
        seq=head[0],
        hash=head[1],
        prev_seq=prev[0],
        prev_hash=prev[1],
        at=utc_timestamp(),
        key_id=signer.key_id,
        restore=restore,
    )
    sig = signer.sign_statement(DOMAIN, head_message(unsigned))
    # decoded as a partner will decode it: a field out of bounds fails here, at its signer,
    # not in every batch that would carry it
    return _head_decoder.decode(msgspec.json.encode(msgspec.structs.replace(unsigned, sig=sig)))


def verify_head(head: SignedHead, nation: str, keys: Verifier) -> CertifiedKey:
    """The key that signed ``head``, if it is ``nation``'s, valid and not revoked when the
    head was signed; ``ProvenanceError`` saying why not otherwise."""
    if head.nation != nation:
        raise ProvenanceError(f"the head is {head.nation}'s, not {nation}'s")
    key = next((k for k in keys.keys() if k.key_id == head.key_id), None)
    if key is None:
        raise ProvenanceError(f"signed with key {head.key_id[:32]}, not a key of {nation}")
    if key.nation != nation:
        raise ProvenanceError(f"signed with {key.nation}'s key {key.key_id}, not {nation}'s")
    try:
        at = parse_utc_timestamp(head.at)
    except ValueError:
        raise ProvenanceError(f"signing time {head.at!r} is not a valid time") from None
    if not key.valid_at(at):
        raise ProvenanceError(f"signed {head.at}, outside key {key.key_id}'s validity")
    revoked = keys.revoked_at(key.key_id)
    if revoked is not None and at > revoked:
        raise ProvenanceError(f"signed {head.at} by key {key.key_id}, revoked from {revoked}")
    verify_statement(key, DOMAIN, head_message(head), head.sig)
    return key


def head_text(head: SignedHead) -> str:
    return msgspec.json.encode(head).decode("utf-8")


def read_head(text: str) -> SignedHead | None:
    """A stored signed head, or None if the text is not one (a damaged or forged row)."""
    try:
        return _head_decoder.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def epoch_name(epoch: int) -> str:
    if epoch == 0:
        return "the original log"
    when = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return f"the log restored at {when:%Y-%m-%d %H:%M:%S} UTC"


# -- judging heads ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Judgement:
    """What a partner's heads mean against the one we hold: ``same``, ``stale`` (one we
    held before), ``advance`` or ``restore`` (to ``accepted``), ``pending`` (the new head
    may descend from ours, but no signed path shows it yet), or ``back`` (refused: history
    rewritten or truncated; ``reason`` says how)."""

    verdict: str
    reason: str = ""
    accepted: SignedHead | None = None
    walked: tuple[SignedHead, ...] = ()


_BACK = "history rewritten or truncated"


def judge(
    partner: str,
    held: SignedHead,
    chain: Sequence[SignedHead],
    start: SignedHead | None,
    recent: Mapping[int, str] = {},
) -> Judgement:
    """``partner``'s signed heads ``chain`` (its path, newest last; every signature verified)
    against ``held``, the newest head of its log we witnessed. ``start``: the verified head
    that began the newest head's epoch (None: not sent, or it did not verify); ``recent``:
    heads we held before (seq -> hash), which a batch that was long in flight may carry."""
    new = chain[-1]
    if (new.epoch, new.seq, new.hash) == (held.epoch, held.seq, held.hash):
        return Judgement("same")
    if recent.get(new.seq) == new.hash or (new.seq, new.hash) == (held.prev_seq, held.prev_hash):
        return Judgement("stale")
    if new.epoch < held.epoch:
        return Judgement(
            "back",
            f"{partner}'s signed audit head (row {new.seq}) is from {epoch_name(new.epoch)}, "
            f"older than {epoch_name(held.epoch)} we witnessed up to row {held.seq}: {_BACK}",
        )
    if new.epoch > held.epoch:
        if start is None or start.epoch != new.epoch or start.restore is None:
            return Judgement(
                "back",
                f"{partner}'s signed audit head (row {new.seq}) begins a new epoch without a "
                f"signed restore; we witnessed row {held.seq} of {epoch_name(held.epoch)}: "
                f"{_BACK}",
            )
        if _time(start.at) <= _time(held.at):
            return Judgement(
                "back",
                f"{partner}'s restore was signed {start.at}, before the head we witnessed "
                f"(row {held.seq}, signed {held.at}): an old restore replayed, {_BACK}",
            )
        reached, walked, fork = _walk(start, chain)
        if fork:
            return Judgement(
                "back",
                f"{partner}'s signed audit heads do not descend from its signed restore at row "
                f"{start.seq} ({fork}): {_BACK}",
            )
        return Judgement("restore", accepted=reached or start, walked=(start, *walked))
    if new.seq < held.seq:
        return Judgement(
            "back",
            f"{partner}'s signed audit head is row {new.seq}, but we witnessed row {held.seq} "
            f"(signed {held.at}): {_BACK}",
        )
    if new.seq == held.seq:
        return Judgement(
            "back",
            f"{partner}'s signed audit head for row {new.seq} has hash {new.hash[:16]}, but "
            f"we witnessed {held.hash[:16]} for that row: {_BACK}",
        )
    reached, walked, fork = _walk(held, chain)
    if fork:
        return Judgement(
            "back",
            f"{partner}'s signed audit heads do not descend from the head of row {held.seq} "
            f"we witnessed ({fork}): {_BACK}",
        )
    if reached is None:
        return Judgement("pending")
    return Judgement("advance", accepted=reached, walked=walked)


def _walk(
    anchor: SignedHead, chain: Sequence[SignedHead]
) -> tuple[SignedHead | None, tuple[SignedHead, ...], str]:
    """Follow ``chain`` from ``anchor`` by consecutive links: (the furthest head reached or
    None, the heads walked, '' or how the chain leaves ``anchor``'s history)."""
    current, walked = anchor, []
    for head in sorted(chain, key=lambda h: h.seq):
        if head.epoch != anchor.epoch:
            continue
        if head.seq <= current.seq:
            if head.seq == current.seq and head.hash != current.hash:
                return None, (), f"its head of row {head.seq} has another hash"
            continue
        if (head.prev_seq, head.prev_hash) == (current.seq, current.hash):
            current = head
            walked.append(head)
            continue
        if head.prev_seq <= current.seq:
            return None, (), f"its head of row {head.seq} follows row {head.prev_seq}"
        break  # heads in between were not sent: the rest cannot be checked yet
    return (current if walked else None), tuple(walked), ""


def _time(text: str) -> dt.datetime:
    try:
        return parse_utc_timestamp(text)
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class LogState:
    """What a node's own log and checkpoints say, to check a head of ours against."""

    head: tuple[int, str]
    epoch: int
    restores: Sequence[SignedHead]
    hash_at: Callable[[int], str | None]


def check_own_head(head: SignedHead, log_state: LogState, who: str) -> tuple[str, str]:
    """(status, message) of a head of our log that ``who`` holds: ``matches``,
    ``left-behind`` (a signed restore of ours went back past it) or ``differs`` (our log
    does not hold it: history rewritten, truncated or replaced)."""
    signed = f"signed by us {head.at}"
    if head.epoch > log_state.epoch:
        return (
            "differs",
            f"{who} holds our head of row {head.seq} from {epoch_name(head.epoch)} ({signed}), "
            f"but this log is {epoch_name(log_state.epoch)}: the database was replaced by an "
            "older copy without 'trilink node restore' (history rewritten or truncated)",
        )
    if head.epoch < log_state.epoch:
        later = [r.restore.seq for r in log_state.restores if r.epoch > head.epoch and r.restore]
        if later and head.seq > min(later):
            return (
                "left-behind",
                f"{who} last saw row {head.seq} of {epoch_name(head.epoch)}; a signed restore of "
                f"ours went back to row {min(later)} after that",
            )
    held = log_state.hash_at(head.seq)
    if held is None:
        end = log_state.head[0]
        lost = f"rows {end + 1}-{head.seq}" if head.seq > end else f"row {head.seq}"
        return (
            "differs",
            f"{who} holds our head of row {head.seq} (hash {head.hash[:16]}, {signed}), but "
            f"this log ends at row {end}: {lost} deleted (history truncated or replaced)",
        )
    if held != head.hash:
        return (
            "differs",
            f"{who} holds our head of row {head.seq} (hash {head.hash[:16]}, {signed}), but "
            f"row {head.seq} here has hash {held[:16]}: the log was rewritten at or before "
            f"row {head.seq}",
        )
    return "matches", f"{who} holds our head of row {head.seq} ({signed}): this log holds it"


# -- the node's side -------------------------------------------------------------------------
class AuditAnchors:
    """One node's checkpoints and the heads it witnesses. Every method that touches the
    store runs under the node's lock."""

    def __init__(self, config: NodeConfig, store: Store, keys: KeyRing, lock: threading.RLock):
        self.config = config
        self.nation = config.nation
        self.store = store
        self.keys = keys
        self._lock = lock
        self.interval_s = CHECKPOINT_S
        self.interval_rows = CHECKPOINT_ROWS
        self._own: SignedHead | None = None  # our newest checkpoint, once loaded or signed
        self._own_loaded = False
        self._restores: list[SignedHead] = []  # our checkpoints that began an epoch
        self._signed_mono = -1e18
        self._signing_problem = ""
        self._alarms: dict[tuple[str, str], str] = {}
        # partner -> what we last took from it, so an unchanged batch costs nothing
        self._seen: dict[str, tuple[str, ...]] = {}
        self._compared: dict[str, str] = {}
        # partner -> its head we hold (for its batches), our head it holds (for our path)
        self._witnessed: dict[str, SignedHead | None] = {}
        self._held_by: dict[str, SignedHead] = {}
        self._recent: dict[str, dict[int, str]] = {}
        self._encoded: dict[str, tuple[tuple[str, ...], bytes]] = {}

    # -- our own checkpoints -----------------------------------------------------------------
    def checkpoint_if_due(self) -> None:
        """Sign a checkpoint if the last one is ``interval_s`` old, or ``interval_rows``
        rows behind and ``MIN_CHECKPOINT_S`` old (otherwise one read of the audit head)."""
        since = time.monotonic() - self._signed_mono
        if since < self.interval_s:
            own = self._newest_own()
            if own is None or since < MIN_CHECKPOINT_S:
                return
            head = self.store.audit_head()
            if head is None or head[0] - own.seq < self.interval_rows:
                return
        self.checkpoint()

    def checkpoint(self) -> SignedHead | None:
        """Sign the audit head now if the log grew since our last checkpoint and still
        holds it; the new checkpoint, or None."""
        with self._lock:
            self._signed_mono = time.monotonic()
            try:
                self.keys.refresh()
                self.keys.check_can_sign(dt.datetime.now(dt.UTC))
            except ProvenanceError as err:
                if str(err) != self._signing_problem:
                    log.warning("not signing the audit head: %s", err)
                self._signing_problem = str(err)
                return None
            self._signing_problem = ""
            with self.store.durable_transaction():
                head = self.store.locked_audit_head()
                usable, prev = self._load_own()
                if not usable or head[0] == 0:
                    return None
                if prev is not None and (prev.seq, prev.hash) == head:
                    return None
                if prev is not None and self.store.audit_hash_at(prev.seq) != prev.hash:
                    _status, message = check_own_head(
                        prev, self._log_state(), "our last checkpoint"
                    )
                    self._alarm("", "own", f"our audit log: {message}; no new head is signed")
                    return None
                signed = sign_head(
                    self.keys.signer,
                    epoch=prev.epoch if prev else 0,
                    head=head,
                    prev=(prev.seq, prev.hash) if prev else (0, GENESIS),
                )
                self.store.add_checkpoint(
                    signed.seq, signed.epoch, signed.hash, head_text(signed), starts_epoch=False
                )
            self._own = signed
            self._alarms.pop(("", "own"), None)
            return signed

    def newest(self) -> SignedHead | None:
        """Our newest signed head (None before the first)."""
        return self._newest_own()

    def _newest_own(self) -> SignedHead | None:
        if not self._own_loaded:
            with self._lock:
                self._load_own()
        return self._own

    def _load_own(self) -> tuple[bool, SignedHead | None]:
        """Read our newest checkpoint: (False, None) if the store holds one we did not
        sign (an alarm: nothing may follow it), else (True, it or None)."""
        rows = self.store.checkpoints(newest=1)
        own = read_head(rows[0][1]) if rows else None
        try:
            if rows and (own is None or own.seq != rows[0][0]):
                raise ProvenanceError("it is not a signed head of its row")
            if own is not None:
                verify_head(own, self.nation, self.keys.verifier)
        except ProvenanceError as err:
            self._alarm(
                "",
                "own",
                f"our audit log: our newest signed head (row {rows[0][0]}) is forged: {err}",
            )
            return False, None
        if own is not None and own.epoch and (not self._own_loaded or self._epoch() != own.epoch):
            self._restores = _verified(
                self.store.checkpoints(epoch_starts=True), self.nation, self.keys.verifier
            )
        self._own, self._own_loaded = own, True
        return True, own

    def _epoch(self) -> int:
        return self._own.epoch if self._own else 0

    def _log_state(self) -> LogState:
        self._newest_own()
        return LogState(
            head=self.store.audit_head() or (0, GENESIS),
            epoch=self._epoch(),
            restores=self._restores,
            hash_at=self.store.audit_hash_at,
        )

    def _epoch_start(self) -> SignedHead | None:
        epoch = self._epoch()
        return (
            next((r for r in reversed(self._restores) if r.epoch == epoch), None)
            if epoch
            else None
        )

    # -- what we send ------------------------------------------------------------------------
    def heads_for(self, partner: str) -> bytes:
        """The ``audit`` field of a batch for ``partner`` (empty before our first head)."""
        with self._lock:
            own = self._newest_own()
            if own is None:
                return b""
            if partner not in self._witnessed:
                held = self.store.witnessed_head(partner)
                self._witnessed[partner] = read_head(held[0]) if held else None
            theirs = self._witnessed[partner]
            known = self._held_by.get(partner)
            key = (own.sig, known.sig if known else "", theirs.sig if theirs else "")
            cached = self._encoded.get(partner)
            if cached is not None and cached[0] == key:
                return cached[1]
            heads = AuditHeads(
                head=own,
                path=self._path_from(known, own),
                epoch_start=self._epoch_start(),
                witnessed=theirs,
            )
            encoded = msgspec.json.encode(heads)
            self._encoded[partner] = (key, encoded)
            return encoded

    def _path_from(self, known: SignedHead | None, own: SignedHead) -> list[SignedHead]:
        """Our checkpoints after ``known`` (the head of ours the partner holds), up to
        ``MAX_HEAD_PATH``: from the start of our epoch if it holds one of an earlier epoch."""
        if known is None or (known.seq, known.hash) == (own.seq, own.hash):
            return []
        after = known.seq
        if known.epoch != own.epoch:
            start = self._epoch_start()
            if start is None:
                return []
            after = start.seq - 1
        rows = self.store.checkpoints(after=after, limit=MAX_HEAD_PATH)
        return [h for h in (read_head(text) for _seq, text in rows) if h is not None]

    def witness_answer(self, nation: str) -> bytes:
        """What we answer ``nation`` at ``/v1/audit-head``: its head as we hold it."""
        with self._lock:
            held = self.store.witnessed_head(nation)
            alarm = self._alarms.get((nation, "theirs"), "")
        head, start = (read_head(held[0]), read_head(held[1])) if held else (None, None)
        answer = WitnessAnswer(
            witness=self.nation,
            nation=nation,
            head=head,
            epoch_start=start,
            received_at=held[2] if held else "",
            alarm=alarm[:4096],
        )
        return msgspec.json.encode(answer)

    # -- what we receive ---------------------------------------------------------------------
    def worth_taking(self, sender: str, heads: AuditHeads | None) -> bool:
        """Whether a batch's heads would change anything here (read-only)."""
        if heads is None:
            return False
        if _fingerprint(heads) != self._seen.get(sender):
            return True
        return heads.witnessed is not None and heads.witnessed.sig != self._compared.get(sender)

    def receive(self, sender: str, heads: AuditHeads | None) -> None:
        """Take the heads a batch from ``sender`` carries. Runs inside the caller's
        transaction, after the batch's certificates were learned."""
        if heads is None:
            return
        with self._lock:
            seen = _fingerprint(heads)
            if seen != self._seen.get(sender):
                self._take(sender, heads)
                self._seen[sender] = seen
            mine = heads.witnessed
            if mine is not None and mine.sig != self._compared.get(sender):
                self._compare(sender, mine)
                self._compared[sender] = mine.sig

    def _take(self, sender: str, heads: AuditHeads) -> None:
        chain = [h for h in heads.path if h.sig != heads.head.sig] + [heads.head]
        try:
            for head in chain:
                verify_head(head, sender, self.keys.verifier)
        except ProvenanceError as err:
            self._refuse(sender, f"{sender}'s signed audit head refused: {err}")
            return
        new = heads.head
        held_row = self.store.witnessed_head(sender)
        held = read_head(held_row[0]) if held_row else None
        start = heads.epoch_start
        if held is not None and new.epoch > held.epoch and start is not None:
            try:
                verify_head(start, sender, self.keys.verifier)
            except ProvenanceError as err:
                log.warning("%s's signed restore refused: %s", sender, err)
                start = None
        if held is None:
            verdict = Judgement("first", accepted=new, walked=(new,))
        else:
            verdict = judge(sender, held, chain, start, self._recent.get(sender, {}))
        if verdict.verdict == "back":
            self._alarm(sender, "theirs", verdict.reason)
            return
        accepted = verdict.accepted
        if accepted is None:
            return  # same, stale, or pending until the sender sends the path to its head
        if held is None:
            self._audit_event(
                sender,
                "witnessed",
                f"first signed audit head of {sender}: row {new.seq} of {epoch_name(new.epoch)}",
            )
        elif verdict.verdict == "restore" and start is not None and start.restore is not None:
            message = (
                f"{sender} restored its audit log from a backup ({start.restore.backup}): it "
                f"went back to row {start.restore.seq}; we had witnessed up to row {held.seq} "
                f"of {epoch_name(held.epoch)}; {epoch_name(start.epoch)} starts at row "
                f"{start.seq}"
            )
            log.warning("%s", message)
            self._audit_event(sender, "restore", message)
        if (
            accepted.epoch > 0
            and start is None
            and held_row
            and held
            and held.epoch == accepted.epoch
        ):
            start = read_head(held_row[1]) if held_row[1] else None
        kept_start = start if start is not None and start.epoch == accepted.epoch else None
        self.store.set_witnessed_head(
            sender,
            (accepted.epoch, accepted.seq, accepted.hash),
            head_text(accepted),
            head_text(kept_start) if kept_start else "",
        )
        self._witnessed[sender] = accepted
        recent = self._recent.setdefault(sender, {})
        if verdict.verdict == "restore":
            recent.clear()
        for head in verdict.walked:
            recent[head.seq] = head.hash
        while len(recent) > MAX_HEAD_PATH:
            del recent[min(recent)]
        self._alarms.pop((sender, "theirs"), None)

    def _compare(self, sender: str, mine: SignedHead) -> None:
        try:
            verify_head(mine, self.nation, self.keys.verifier)
        except ProvenanceError as err:
            self._refuse(
                sender, f"{sender} returned a head of our audit log we did not sign: {err}"
            )
            return
        self._held_by[sender] = mine
        status, message = check_own_head(mine, self._log_state(), sender)
        if status == "differs":
            self._alarm(sender, "ours", f"our audit log: {message}")
        else:
            self._alarms.pop((sender, "ours"), None)

    def _audit_event(self, partner: str, outcome: str, reason: str) -> None:
        self._audit(
            AuditEntry(
                event=EVENT, outcome=outcome, partner=partner, origin=partner, reason=reason
            )
        )

    def _refuse(self, sender: str, reason: str) -> None:
        log.warning("%s", reason)
        self._audit(AuditEntry(event=EVENT, outcome="rejected", partner=sender, reason=reason))

    def _alarm(self, partner: str, kind: str, message: str) -> None:
        """Something only tampering (or a broken restore) explains: log at ERROR, audit,
        and show it in the status under the partner's link (every link: ``partner`` '')."""
        if self._alarms.get((partner, kind)) == message:
            return
        self._alarms[(partner, kind)] = message
        log.error("%s", message)
        origin = partner if kind == "theirs" else self.nation
        self._audit(
            AuditEntry(
                event=EVENT, outcome="alarm", partner=partner, origin=origin, reason=message
            )
        )

    def _audit(self, entry: AuditEntry) -> None:
        # joins the caller's transaction (ingest, checkpoint); its own when there is none
        with self._lock, self.store.transaction():
            self.store.audit([entry])

    def alarm_for(self, partner: str) -> str:
        """Every audit alarm that concerns ``partner``'s link ('' when there is none)."""
        keys = (("", "own"), (partner, "ours"), (partner, "theirs"))
        return "; ".join(text for key in keys if (text := self._alarms.get(key, "")))


def _fingerprint(heads: AuditHeads) -> tuple[str, ...]:
    return (
        heads.head.sig,
        *(h.sig for h in heads.path),
        heads.epoch_start.sig if heads.epoch_start else "",
    )


def _verified(rows: Sequence[tuple[int, str]], nation: str, keys: Verifier) -> list[SignedHead]:
    """The signed heads among ``rows`` that ``nation`` signed (others are left out)."""
    found = []
    for _seq, text in rows:
        head = read_head(text)
        if head is None:
            continue
        try:
            verify_head(head, nation, keys)
        except ProvenanceError:
            continue
        found.append(head)
    return found


# -- offline: restore and verify -------------------------------------------------------------
def own_verifier(config: NodeConfig) -> Verifier:
    """This nation's signing keys as its own directory certifies them (its CA, its
    signing certificates and revocations), not as its database lists them."""
    cas = own_ca_certs(config.dir)
    paths = [config.dir / "signing.crt", *sorted(config.dir.glob("signing-*.crt"))]
    verifier = Verifier(verify_certified_key(p.read_bytes(), cas) for p in paths if p.is_file())
    for text in load_revocations(config.dir):
        rev = verify_revocation(text, cas)
        verifier.revoke(rev.key_id, rev.revoked_time, rev.reason)
    return verifier


def own_signer(config: NodeConfig) -> Signer:
    """This node's current signing key, refused if it may not sign now."""
    now = dt.datetime.now(dt.UTC)
    key, certified = load_signing_key(config.dir, at=now)
    revoked = own_verifier(config).revoked_at(certified.key_id)
    if revoked is not None and now > revoked:
        raise ProvenanceError(
            f"signing key {certified.key_id} is revoked: run 'trilink pki rotate --dir "
            f"{config.dir}' first"
        )
    return Signer(key, certified)


def sign_restore(
    config: NodeConfig, store: Store, signer: Signer, backup: str, restored_to: tuple[int, str]
) -> SignedHead:
    """Begin a new epoch after ``trilink node restore``: sign the head (the row that
    records the restore) as following the backup's newest checkpoint, with what was
    restored. Runs inside the caller's transaction, after that row."""
    head = store.locked_audit_head()
    verifier = own_verifier(config)
    rows = store.checkpoints(newest=1)
    prev = read_head(rows[0][1]) if rows else None
    if rows:
        if prev is None:
            raise ProvenanceError(
                f"the backup's newest signed audit head (row {rows[0][0]}) is damaged"
            )
        verify_head(prev, config.nation, verifier)
    epoch = max(int(time.time()), (prev.epoch + 1) if prev else 1)
    signed = sign_head(
        signer,
        epoch=epoch,
        head=head,
        prev=(prev.seq, prev.hash) if prev else (0, GENESIS),
        restore=RestoreNote(
            seq=restored_to[0], hash=restored_to[1] or GENESIS, backup=backup[:300]
        ),
    )
    store.add_checkpoint(signed.seq, epoch, signed.hash, head_text(signed), starts_epoch=True)
    return signed


@dataclass
class PartnerCheck:
    """What one partner said about our log: ``matches``, ``differs``, ``left-behind``,
    ``none`` (it holds no head of ours yet), ``unreachable`` or ``forged``."""

    partner: str
    status: str
    message: str
    head: SignedHead | None = None

    def as_json_obj(self) -> dict[str, Any]:
        head = self.head
        return {
            "status": self.status,
            "message": self.message,
            "witnessed": None
            if head is None
            else {"epoch": head.epoch, "seq": head.seq, "hash": head.hash, "signed_at": head.at},
        }


@dataclass
class AuditVerification:
    """``trilink audit verify``: the chain, our own checkpoints, and our partners' word."""

    nation: str
    rows: int
    head: tuple[int, str] | None
    epoch: int = 0
    checkpoints: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    partners: list[PartnerCheck] = field(default_factory=list)
    restores: list[SignedHead] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def unasked(self) -> list[str]:
        return [p.partner for p in self.partners if p.status == "unreachable"]

    def as_json_obj(self) -> dict[str, Any]:
        return {
            "nation": self.nation,
            "intact": self.intact,
            "rows": self.rows,
            "head": None if self.head is None else {"seq": self.head[0], "hash": self.head[1]},
            "epoch": self.epoch,
            "checkpoints": self.checkpoints,
            "problems": [{"seq": p.seq, "message": p.message} for p in self.problems],
            "partners": {p.partner: p.as_json_obj() for p in self.partners},
            "unreachable": self.unasked,
            "restores": [
                {
                    "epoch": r.epoch,
                    "signed_at": r.at,
                    "seq": r.seq,
                    "restored_to": r.restore.seq if r.restore else None,
                    "backup": r.restore.backup if r.restore else "",
                }
                for r in self.restores
            ],
        }


def verify_log(
    store: Store, config: NodeConfig, answers: Mapping[str, bytes | str]
) -> AuditVerification:
    """Check ``store``'s audit log: its hash chain, the node's own signed checkpoints, and
    the heads partners witnessed (``answers``: each partner's ``/v1/audit-head`` body, or
    why it could not be asked). Ask the partners first: a head they hold was signed, so
    kept here, before they could hold it."""
    verifier = own_verifier(config)
    with store.read_snapshot():
        rows = store.audit_rows()
        head = store.audit_head()
        stored = store.checkpoints()
    result = AuditVerification(config.nation, len(rows), head)
    result.problems = verify_chain(rows, head)
    hashes = {r.seq: r.hash for r in rows}
    own: list[SignedHead] = []
    prev = (0, GENESIS, 0)
    for seq, text in stored:
        signed = read_head(text)
        try:
            if signed is None or signed.seq != seq:
                raise ProvenanceError("it is not a signed head of this row")
            verify_head(signed, config.nation, verifier)
        except ProvenanceError as err:
            result.problems.append(
                ChainProblem(seq, f"our signed head of row {seq} is forged: {err}")
            )
            continue
        if (signed.prev_seq, signed.prev_hash) != prev[:2]:
            result.problems.append(
                ChainProblem(
                    seq,
                    f"our signed head of row {seq} follows one of row {signed.prev_seq}, but the "
                    f"one before it here is of row {prev[0]}: signed heads were deleted",
                )
            )
        if signed.epoch != prev[2] and (signed.restore is None or signed.epoch < prev[2]):
            result.problems.append(
                ChainProblem(seq, f"our signed head of row {seq} changes epoch without a restore")
            )
        prev = (signed.seq, signed.hash, signed.epoch)
        own.append(signed)
    result.checkpoints = len(own)
    result.epoch = own[-1].epoch if own else 0
    result.restores = [h for h in own if h.restore is not None]
    state = LogState(
        head=head or (0, GENESIS),
        epoch=result.epoch,
        restores=result.restores,
        hash_at=hashes.get,
    )
    for signed in own:
        status, message = check_own_head(signed, state, "our own checkpoint")
        if status == "differs":
            result.problems.append(ChainProblem(signed.seq, message))
    for partner in sorted(answers):
        check = _partner_check(partner, answers[partner], config.nation, verifier, state)
        result.partners.append(check)
        if check.status in ("differs", "forged") and check.head is not None:
            result.problems.append(ChainProblem(check.head.seq, check.message))
        elif check.status == "forged":
            result.problems.append(ChainProblem(0, check.message))
    result.problems.sort(key=lambda p: p.seq)
    return result


def _partner_check(
    partner: str, answer: bytes | str, nation: str, verifier: Verifier, state: LogState
) -> PartnerCheck:
    if isinstance(answer, str):
        return PartnerCheck(partner, "unreachable", f"could not ask {partner}: {answer}")
    try:
        decoded = read_witness_answer(answer)
    except FederationError as err:
        return PartnerCheck(partner, "unreachable", f"could not ask {partner}: {err}")
    if decoded.witness != partner or decoded.nation != nation:
        return PartnerCheck(
            partner, "forged", f"{partner} answered for {decoded.witness} about {decoded.nation}"
        )
    if decoded.head is None:
        return PartnerCheck(partner, "none", f"{partner} holds no signed head of ours yet")
    try:
        verify_head(decoded.head, nation, verifier)
    except ProvenanceError as err:
        return PartnerCheck(
            partner,
            "forged",
            f"{partner} answered with a head of our log that we did not sign: {err}",
            decoded.head,
        )
    status, message = check_own_head(decoded.head, state, partner)
    if decoded.alarm:
        message += f" ({partner}'s alarm: {decoded.alarm})"
    return PartnerCheck(partner, status, message, decoded.head)


__all__ = [
    "CHECKPOINT_ROWS",
    "CHECKPOINT_S",
    "DOMAIN",
    "AuditAnchors",
    "AuditVerification",
    "WitnessAnswer",
    "judge",
    "own_signer",
    "sign_head",
    "sign_restore",
    "verify_head",
    "verify_log",
]
