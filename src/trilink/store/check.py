"""Is this store intact? The quick check a node runs at start-up (``open_store(check=True)``)
and the full check of ``trilink node check``.

Quick (start-up; measured in docs/benchmarks/store.md):

* engine: SQLite's ``PRAGMA quick_check`` (every page and b-tree of the file); PostgreSQL:
  nothing beyond what each query meets (see ``PostgresStore.engine_problems``)
* schema: every table trilink creates is there, every migration this trilink knows is
  applied and none it does not know, the audit head record exists
* newest: the newest ``NEWEST`` reports decode and match their columns and payload hashes;
  the newest ``NEWEST`` audit rows chain up to the recorded head

Full (``trilink node check``): the engine's full check (SQLite ``PRAGMA integrity_check``,
PostgreSQL amcheck when installed), the schema, every report (decodes, matches its columns
and payload hash, its signature verifies with the keys the store holds), every signing key
loads, every outbox item points at a stored report, and the whole audit chain.

Random bytes written over a page's structure are found by the engine check; bytes that land
inside a row's value (valid pages, wrong content) only by reading that row, which the
start-up check does for the newest rows and the full check for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from trilink.errors import ProvenanceError, ReportError, StoreError
from trilink.model.canonical import sha256_hex
from trilink.model.report import Signature, decode_envelope
from trilink.provenance.pki import load_certified_key
from trilink.provenance.signing import Verifier
from trilink.store.audit import GENESIS, AuditRow, verify_chain
from trilink.store.base import MIGRATIONS, DamagedStoreError, Store

NEWEST = 1000  # rows of reports and of the audit log the start-up check reads
PAGE = 1000  # rows per query in the full check
LISTED = 50  # problems listed per check; the rest are counted
_REPORT_COLUMNS = (
    "seq, origin, id, version, origin_seq, kind, label, tombstone, envelope, signature"
)
_signature_decoder = msgspec.json.Decoder(Signature)


@dataclass(frozen=True, slots=True)
class Problem:
    check: str  # engine, schema, reports, keys, outbox, audit
    message: str

    def line(self) -> str:
        return f"{self.check}: {self.message}"


@dataclass
class CheckResult:
    database: str
    full: bool
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def add(self, check: str, message: str | StoreError) -> None:
        if isinstance(message, DamagedStoreError):
            message = message.damage  # the advice is given once, after the list
        message = str(message)
        listed = sum(1 for p in self.problems if p.check == check)
        if listed < LISTED:
            self.problems.append(Problem(check, message))
        else:
            self.counts[f"{check} problems not listed"] = (
                self.counts.get(f"{check} problems not listed", 0) + 1
            )

    def as_json_obj(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "check": "full" if self.full else "quick",
            "healthy": self.healthy,
            "problems": [{"check": p.check, "message": p.message} for p in self.problems],
            "notes": self.notes,
            "counts": self.counts,
        }


def check_store(store: Store, *, full: bool) -> CheckResult:
    """Every problem the quick or the full check finds; each step runs even when an earlier
    one failed, so one damaged table does not hide another."""
    result = CheckResult(database=store.name, full=full)
    _engine(store, result, full=full)
    _content(store, result, full=full)
    return result


def refuse_if_damaged(store: Store, *, stage: str) -> None:
    """The start-up check, in two stages around migration: ``engine`` (before anything is
    written) and ``content``. Raises a one-line StoreError naming the damage."""
    result = CheckResult(database=store.name, full=False)
    if stage == "engine":
        _engine(store, result, full=False)
    else:
        _content(store, result, full=False)
    if result.healthy:
        return
    first = result.problems[0].line()
    more = (
        len(result.problems)
        - 1
        + sum(n for k, n in result.counts.items() if k.endswith("not listed"))
    )
    raise StoreError(
        f"refusing to use {store.name}: it is damaged ({first}"
        f"{f'; and {more} more' if more else ''}). List the damage with "
        f"'trilink node check --db {store.name}' and restore the database from a backup "
        "(docs/store.md)"
    )


def _brief(err: StoreError) -> str:
    return err.damage if isinstance(err, DamagedStoreError) else str(err)


def _engine(store: Store, result: CheckResult, *, full: bool) -> None:
    try:
        problems, notes = store.engine_problems(full=full)
    except StoreError as err:
        result.add("engine", err)
        return
    for problem in problems:
        result.add("engine", problem)
    result.notes.extend(notes)


def _content(store: Store, result: CheckResult, *, full: bool) -> None:
    if not _schema(store, result):
        return  # the tables the other steps read are not all there
    steps: list[tuple[str, Callable[[], None]]] = [
        ("reports", lambda: _reports(store, result, full=full)),
        ("audit", lambda: _audit(store, result, full=full)),
    ]
    if full:
        steps.append(("outbox", lambda: _outbox(store, result)))
    for name, step in steps:
        try:
            step()
        except StoreError as err:
            result.add(name, err)


# -- schema --------------------------------------------------------------------------------
_CREATE_TABLE_RE = re.compile(r"CREATE TABLE (\w+)")


def expected_tables() -> list[str]:
    """Every table the migrations create, and the migrations' own table."""
    names = ["schema_migrations"]
    for _version, _name, statements in MIGRATIONS:
        for statement in statements:
            names.extend(_CREATE_TABLE_RE.findall(statement))
    return names


