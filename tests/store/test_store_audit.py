"""The audit hash chain: verify_chain on built rows, then tampering with a real database.

The database tests run on both engines and tamper with SQL the way an insider with database
access would; each asserts that the first problem reported names the right row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trilink.errors import StoreError
from trilink.store import Store, open_store
from trilink.store.audit import (
    FIELD_CHARS,
    GENESIS,
    REASON_CHARS,
    TEXT_FIELDS,
    AuditEntry,
    AuditRow,
    row_hash,
    storable,
    verify_chain,
)

AT = "2026-11-23T16:00:00.000000Z"


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        event="release",
        outcome="allow" if i % 2 else "deny",
        reason=f"reason {i}",
        partner="USA",
        origin="JPN",
        report_id=f"r{i}",
        version=1,
        actor="analyst",
    )


def chain(n: int) -> list[AuditRow]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        digest = row_hash(prev, seq, AT, entry(seq))
        rows.append(AuditRow(seq=seq, at=AT, entry=entry(seq), prev_hash=prev, hash=digest))
        prev = digest
    return rows


def head_of(rows: list[AuditRow]) -> tuple[int, str]:
    return (rows[-1].seq, rows[-1].hash) if rows else (0, GENESIS)


# -- pure --------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 10])
def test_intact_chain_has_no_problems(n: int) -> None:
    rows = chain(n)
    assert verify_chain(rows, head_of(rows)) == []


def test_row_hash_covers_every_field() -> None:
    base = row_hash(GENESIS, 1, AT, entry(1))
    e = entry(1)
    variants = [
        row_hash("1" * 64, 1, AT, e),
        row_hash(GENESIS, 2, AT, e),
        row_hash(GENESIS, 1, AT.replace("16", "17"), e),
    ]
    for field in ("event", "outcome", "reason", "partner", "origin", "report_id", "actor"):
        changed = msgspec.structs.replace(e, **{field: getattr(e, field) + "x"})
        variants.append(row_hash(GENESIS, 1, AT, changed))
    variants.append(row_hash(GENESIS, 1, AT, msgspec.structs.replace(e, version=2)))
    assert base not in variants
    assert len(set(variants)) == len(variants)


@pytest.mark.parametrize("seq", [1, 5, 10])
def test_edited_row_is_named(seq: int) -> None:
    rows = chain(10)
    head = head_of(rows)
    old = rows[seq - 1]
    rows[seq - 1] = AuditRow(
        seq=seq, at=old.at, entry=entry(99), prev_hash=old.prev_hash, hash=old.hash
    )
    problems = verify_chain(rows, head)
    assert [(p.seq, "edited" in p.message) for p in problems] == [(seq, True)]


@pytest.mark.parametrize("seq", [1, 4, 9])
def test_deleted_row_is_named(seq: int) -> None:
    rows = chain(10)
    head = head_of(rows)
    del rows[seq - 1]
    problems = verify_chain(rows, head)
    assert problems[0].seq == seq
    assert f"row {seq} deleted" in problems[0].message


def test_deleted_range_is_named() -> None:
    rows = chain(10)
    head = head_of(rows)
    del rows[3:6]
    problems = verify_chain(rows, head)
    assert problems[0].seq == 4
    assert "rows 4-6 deleted" in problems[0].message


def test_rehashed_forgery_is_caught_by_the_next_row() -> None:
    """Row 5 replaced by a forgery whose own hash is correct: row 6 no longer follows it."""
    rows = chain(10)
    head = head_of(rows)
    forged_hash = row_hash(rows[3].hash, 5, AT, entry(99))
    rows[4] = AuditRow(seq=5, at=AT, entry=entry(99), prev_hash=rows[3].hash, hash=forged_hash)
    problems = verify_chain(rows, head)
    assert [p.seq for p in problems] == [6]
    assert "does not follow" in problems[0].message


def test_inserted_duplicate_seq_is_named() -> None:
    rows = chain(6)
    head = head_of(rows)
    rows.insert(3, rows[2])  # row 3 appears twice
    problems = verify_chain(rows, head)
    assert problems[0].seq == 3
    assert "inserted" in problems[0].message


def test_truncated_log_is_caught_by_the_head() -> None:
    rows = chain(10)
    head = head_of(rows)
    problems = verify_chain(rows[:7], head)
    assert [(p.seq, "8-10 deleted from the end" in p.message) for p in problems] == [(8, True)]
    problems = verify_chain([], head)
    assert problems[0].seq == 1


def test_missing_or_mismatched_head() -> None:
    rows = chain(3)
    assert verify_chain(rows, None)[0].seq == 3
    assert "head record is missing" in verify_chain(rows, None)[0].message
    problems = verify_chain(rows, (3, "f" * 64))
    assert [p.seq for p in problems] == [3]


# -- on a real database (both engines) ---------------------------------------------------


def fill(store: Store, batches: tuple[int, ...] = (4, 1, 5)) -> int:
    n = 0
    for size in batches:
        with store.transaction():
            store.audit([entry(n + i + 1) for i in range(size)])
        n += size
    return n


def problems_of(store: Store) -> list[tuple[int, str]]:
    return [(p.seq, p.message) for p in verify_chain(store.audit_rows(), store.audit_head())]


def test_appended_rows_verify(store: Store) -> None:
    assert store.audit_head() == (0, GENESIS)
    assert problems_of(store) == []
    n = fill(store)
    rows = store.audit_rows()
    assert [r.seq for r in rows] == list(range(1, n + 1))
    assert [r.entry for r in rows] == [entry(i) for i in range(1, n + 1)]
    assert store.audit_head() == (n, rows[-1].hash)
    assert problems_of(store) == []
    assert [r.seq for r in store.audit_rows(report_id="r3")] == [3]
    assert [r.seq for r in store.audit_rows(after=7, limit=2)] == [8, 9]


def test_audit_rolls_back_with_its_transaction(store: Store) -> None:
    fill(store, (2,))
    with pytest.raises(RuntimeError), store.transaction():
        store.audit([entry(3), entry(4)])
        raise RuntimeError
    assert store.audit_head() is not None and store.audit_head()[0] == 2  # type: ignore[index]
    fill(store, (1,))
    assert problems_of(store) == []


def test_db_update_of_a_reason_is_named_as_edited(store: Store) -> None:
    fill(store)
    store.execute("UPDATE audit SET reason = ? WHERE seq = ?", ("nothing to see", 4))
    problems = problems_of(store)
    assert problems[0][0] == 4
    assert "edited" in problems[0][1]
    assert len(problems) == 1


def test_db_delete_of_a_middle_row_is_named(store: Store) -> None:
    fill(store)
    store.execute("DELETE FROM audit WHERE seq = ?", (5,))
    problems = problems_of(store)
    assert problems[0] == (5, "row 5 deleted")


def test_db_insert_of_a_forged_row_is_detected(store: Store) -> None:
    n = fill(store)
    last = store.audit_rows()[-1]
    forged = AuditEntry(event="release", outcome="allow", reason="forged", partner="KOR")
    digest = row_hash(last.hash, n + 1, AT, forged)
    store.execute(
        "INSERT INTO audit (seq, at, event, outcome, reason, partner, origin, report_id, "
        "version, actor, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (n + 1, AT, "release", "allow", "forged", "KOR", "", "", 0, "", last.hash, digest),
    )
    problems = problems_of(store)
    assert problems[0][0] == n + 1
    assert "head" in problems[0][1]


@pytest.mark.parametrize("forged_seq", [0, -3])
def test_db_insert_before_the_first_row_is_refused(store: Store, forged_seq: int) -> None:
    """A row numbered below the chain cannot even be written (CHECK seq > 0)."""
    fill(store)
    with pytest.raises(StoreError):
        store.execute(
            "INSERT INTO audit (seq, at, event, outcome, reason, partner, origin, report_id, "
            "version, actor, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (forged_seq, AT, "release", "allow", "x", "KOR", "", "r1", 0, "", GENESIS, "0" * 64),
        )
    assert len(store.query("SELECT seq FROM audit")) == 10
    assert problems_of(store) == []


def test_verification_reads_rows_outside_the_numbering() -> None:
    """Even a row that slipped past the constraint (an old schema) would be read and named."""
    rows = [
        AuditRow(
            seq=0,
            at=AT,
            entry=AuditEntry(event="release", outcome="allow"),
            prev_hash=GENESIS,
            hash="0" * 64,
        )
    ]
    assert verify_chain(rows, (0, GENESIS))[0].seq == 0


def test_db_delete_of_the_last_rows_is_caught_by_the_head(store: Store) -> None:
    n = fill(store)
    store.execute("DELETE FROM audit WHERE seq > ?", (n - 2,))
    problems = problems_of(store)
    assert problems == [(n - 1, f"rows {n - 1}-{n} deleted from the end")]


def test_concurrent_writers_keep_one_chain(store: Store, store_url: str) -> None:
    """Two connections appending at once (node + CLI) still build a single valid chain."""
    other = open_store(store_url)
    errors: list[BaseException] = []

    def writer(target: Store, tag: int) -> None:
        try:
            for i in range(15):
                with target.transaction():
                    target.audit([entry(tag * 100 + i), entry(tag * 100 + i + 50)])
        except BaseException as err:  # collected and re-raised in the test thread
            errors.append(err)

    threads = [
        threading.Thread(target=writer, args=(store, 1)),
        threading.Thread(target=writer, args=(other, 2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert errors == []
    assert len(store.audit_rows()) == 60
    assert problems_of(store) == []


# -- bounded rows (issue 15 finding 4) --------------------------------------------------

EIGHT_MIB = 8 * 2**20


def test_an_oversized_field_is_stored_as_its_start_and_its_hash(store: Store) -> None:
    """A partner's 8 MiB label became an 8 MiB audit row that could never be pruned."""
    label = "SECRET//REL TO USA, JPN" + "X" * EIGHT_MIB
    with store.transaction():
        store.audit(
            [
                AuditEntry(event="inbound", outcome="rejected", reason=label, partner="JPN"),
                AuditEntry(event="cop", outcome="login-failed", actor="u" * EIGHT_MIB),
            ]
        )
    rejected, login = store.audit_rows()
    reason = rejected.entry.reason
    assert len(reason) <= REASON_CHARS and reason.startswith("SECRET//REL TO USA, JPN")
    assert f"{len(label):,} characters" in reason
    assert hashlib.sha256(label.encode()).hexdigest() in reason
    assert len(login.entry.actor) <= FIELD_CHARS
    assert hashlib.sha256(("u" * EIGHT_MIB).encode()).hexdigest() in login.entry.actor
    assert problems_of(store) == []


