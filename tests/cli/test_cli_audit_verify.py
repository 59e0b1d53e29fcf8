"""`trilink audit verify` with the heads partners witnessed (issue #15 finding 5).

Each finding of the issue is done to USA's real store on both engines, the way an insider
with database access would, leaving a hash chain that verifies on its own: the last rows
deleted and the head moved back; a row edited and every later row re-hashed; the database
emptied and the node started again. The nodes replicate in-process (``network`` fixture,
in-memory transport); JPN, the partner the command asks, is served by the real
partner-facing app over mutual TLS at the URL USA's node.toml names. KOR cannot be reached.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.conftest import Network
from tests.federation.witness import (
    SHARED,
    closed_port_url,
    empty_database,
    forget_checkpoints,
    point_partners,
    rehash_from,
    restore_past_witnessed_rows,
    serving,
    truncate,
)
from trilink.cli.app import app

runner = CliRunner()


def verify(network: Network, nation: str, *extra: str) -> Result:
    args = ["audit", "verify", "--dir", str(network.root), "--nation", nation]
    return runner.invoke(app, [*args, "--db", network.db_url(nation), *extra])


@pytest.fixture
def witnessed(network: Network) -> Iterator[Network]:
    """USA published and replicated; JPN and KOR witnessed USA's audit head. USA's
    node.toml reaches JPN at a served URL, KOR at one where nothing listens."""
    usa = network["USA"]
    usa.publish_many("note", SHARED, [{"title": f"n {i}"} for i in range(5)])
    network.deliver_all()
    network.deliver_all()
    with serving(network["JPN"]) as url:
        point_partners(network, "USA", {"JPN": url, "KOR": closed_port_url()})
        yield network


def jpn_holds(network: Network) -> int:
    """The row of USA's log that JPN witnessed; USA's own head where JPN keeps no heads
    (a store without anchored audit, where each test below fails at its verdict)."""
    witness = getattr(network["JPN"].store, "witnessed_head", None)
    held = witness("USA") if witness else None
    if held is None:
        head = network["USA"].store.audit_head()
        assert head is not None
        return head[0]
    return int(json.loads(held[0])["seq"])


def test_an_intact_log_is_confirmed_by_the_partner_that_answers(witnessed: Network) -> None:
    network = witnessed
    row = jpn_holds(network)
    done = verify(network, "USA")
    assert done.exit_code == 0, done.output
    assert "audit log of USA intact" in done.output
    assert f"partner JPN: JPN holds our head of row {row}" in done.output
    assert "this log holds it" in done.output
    assert "partner KOR: could not ask KOR" in done.output
    assert "not confirmed by KOR (could not ask): checked locally and against JPN" in done.output
    as_json = verify(network, "USA", "--json")
    assert as_json.exit_code == 0, as_json.output
    result = json.loads(as_json.output)
    assert result["intact"] is True and result["problems"] == []
    assert result["partners"]["JPN"]["status"] == "matches"
    assert result["partners"]["JPN"]["witnessed"]["seq"] == row
    assert result["partners"]["KOR"]["status"] == "unreachable"
    assert result["unreachable"] == ["KOR"] and result["checkpoints"] >= 1


def test_rows_deleted_from_the_end_and_the_head_moved_back(witnessed: Network) -> None:
    network = witnessed
    row = jpn_holds(network)
    keep = row - 4
    truncate(network["USA"].store, keep)
    point_partners(network, "USA", {"JPN": closed_port_url()})
    alone = verify(network, "USA")
    assert alone.exit_code == 0, "the chain verifies on its own: only a partner can tell"
    with serving(network["JPN"]) as url:
        point_partners(network, "USA", {"JPN": url})
        done = verify(network, "USA")
    assert done.exit_code == 1, done.output
    assert f"row {row}: JPN holds our head of row {row}" in done.output
    assert f"this log ends at row {keep}: rows {keep + 1}-{row} deleted" in done.output
    assert "audit log of USA BROKEN" in done.output


@pytest.mark.parametrize("thorough", [True, False], ids=["checkpoints-deleted", "as-found"])
def test_a_row_edited_and_every_later_row_rehashed(witnessed: Network, thorough: bool) -> None:
    network = witnessed
    row = jpn_holds(network)
    edited = row - 5
    rehash_from(network["USA"].store, edited, reason="deny: no partner")
    if thorough:
        forget_checkpoints(network["USA"].store, edited)
    done = verify(network, "USA")
    assert done.exit_code == 1, done.output
    assert f"row {row}: JPN holds our head of row {row}" in done.output
    assert f"the log was rewritten at or before row {row}" in done.output
    assert "partner JPN: this log does not hold the head it witnessed" in done.output
    # the node's own signed heads catch it too, unless the insider deleted them
    assert ("our own checkpoint holds our head of row" in done.output) != thorough


def test_a_database_emptied_and_the_node_started_again(witnessed: Network) -> None:
    network = witnessed
    row = jpn_holds(network)
    usa = empty_database(network, "USA")
    usa.publish_many("note", SHARED, [{"title": f"again {i}"} for i in range(2)])
    local = usa.store.audit_rows()
    assert local[0].seq == 1 and local[-1].seq < row
    done = verify(network, "USA")
    assert done.exit_code == 1, done.output
    assert f"JPN holds our head of row {row}" in done.output
    assert "history truncated or replaced" in done.output


def test_a_restore_is_reported_and_the_restored_log_verifies(
    network: Network, tmp_path: Path
) -> None:
    """`trilink node backup`, more published and witnessed, `trilink node restore`, then
    replication: the restored log verifies at its partners, and the restore is reported."""
    restore_past_witnessed_rows(network, tmp_path / "kor.backup")
    network.deliver_all()
    network.deliver_all()
    with serving(network["JPN"]) as jpn, serving(network["USA"]) as usa:
        point_partners(network, "KOR", {"JPN": jpn, "USA": usa})
        done = verify(network, "KOR")
        as_json = verify(network, "KOR", "--json")
    assert done.exit_code == 0, done.output
    assert "audit log of KOR intact" in done.output
    assert "restored: the log restored at" in done.output and "kor.backup" in done.output
    result = json.loads(as_json.output)
    assert [p["status"] for p in result["partners"].values()] == ["matches", "matches"]
    (restore,) = result["restores"]
    assert restore["epoch"] > 0 and restore["backup"].startswith("store replaced by kor.backup")