def _schema(store: Store, result: CheckResult) -> bool:
    """Schema problems; False when the content steps cannot run."""
    try:
        missing = [t for t in expected_tables() if not store.table_exists(t)]
        if "schema_migrations" in missing:
            result.add(
                "schema",
                "table schema_migrations is missing: this is not a trilink node database, or "
                "its schema was destroyed",
            )
            return False
        applied = {int(r[0]) for r in store.query("SELECT version FROM schema_migrations")}
        known = {version for version, _name, _statements in MIGRATIONS}
        newer = sorted(applied - known)
        if newer:
            result.add(
                "schema",
                f"migration {newer[-1]} was applied by a newer trilink than this one (which "
                f"knows up to {max(known)}): run that version",
            )
        unapplied = sorted(known - applied)
        if unapplied:
            result.add("schema", f"migrations {unapplied} are not applied")
        for table in missing:
            result.add("schema", f"table {table} is missing")
        if "audit_head" not in missing and store.audit_head() is None:
            result.add("schema", "the audit head record (audit_head row 1) is missing")
        result.counts["schema version"] = max(applied, default=0)
        return not missing
    except StoreError as err:
        result.add("schema", err)
        return False


# -- reports -------------------------------------------------------------------------------
def _reports(store: Store, result: CheckResult, *, full: bool) -> None:
    result.counts["reports"] = int(store.query("SELECT COUNT(*) FROM reports")[0][0])
    if full:
        verifier: Verifier | None = Verifier(_keys(store, result))
        after = 0
    else:
        verifier = None  # signatures only in the full check: they cost more than reading
        newest = store.query(
            "SELECT MIN(seq) FROM (SELECT seq FROM reports ORDER BY seq DESC LIMIT ?) AS newest",
            (NEWEST,),
        )
        after = int(newest[0][0] or 1) - 1
    for row in _report_rows(store, result, after):
        _check_report_row(row, verifier, result)


def _report_rows(store: Store, result: CheckResult, after: int) -> Iterator[tuple[Any, ...]]:
    """Every readable report row after row ``after``, in seq order; a row the engine cannot
    read is a problem, and the scan goes on after it."""
    while True:
        try:
            seqs = [
                int(r[0])
                for r in store.query(
                    "SELECT seq FROM reports WHERE seq > ? ORDER BY seq LIMIT ?", (after, PAGE)
                )
            ]
        except StoreError as err:
            result.add(
                "reports", f"the table cannot be read past report row {after}: {_brief(err)}"
            )
            return
        if not seqs:
            return
        try:
            yield from store.query(
                f"SELECT {_REPORT_COLUMNS} FROM reports WHERE seq BETWEEN ? AND ? ORDER BY seq",
                (seqs[0], seqs[-1]),
            )
        except StoreError:
            for seq in seqs:  # find the rows that cannot be read, one by one
                try:
                    yield from store.query(
                        f"SELECT {_REPORT_COLUMNS} FROM reports WHERE seq = ?", (seq,)
                    )
                except StoreError as err:
                    result.add("reports", f"report row {seq} cannot be read: {_brief(err)}")
        after = seqs[-1]