def test_text_neither_engine_can_hold_is_replaced_and_the_chain_verifies(store: Store) -> None:
    """NUL (PostgreSQL) and lone surrogates (both: argv bytes that are not UTF-8 arrive as
    surrogates) used to fail the whole transaction that wanted to audit them."""
    with store.transaction():
        store.audit([AuditEntry(event="cop", outcome="x", actor="a\x00b", reason="r\udcff")])
    (row,) = store.audit_rows()
    assert row.entry.actor == "a\ufffdb" and row.entry.reason == "r\ufffd"
    assert problems_of(store) == []


fields_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40) | st.text(
    min_size=FIELD_CHARS - 5, max_size=REASON_CHARS + 300
)


@settings(max_examples=200, deadline=None)
@given(st.lists(fields_text, min_size=7, max_size=7))
def test_storable_bounds_every_field_and_changes_nothing_that_fits(texts: list[str]) -> None:
    original = AuditEntry(**dict(zip(TEXT_FIELDS, texts, strict=True)))
    stored = storable(original)
    assert storable(stored) == stored
    for name in TEXT_FIELDS:
        before, after = getattr(original, name), getattr(stored, name)
        after.encode("utf-8")  # storable in either engine
        assert "\x00" not in after
        assert len(after) <= (REASON_CHARS if name == "reason" else FIELD_CHARS)
        fits = len(before) <= (REASON_CHARS if name == "reason" else FIELD_CHARS)
        if fits and before.isascii() and "\x00" not in before:
            assert after == before
        if not fits:
            digest = hashlib.sha256(before.encode("utf-8", "surrogatepass")).hexdigest()
            assert after.endswith(f"{len(before):,} characters, sha256 {digest}]")