def _check_report_row(row: Sequence[Any], verifier: Verifier | None, result: CheckResult) -> None:
    seq, origin, rid, version, origin_seq, kind, label, tombstone, envelope, signature = row
    where = f"report row {seq} ({str(origin)[:8]} {str(rid)[:36]} v{version})"
    signed = bytes(envelope)
    try:
        env = decode_envelope(signed)
    except ReportError as err:
        result.add("reports", f"{where}: the signed envelope does not decode ({err})")
        return
    columns = {
        "origin": (origin, env.origin),
        "id": (rid, env.id),
        "version": (version, env.version),
        "origin_seq": (origin_seq, env.origin_seq),
        "kind": (kind, env.kind),
        "label": (label, env.label),
        "tombstone": (bool(tombstone), env.is_tombstone),
    }
    differ = [name for name, (stored, signed_value) in columns.items() if stored != signed_value]
    if differ:
        result.add("reports", f"{where}: column {', '.join(differ)} differs from the envelope")
    if sha256_hex(bytes(env.payload)) != env.payload_sha256:
        result.add("reports", f"{where}: the payload does not match its payload_sha256")
        return
    try:
        sig = _signature_decoder.decode(signature)
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        result.add("reports", f"{where}: the signature record does not decode ({err})")
        return
    if verifier is not None:
        try:
            verifier.verify(signed, env, sig)
        except ProvenanceError as err:
            result.add("reports", f"{where}: the signature does not verify ({err})")


def _keys(store: Store, result: CheckResult) -> list[Any]:
    keys = []
    for key_id, cert_pem in store.query("SELECT key_id, cert_pem FROM keys ORDER BY key_id"):
        try:
            key = load_certified_key(cert_pem)
        except (ProvenanceError, ValueError) as err:
            result.add(
                "keys", f"signing key {str(key_id)[:64]}: certificate does not load ({err})"
            )
            continue
        if key.key_id != key_id:
            result.add(
                "keys", f"signing key {str(key_id)[:64]}: certificate holds key {key.key_id}"
            )
            continue
        keys.append(key)
    result.counts["signing keys"] = len(keys)
    return keys


# -- outbox --------------------------------------------------------------------------------
def _outbox(store: Store, result: CheckResult) -> None:
    rows = store.query(
        "SELECT o.partner, o.pseq, o.report_seq FROM outbox o "
        "LEFT JOIN reports r ON r.seq = o.report_seq WHERE r.seq IS NULL "
        "ORDER BY o.partner, o.pseq LIMIT ?",
        (LISTED + 1,),
    )
    for partner, pseq, report_seq in rows:
        result.add(
            "outbox",
            f"item {pseq} queued for {partner} points at report row {report_seq}, which is "
            "not stored",
        )
    result.counts["outbox items"] = int(store.query("SELECT COUNT(*) FROM outbox")[0][0])


# -- audit ---------------------------------------------------------------------------------
def _audit(store: Store, result: CheckResult, *, full: bool) -> None:
    # one snapshot: a node appending while this reads must not look like a broken chain
    with store.read_snapshot():
        head = store.audit_head()
        if head is None:
            return  # named by the schema step
        first = 1 if full else max(1, head[0] - NEWEST + 1)
        rows = _audit_rows_from(store, first)
        # the start-up check trusts the link into its window; the full check starts at genesis
        prev_hash = GENESIS if first == 1 else None
        for problem in verify_chain(rows, head, first_seq=first, prev_hash=prev_hash):
            result.add("audit", problem.message)
        result.counts["audit rows"] = head[0]


def _audit_rows_from(store: Store, first: int) -> Iterator[AuditRow]:
    after = first - 1
    while True:
        rows = store.audit_rows(after=after, limit=PAGE * 5)
        yield from rows
        if len(rows) < PAGE * 5:
            return
        after = rows[-1].seq