def test_the_newest_part_of_a_chain_verifies_on_its_own() -> None:
    rows = chain(10)
    assert verify_chain(rows[6:], head_of(rows), first_seq=7, prev_hash=None) == []
    assert verify_chain(rows[6:], head_of(rows), first_seq=7, prev_hash=rows[5].hash) == []
    edited = rows[:8] + [dataclasses.replace(rows[8], at="2027-01-01T00:00:00.000000Z")]
    problems = verify_chain(edited[6:] + rows[9:], head_of(rows), first_seq=7, prev_hash=None)
    assert [p.seq for p in problems][:1] == [9]
    missing = verify_chain(rows[7:], head_of(rows), first_seq=7, prev_hash=None)
    assert missing[0].message == "row 7 deleted"


# -- signed audit heads: what the store keeps (trilink.node.anchors) ----------------------


def test_checkpoints_and_witnessed_heads_are_kept(store: Store) -> None:
    fill(store)
    with store.durable_transaction():
        for seq in (3, 7, 10):
            store.add_checkpoint(seq, 0, f"{seq:064x}", f"head {seq}", starts_epoch=seq == 7)
    assert store.checkpoints() == [(3, "head 3"), (7, "head 7"), (10, "head 10")]
    assert store.checkpoints(newest=2) == [(7, "head 7"), (10, "head 10")]
    assert store.checkpoints(after=3, limit=1) == [(7, "head 7")]
    assert store.checkpoints(epoch_starts=True) == [(7, "head 7")]
    assert store.audit_hash_at(4) == store.audit_rows()[3].hash
    assert store.audit_hash_at(11) is None and store.audit_hash_at(2**70) is None
    assert store.witnessed_head("JPN") is None
    with store.transaction():
        store.set_witnessed_head("JPN", (0, 5, "a" * 64), "head", "")
        store.set_witnessed_head("JPN", (9, 8, "b" * 64), "newer", "start")
    held = store.witnessed_head("JPN")
    assert held is not None and held[:2] == ("newer", "start")
    # the checkpoint's commit, and those before it, outlive a crash; and the store is left
    # committing as before
    with store.transaction():
        store.audit([entry(99)])
    assert problems_of(store) == []


def test_a_failed_durable_transaction_keeps_nothing(store: Store) -> None:
    fill(store, (2,))
    with pytest.raises(RuntimeError), store.durable_transaction():
        store.add_checkpoint(2, 0, "0" * 64, "head", starts_epoch=False)
        raise RuntimeError
    assert store.checkpoints() == []
